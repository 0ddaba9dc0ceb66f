"""CPU a local server process spends per call, read from Linux's /proc: on a machine
shared with other work, wall-clock medians swing with the load while the CPU a call costs
the server does not.

    --server-pid $(cat DATA/neo4j-local.pid)   # tools/neo4j-local/start --data DATA
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable

_TICKS = os.sysconf("SC_CLK_TCK")


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server-pid", type=int, help="also print this local process's CPU ms per call"
    )


def seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


async def per_call(pid: int, runs: int, call: Callable[[], Awaitable[object]]) -> float:
    """The server's CPU milliseconds per call, over `runs` calls after one to warm up."""
    await call()
    before = seconds(pid)
    for _ in range(runs):
        await call()
    return (seconds(pid) - before) * 1000 / runs
