"""How long a request's store work may run: one deadline carried with the request.

The API layer sets it once per request; every store call made on the request's
behalf reads it, so a timeout stops the database work behind a request, not
only the response. Work with no deadline (migrations, seeding) is unbounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import Timeout

_deadline: ContextVar[float | None] = ContextVar("contactgraph_deadline", default=None)


def current() -> float | None:
    """The monotonic instant the current request's time is up, or None."""
    return _deadline.get()


def remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def limit(seconds: float | None) -> Iterator[float | None]:
    """Bound the work inside by `seconds` more (never past an outer deadline)."""
    deadline = current()
    if seconds is not None:
        mine = time.monotonic() + seconds
        deadline = mine if deadline is None else min(deadline, mine)
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


def timeout() -> Timeout:
    return Timeout("the request ran out of time and its work was stopped")
