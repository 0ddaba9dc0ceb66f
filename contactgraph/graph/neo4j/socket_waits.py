"""The Neo4j driver's socket waits, each without a task of its own, on Python 3.11.

The driver bounds every socket read by the server's `connection.recv_timeout_seconds`
hint (120 s from Neo4j 5) and every write by its write timeout (30 s). Before Python 3.12
it does so with its own copy of `asyncio.wait_for`, which runs each read and write as a
new task beside a timer and a waiter: three more turns of the event loop for each, about
a tenth of the driver's work a statement. From 3.12 the driver uses the standard
library's `wait_for`, which is `asyncio.timeout` around the await; `install` gives 3.11
the same, keeping the driver's copy for what only it does (a timeout of zero or less).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")
Wait = Callable[[Awaitable[Any], float | None], Awaitable[Any]]
_NAME = "wait_for"  # what the driver's socket module awaits its reads and writes with


def waiting(shim: Wait) -> Wait:
    """A `wait_for` that awaits in the calling task, under asyncio.timeout."""

    async def wait_for(awaited: Awaitable[T], seconds: float | None, /) -> T:
        if seconds is None:
            return await awaited
        if seconds <= 0:  # the driver's emulation of a non-blocking call
            result: T = await shim(awaited, seconds)
            return result
        async with asyncio.timeout(seconds):
            return await awaited

    wait_for.replaces = shim  # type: ignore[attr-defined]
    return wait_for


def install() -> None:
    """Use `waiting` for the driver's socket reads and writes: once, not from 3.12 on,
    and not if a driver release has moved what it replaces (then nothing changes)."""
    if sys.version_info >= (3, 12):
        return
    try:
        from neo4j._async_compat.network import _bolt_socket
    except ImportError:
        return
    current = getattr(_bolt_socket, _NAME, None)
    if current is not None and not hasattr(current, "replaces"):
        setattr(_bolt_socket, _NAME, waiting(current))
