"""Writing a file that must not exist yet: never over one, never half-written under its
name. The writer fills a partial file beside it, which then gets the name."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from .errors import ConfigError


@contextlib.contextmanager
def new_file(target: str, what: str) -> Iterator[str]:
    """The path to write `what` (a backup, a dump) to; on leaving without an error it
    becomes `target`, and either way the partial file is gone."""
    target = os.path.abspath(target)
    if not os.path.isdir(os.path.dirname(target)):
        raise ConfigError(f"directory {os.path.dirname(target)!r} for the {what} does not exist")
    if os.path.lexists(target):
        raise ConfigError(f"{target!r} exists: write the {what} into a new file")
    partial = f"{target}.partial-{os.getpid()}"
    try:
        yield partial
        os.link(partial, target)  # never over a file made meanwhile
    except FileExistsError:
        raise ConfigError(f"{target!r} exists: write the {what} into a new file") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
