"""What an executor job of the embedded store runs under: its request's deadline, and
whether the request is gone. Statements are stopped by a progress handler (database.py);
long Python steps between statements call `check()`."""

from __future__ import annotations

import threading
import time


class Job:
    """One executor job: the deadline it runs under, and whether its request is gone."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.abandoned = threading.Event()

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def over(self) -> int:
        """Non-zero stops the running statement: SQLite's progress handler contract."""
        return 1 if self.abandoned.is_set() or self.out_of_time() else 0


class Stopped(Exception):
    """A job stopped between statements; reported like an interrupted statement."""


running = threading.local()


def check() -> None:
    """Stop the current job here when its request is out of time or gone: for long
    Python steps between statements, which no progress handler sees."""
    job: Job | None = getattr(running, "job", None)
    if job is not None and job.over():
        raise Stopped
