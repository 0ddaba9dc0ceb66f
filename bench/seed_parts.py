"""Where a synthetic seed's CPU time goes on SQLite, step by step, on each side.

    .venv/bin/python bench/seed_parts.py [--parties 200000] [--batch-size 100000]

The generator's side (what `seed` runs in a process of its own): generating, then
checking and making rows (seed_rows.Preparer). The writer's side, each batch in one
transaction as `seed` writes it: unpacking the rows, parties with their search text,
tags and keys, relationships, the closure, activities, history, and the commit.
Both in this one process, one after the other, in CPU seconds (a shared machine's
wall time says little). Writes into a new SQLite file in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from contactgraph.graph.backends import open_store
from contactgraph.graph.sqlite import closure, history, records, seed_rows
from contactgraph.graph.sqlite.store import SqliteStore
from contactgraph.seeds.synthetic import synthetic_batches

T = TypeVar("T")


def _timed(spent: Counter[str], step: str, work: Callable[[], T]) -> T:
    started = time.process_time()
    done = work()
    spent[step] += time.process_time() - started
    return done


async def main(parties: int, batch_size: int) -> None:
    spent: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'seed.db'}", create=True)
        assert isinstance(store, SqliteStore)
        await store.start()
        prepare = await store.seed_preparer()
        made = []
        batches = synthetic_batches(parties, batch_size=batch_size)
        while True:
            started = time.process_time()
            batch = next(batches, None)
            spent["generator: generating"] += time.process_time() - started
            if batch is None:
                break
            _timed(spent, "generator: checking, rows", lambda b=batch: made.append(prepare(b)))
        for data in made:

            def write(conn: sqlite3.Connection, data: bytes = data) -> None:
                rows = _timed(spent, "writer: unpacking", lambda: seed_rows.unpacked(data))
                _timed(spent, "writer: parties", lambda: records.write_parties(conn, rows.parties))
                _timed(
                    spent,
                    "writer: relationships",
                    lambda: conn.executemany(records.INSERT_REL, rows.relationships),
                )
                _timed(spent, "writer: closure", lambda: closure.pairs_changed(conn, rows.edges))
                _timed(
                    spent,
                    "writer: activities",
                    lambda: records.write_activities(conn, rows.activities),
                )
                _timed(spent, "writer: history", lambda: history.write(conn, rows.history))

            before = sum(v for k, v in spent.items() if k.startswith("writer"))
            started = time.process_time()
            await store._write(write)  # load_rows' transaction, each step timed
            whole = time.process_time() - started
            spent["writer: commit and the rest"] += whole - (
                sum(v for k, v in spent.items() if k.startswith("writer")) - before
            )
        await store.close()
    print(f"| {parties:,} parties, batches of {batch_size:,} | CPU s |\n|---|---:|")
    for step, seconds in spent.items():
        print(f"| {step} | {seconds:.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=100_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.parties, arguments.batch_size))
