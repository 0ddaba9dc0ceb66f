r"""What Neo4j's indexes cost one party write, with the raw driver (issue 11, third slice).

    .venv/bin/python bench/fulltext_writes.py --graph "$NEO4J_URI" \
        --neo4j-pid "$(cat DIR/neo4j-local.pid)"

Each variant creates nodes of a label of its own (:IndexBench, deleted with its indexes
at the end) carrying the properties a party node has (names, fiscal codes, e-mail and
duplicate keys as space-separated tokens, and all of them in one property more, which
only the last variant indexes), one node per transaction: median and p95 ms
at one client, then writes per second at --clients. For the eventually consistent
full-text index it also times db.index.fulltext.awaitEventuallyConsistentIndexRefresh()
with nothing pending and right after one write, a write followed by that refresh and a
query (what a search right after a create pays), and how often a query right after a
write misses it without the refresh. With --neo4j-pid, also the CPU
time the Neo4j process spent per write over the throughput phase, its index updates
applied (which a machine shared with other work measures better than wall time).
Credentials from NEO4J_USER and NEO4J_PASSWORD.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import server_cpu
from neo4j import AsyncDriver, AsyncGraphDatabase

LABEL = "IndexBench"
_FULLTEXT = (
    f"CREATE FULLTEXT INDEX bench_lookup FOR (p:{LABEL}) "
    "ON EACH [p.search, p.fiscal_search, p.email_keys, p.dup_keys] "
    "OPTIONS {{indexConfig: {{`fulltext.analyzer`: 'whitespace', "
    "`fulltext.eventually_consistent`: {eventual}}}}}"
)
VARIANTS: dict[str, tuple[str, ...]] = {
    "no index": (),
    "range index on id only": (f"CREATE RANGE INDEX bench_id FOR (p:{LABEL}) ON (p.id)",),
    "full-text, consistent": (_FULLTEXT.format(eventual="false"),),
    "full-text, eventually consistent": (_FULLTEXT.format(eventual="true"),),
    "text index on the names": (f"CREATE TEXT INDEX bench_text FOR (p:{LABEL}) ON (p.search)",),
    # the same tokens in one property: what the number of properties costs
    "full-text, eventually consistent, one property": (
        f"CREATE FULLTEXT INDEX bench_lookup FOR (p:{LABEL}) ON EACH [p.tokens] "
        "OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace', "
        "`fulltext.eventually_consistent`: true}}",
    ),
}
REFRESH = "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()"
QUERY = "CALL db.index.fulltext.queryNodes('bench_lookup', $q) YIELD node RETURN count(node)"


def _props() -> dict[str, str]:
    token = uuid.uuid4().hex
    props = {
        "id": token,
        "display_name": f"Ada {token[:8]} Lovelace",
        "search": f"ada {token[:8]} lovelace",
        "fiscal_search": f"it{token[:11]}",
        "email_keys": f"ada.{token[:8]}@example.com",
        "dup_keys": f"email=ada.{token[:8]}@example.com name=ada|{token[:8]}|lovelace",
    }
    keyed = ("search", "fiscal_search", "email_keys", "dup_keys")
    return props | {"tokens": " ".join(props[key] for key in keyed)}  # one property's


async def _create(driver: AsyncDriver) -> str:
    props = _props()
    await driver.execute_query(f"CREATE (p:{LABEL}) SET p = $props", props=props)
    return props["id"]


async def _timed(runs: int, call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


async def _throughput(driver: AsyncDriver, clients: int, seconds: float) -> tuple[float, int]:
    done = 0
    end = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < end:
            await _create(driver)
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.perf_counter() - start), done


async def _clean(driver: AsyncDriver) -> None:
    for name in ("bench_lookup", "bench_id", "bench_text"):
        await driver.execute_query(f"DROP INDEX {name} IF EXISTS")
    await driver.execute_query(f"MATCH (p:{LABEL}) DETACH DELETE p")


async def main(args: argparse.Namespace) -> None:
    auth = (os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
    async with AsyncGraphDatabase.driver(args.graph, auth=auth) as driver:
        print(
            f"| {LABEL} node write | p50 / p95 ms | writes/s at {args.clients} "
            "| Neo4j CPU ms per write |"
        )
        print("|---|---:|---:|---:|")
        for name, statements in VARIANTS.items():
            await _clean(driver)
            for statement in statements:
                await driver.execute_query(statement)
            await driver.execute_query("CALL db.awaitIndexes(60)")
            await _timed(5, lambda: _create(driver))  # warm
            p50, p95 = await _timed(args.runs, lambda: _create(driver))
            pid = args.neo4j_pid
            cpu = server_cpu.seconds(pid) if pid else 0.0
            rate, done = await _throughput(driver, args.clients, args.seconds)
            await driver.execute_query(REFRESH)  # the queued index updates count too
            per_write = (server_cpu.seconds(pid) - cpu) * 1000 / done if pid else 0.0
            print(f"| {name} | {p50:.2f} / {p95:.2f} | {rate:.0f} | {per_write:.2f} |")
            if name == "full-text, eventually consistent":
                await driver.execute_query(REFRESH)
                idle = await _timed(args.runs, lambda: driver.execute_query(REFRESH))

                async def write_then_refresh() -> None:
                    await _create(driver)
                    await driver.execute_query(REFRESH)

                async def write_refresh_query() -> None:
                    token = (await _create(driver))[:8]
                    await driver.execute_query(REFRESH)
                    found, _, _ = await driver.execute_query(QUERY, q=f'search:"{token}"')
                    assert found[0][0] == 1, "the write is not found after the refresh"

                missed = 0
                for _ in range(args.runs):  # a query right after the write, without the wait
                    token = (await _create(driver))[:8]
                    found, _, _ = await driver.execute_query(QUERY, q=f'search:"{token}"')
                    missed += found[0][0] == 0
                print(f"| write, query without the refresh: missed {missed} of {args.runs} | | | |")
                after = await _timed(args.runs, write_then_refresh)
                searched = await _timed(args.runs, write_refresh_query)
                for label, (median, p95) in (
                    ("refresh, nothing pending", idle),
                    ("write, then refresh", after),
                    ("write, refresh, query finds it", searched),
                ):
                    print(f"| {label} | {median:.2f} / {p95:.2f} | | |")
        await _clean(driver)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--neo4j-pid", type=int, help="the Neo4j process, for its CPU time")
    asyncio.run(main(parser.parse_args()))
