"""An online copy of the embedded store's file. SQLite's backup API copies every page as
one read transaction sees them, the write-ahead log included, so the copy is one moment
of the graph even while a server goes on writing (writers are not held up: WAL)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from urllib.parse import quote

from ..errors import ConfigError
from ..newfile import new_file
from .database import Database


def copy_to(url: str, target: str) -> int:
    """Copy the graph at `url` (sqlite:///...) into the new file `target`; its size."""
    source = Database.from_url(url).path
    if source is None:
        raise ConfigError("an in-memory graph has no file to back up")
    try:
        with (
            new_file(target, "backup") as partial,
            contextlib.closing(
                sqlite3.connect(f"file:{quote(source)}?mode=ro", uri=True)
            ) as reading,
            contextlib.closing(sqlite3.connect(partial)) as writing,
        ):
            reading.backup(writing)  # in one step: one read transaction, one moment
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{source!r} cannot be backed up: {error}") from None
    return os.path.getsize(target)
