r"""Neo4j's CPU a party write when full-text documents are committed in batches (issue 11).

    .venv/bin/python bench/fulltext_batches.py --graph "$NEO4J_URI" \
        --neo4j-pid "$(cat DIR/neo4j-local.pid)" --writes 3000 --turns 2

On a scratch label (:IndexBench, deleted with its index at the end) with the party
index's four properties in an eventually consistent full-text index, --clients clients
write --writes nodes, one a transaction, each way in turns: "own document" writes the
indexed properties (as a party's create does); "batches of N" writes the same tokens in
properties the index does not hold, under a :BenchPending label, while one flusher moves
up to N pending nodes' tokens into the indexed properties in one transaction, waiting
--delay ms whenever it found fewer. Each way's figure is the Neo4j process's CPU time
from the first write until every document is in the index (the last batch flushed and
the queued updates applied), divided by the writes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import server_cpu
from fulltext_writes import LABEL, REFRESH, _props
from neo4j import AsyncDriver, AsyncGraphDatabase

KEYED = ("search", "fiscal_search", "email_keys", "dup_keys")
INDEX = (
    f"CREATE FULLTEXT INDEX bench_lookup IF NOT EXISTS FOR (p:{LABEL}) "
    "ON EACH [p.search, p.fiscal_search, p.email_keys, p.dup_keys] "
    "OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace', "
    "`fulltext.eventually_consistent`: true}}"
)
FLUSH = (
    "MATCH (p:BenchPending) WITH p LIMIT $n "
    + "SET "
    + ", ".join(f"p.{key} = p.pending_{key}" for key in KEYED)
    + " REMOVE p:BenchPending, "
    + ", ".join(f"p.pending_{key}" for key in KEYED)
    + " RETURN count(p) AS n"
)


def _pending() -> dict[str, str]:
    props = _props()
    return {(f"pending_{k}" if k in KEYED else k): v for k, v in props.items() if k != "tokens"}


async def _writes(driver: AsyncDriver, clients: int, writes: int, pending: bool) -> None:
    left = writes
    statement = f"CREATE (p:{LABEL}{':BenchPending' if pending else ''}) SET p = $props"

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            props = _pending() if pending else _props()
            if not pending:
                props.pop("tokens")
            await driver.execute_query(statement, props=props)

    await asyncio.gather(*(client() for _ in range(clients)))


async def _flusher(driver: AsyncDriver, batch: int, delay: float, stop: asyncio.Event) -> int:
    flushes = 0
    while True:
        records, _, _ = await driver.execute_query(FLUSH, n=batch)
        moved = records[0]["n"]
        flushes += moved > 0
        if moved < batch:
            if stop.is_set() and moved == 0:
                return flushes
            await asyncio.sleep(delay)


async def _turn(driver: AsyncDriver, args: argparse.Namespace, batch: int) -> tuple[float, int]:
    await driver.execute_query(REFRESH)
    before = server_cpu.seconds(args.neo4j_pid)
    start = time.perf_counter()
    flushes = 0
    if batch:
        stop = asyncio.Event()
        flusher = asyncio.create_task(_flusher(driver, batch, args.delay / 1000, stop))
        await _writes(driver, args.clients, args.writes, pending=True)
        stop.set()
        flushes = await flusher
    else:
        await _writes(driver, args.clients, args.writes, pending=False)
    await driver.execute_query(REFRESH)
    seconds = time.perf_counter() - start
    cpu = (server_cpu.seconds(args.neo4j_pid) - before) * 1000 / args.writes
    print(
        f"| {'own document' if not batch else f'batches of {batch}'} | {cpu:.2f} "
        f"| {args.writes / seconds:.0f} | {flushes} | {os.getloadavg()[0]:.1f} |",
        flush=True,
    )
    return cpu, flushes


async def main(args: argparse.Namespace) -> None:
    auth = (os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
    async with AsyncGraphDatabase.driver(args.graph, auth=auth) as driver:
        await driver.execute_query(f"MATCH (p:{LABEL}) DETACH DELETE p")
        await driver.execute_query(INDEX)
        await driver.execute_query("CALL db.awaitIndexes(60)")
        print("| way | Neo4j CPU ms a write | writes/s | flushes | load |")
        print("|---|---:|---:|---:|---:|")
        try:
            for turn in range(args.turns + 1):
                for batch in (0, *args.batch):
                    if turn == 0:  # warm-up: the JIT
                        saved, args.writes = args.writes, 500
                        await _turn(driver, args, batch)
                        args.writes = saved
                        continue
                    await _turn(driver, args, batch)
        finally:
            await driver.execute_query("DROP INDEX bench_lookup IF EXISTS")
            await driver.execute_query(f"MATCH (p:{LABEL}) DETACH DELETE p")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neo4j-pid", type=int, required=True)
    parser.add_argument("--batch", type=int, action="append", default=[])
    parser.add_argument("--graph", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--delay", type=float, default=10.0, help="ms a flusher waits")
    args = parser.parse_args()
    args.batch = args.batch or [5, 20, 100]
    asyncio.run(main(args))
