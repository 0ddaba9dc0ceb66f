"""Neo4j's CPU per seeded party, and where it goes: a synthetic seed written batch by
batch as `contactgraph seed` writes it, the server's CPU read from Linux's /proc.

    .venv/bin/python bench/neo4j_seed.py --graph bolt://127.0.0.1:7713 \
        --server-pid $(cat DATA/neo4j-local.pid) [--parties 20000] [--by-statement]

The graph must be empty (tools/neo4j-local/start on a new --data directory).
`--by-statement` runs each write of a batch as a statement of its own (the seed joins
them into as few as it can) and charges the server's CPU during each to what it writes;
every statement is charged the server's CPU until the next, and a batch's commit what
follows its last write. The server must be otherwise idle.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from typing import Any

import server_cpu
from neo4j import AsyncManagedTransaction

from contactgraph.graph.backends import open_store
from contactgraph.graph.neo4j import cypher
from contactgraph.seeds.synthetic import synthetic_batches


class _Charged:
    """The server's CPU between one statement's start and the next's, charged to the first
    words of the first: the driver sends a statement when the one before has been read."""

    def __init__(self, pid: int) -> None:
        self.pid, self.spent, self.label, self.mark = pid, Counter[str](), "", 0.0

    def charge(self, next_label: str) -> None:
        now = server_cpu.seconds(self.pid)
        if self.label:
            self.spent[self.label] += now - self.mark
        self.label, self.mark = next_label, now

    def patch(self) -> None:
        """Have cypher.write run each write alone, and every statement charged."""
        run = AsyncManagedTransaction.run

        async def charged(tx: AsyncManagedTransaction, query: Any, *args: Any, **kw: Any) -> Any:
            self.charge(" ".join(str(query).replace("CYPHER replan=skip", "").split()[:7]))
            return await run(tx, query, *args, **kw)

        async def write(tx: cypher.Tx, *writes: cypher.Write) -> None:
            for piece in writes:
                for start in range(0, len(piece.rows), cypher.WRITE_ROWS):
                    rows = piece.rows[start : start + cypher.WRITE_ROWS]
                    result = await tx.run(cypher.KEEP_PLAN + piece.body, rows=rows)
                    await result.consume()
                    self.charge("the commit (what follows the last write)")

        AsyncManagedTransaction.run = charged  # type: ignore[method-assign]
        cypher.write = write  # type: ignore[assignment]


async def main(graph: str, pid: int, parties: int, batch_size: int, by_statement: bool) -> None:
    charged = _Charged(pid)
    if by_statement:
        charged.patch()
    store: Any = open_store(graph)
    await store.start()
    try:
        prepare = await store.seed_preparer()  # in the seed's generator process, not timed
        made = [prepare(batch) for batch in synthetic_batches(parties, 1, batch_size)]
        started, wall = server_cpu.seconds(pid), time.perf_counter()
        for number, rows in enumerate(made):
            await store.load_rows(rows, f"batch {number}")
            charged.charge("")
        total = server_cpu.seconds(pid) - started
        wall = time.perf_counter() - wall
    finally:
        await store.close()
    print(
        f"{parties} parties: Neo4j CPU {total:.1f} s ({total * 1e6 / parties:.0f} µs a party), "
        f"wall {wall:.1f} s"
    )
    for what, seconds in charged.spent.most_common():
        print(f"  {seconds:7.1f} s  {seconds / total:5.1%}  {what}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--parties", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--by-statement", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.graph, args.server_pid, args.parties, args.batch_size, args.by_statement))
