"""An online copy of the embedded store's file. SQLite's backup API copies every page as
one read transaction sees them, the write-ahead log included, so the copy is one moment
of the graph even while a server goes on writing (writers are not held up: WAL)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from urllib.parse import quote

from ..errors import ConfigError
from .database import Database


def copy_to(url: str, target: str) -> int:
    """Copy the graph at `url` (sqlite:///...) into the new file `target`; its size."""
    source = Database.from_url(url).path
    if source is None:
        raise ConfigError("an in-memory graph has no file to back up")
    target = os.path.abspath(target)
    if not os.path.isdir(os.path.dirname(target)):
        raise ConfigError(f"directory {os.path.dirname(target)!r} for the backup does not exist")
    if os.path.lexists(target):
        raise ConfigError(f"{target!r} exists: back up into a new file")
    partial = f"{target}.partial-{os.getpid()}"
    try:
        with (
            contextlib.closing(
                sqlite3.connect(f"file:{quote(source)}?mode=ro", uri=True)
            ) as reading,
            contextlib.closing(sqlite3.connect(partial)) as writing,
        ):
            reading.backup(writing)  # in one step: one read transaction, one moment
        os.link(partial, target)  # never over a file made meanwhile
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{source!r} cannot be backed up: {error}") from None
    except FileExistsError:
        raise ConfigError(f"{target!r} exists: back up into a new file") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
    return os.path.getsize(target)
