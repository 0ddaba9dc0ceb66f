r"""The SQLite statements bench/versus.py's read workloads run on the embedded store, with
the rows each returns, and the Python calls the store's jobs make a request: figures
that stay exact whatever the load, where CPU and wall-clock times scatter.

    cp /tmp/versus-100k.db /tmp/copy-100k.db   # opening a file migrates and optimizes it
    .venv/bin/python bench/sqlite_statements.py --graph sqlite:////tmp/copy-100k.db [--plan]

The app runs in this process (httpx's ASGI transport) with --insecure-anonymous-admin's
viewer, over a file seeded as versus.py's. The statements of each workload's second
request are recorded as the store's jobs run them (sqlite3's trace callback on the job's
connection), then counted again on a read-only connection: their result rows, and with
--plan SQLite's EXPLAIN QUERY PLAN. The Python calls are cProfile's inside the jobs (the
reader threads, which bench/read_cpu.py's profile of the serving thread does not see),
a mean over --requests.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sqlite3
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from read_cpu import READS
from versus import contactgraph_ops, pick, served_here

from contactgraph.graph.sqlite import database
from contactgraph.graph.sqlite.jobs import Job


class Recorder:
    """Statements and Python calls of the store's jobs, from the moment it is cleared."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.calls = 0
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.statements, self.calls = [], 0

    def install(self) -> None:
        run = database.Database._job

        def recorded(
            store: database.Database,
            job: Job,
            conn: sqlite3.Connection,
            begin: str,
            work: Callable[[sqlite3.Connection], Any],
        ) -> Any:
            seen: list[str] = []
            conn.set_trace_callback(seen.append)
            profile = cProfile.Profile()
            profile.enable()
            try:
                return run(store, job, conn, begin, work)
            finally:
                profile.disable()
                conn.set_trace_callback(None)
                with self._lock:
                    self.statements += seen
                    self.calls += pstats.Stats(profile).total_calls  # type: ignore[attr-defined]

        database.Database._job = recorded  # type: ignore[method-assign]


def queries(statements: list[str]) -> list[str]:
    """The statements that read, without the transactions' own."""
    return [s for s in statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK", "--"))]


async def main(args: argparse.Namespace) -> None:
    picks = await pick(args.graph)
    recorder = Recorder()
    recorder.install()
    ops = contactgraph_ops(picks)
    found: dict[str, tuple[list[str], float]] = {}
    async with served_here(args.graph, picks) as post:
        for name in args.only or READS:
            ask = ops[name].ask
            await ask(post, 0)  # warm: the statements of the second request are the ones
            recorder.clear()
            await ask(post, 1)
            statements = queries(recorder.statements)
            recorder.clear()
            for number in range(args.requests):
                await ask(post, number)
            found[name] = (statements, recorder.calls / args.requests)
    path = args.graph.removeprefix("sqlite:///")
    check = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
    try:
        for name, (statements, calls) in found.items():
            rows = [check.execute(f"SELECT count(*) FROM ({s})").fetchone()[0] for s in statements]
            print(
                f"{name}: {len(statements)} statements, {sum(rows):,} rows, "
                f"{calls:,.0f} Python calls in the store's jobs a request"
            )
            for statement, count in zip(statements, rows, strict=True):
                print(f"  {count:>7,} rows: {statement[:150]}")
                if args.plan:
                    for step in check.execute(f"EXPLAIN QUERY PLAN {statement}"):
                        print(f"          {step[3]}")
    finally:
        check.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", required=True, help="a copy of a file seeded as versus.py's")
    parser.add_argument("--only", action="append", choices=READS, metavar="WORKLOAD")
    parser.add_argument("--requests", type=int, default=20, help="the calls' mean over these")
    parser.add_argument("--plan", action="store_true", help="each statement's query plan too")
    asyncio.run(main(parser.parse_args()))
