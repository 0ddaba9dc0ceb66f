"""Seed and query timings of the party registry on a synthetic graph.

    .venv/bin/python bench/registry.py --parties 100000

Seeds an empty graph with `contactgraph seed --synthetic N` (timed as a whole
command), then times typical reads twice: at the store port (store time) and
as GraphQL over HTTP against `contactgraph serve` on loopback (end to end).
Prints a Markdown table of median and p95 milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from contactgraph.graph.backends import open_store
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    Page,
    PartyFilter,
    PartyKind,
    TimelineQuery,
)
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow

CLI = str(Path(sys.executable).with_name("contactgraph"))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    await call()  # warm caches once
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


async def store_timings(store: GraphStore, runs: int) -> dict[str, tuple[float, float]]:
    rng = random.Random(1)
    orgs = (
        await store.list_parties(PartyFilter(kinds=(PartyKind.ORGANIZATION,)), Page(5000), False)
    ).parties
    people = (
        await store.list_parties(PartyFilter(kinds=(PartyKind.CONTACT,)), Page(5000), False)
    ).parties
    now = utcnow()

    def sample(parties: list, n: int) -> list[str]:
        return [p.id for p in rng.sample(parties, n)]

    return {
        "parties(first: 50)": await timed(
            runs, lambda: store.list_parties(PartyFilter(), Page(50), False)
        ),
        "parties(first: 50) with totalCount": await timed(
            runs, lambda: store.list_parties(PartyFilter(), Page(50), True)
        ),
        "parties(search: name, first: 50)": await timed(
            runs, lambda: store.list_parties(PartyFilter(search="keller"), Page(50), True)
        ),
        "parties(filter: category + tag)": await timed(
            runs,
            lambda: store.list_parties(
                PartyFilter(category_ids=("commercial-client",), tags=("b2b",)), Page(50), True
            ),
        ),
        "get_parties(50 ids)": await timed(runs, lambda: store.get_parties(sample(people, 50))),
        "children of 50 units": await timed(
            runs, lambda: store.children(sample(orgs, 50), DEFAULT_HIERARCHY_TYPES, now)
        ),
        "timelines of 50 parties (first 5)": await timed(
            runs, lambda: store.timelines(sample(people, 50), TimelineQuery(Page(5)))
        ),
    }


HTTP_QUERIES = {
    "party by id with children and timeline": (
        "query($id: ID!) { party(id: $id) { displayName children { displayName } "
        "timeline(first: 20) { edges { node { occurredAt summary author { displayName } } } } } }"
    ),
    "50 parties, children, 5-item timelines": (
        "{ parties(first: 50) { totalCount edges { node { id displayName children { id } "
        "timeline(first: 5) { edges { node { id summary } } } } } } }"
    ),
    "search, first 20": (
        '{ parties(search: "keller", first: 20) { totalCount edges { node { displayName } } } }'
    ),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(url: str, *flags: str, cli: str = CLI) -> Iterator[str]:
    """`contactgraph serve` (this checkout's, or `cli`) on a free loopback port, for as
    long as the block runs."""
    with server_process(url, *flags, cli=cli) as (base, _):
        yield base


@contextmanager
def server_process(
    url: str, *flags: str, cli: str = CLI
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As `serving`, with the server's process (to read its memory)."""
    port = free_port()
    server = subprocess.Popen(
        [cli, "serve", "--graph", url, "--port", str(port), "--log-level", "warning", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


async def wait_ready(client: httpx.AsyncClient) -> None:
    """Until the server just started answers /readyz (30 s at most)."""
    for _ in range(300):
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            await asyncio.sleep(0.1)


async def http_timings(
    base: str, runs: int, party_ids: list[str]
) -> dict[str, tuple[float, float]]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await wait_ready(client)
        ids = iter(party_ids * (runs + 1))
        results = {}
        for name, query in HTTP_QUERIES.items():

            async def call(query: str = query) -> None:
                response = await client.post(
                    "/graphql", json={"query": query, "variables": {"id": next(ids)}}
                )
                body = response.json()
                assert "errors" not in body, body

            results[name] = await timed(runs, call)
        return results


async def measure_store(url: str, runs: int) -> tuple[dict[str, tuple[float, float]], list[str]]:
    store = open_store(url)
    await store.start()
    try:
        people = (await store.list_parties(PartyFilter(), Page(500), False)).parties
        return await store_timings(store, runs), [p.id for p in people]
    finally:
        await store.close()


async def is_empty(url: str) -> bool:
    store = open_store(url, create=True)
    await store.start()
    try:
        return await store.is_empty()
    finally:
        await store.close()


def seed_synthetic(
    url: str, parties: int, random_seed: int = 1, cli: str | Path = CLI, name: str = ""
) -> None:
    """`contactgraph seed --synthetic` of `cli` into a graph, timed as a whole command; with
    a `name`, its output is left out and the timing says whose it was."""
    started = time.perf_counter()
    command = [str(cli), "seed", "--synthetic", str(parties), "--seed", str(random_seed)]
    subprocess.run(
        [*command, "--graph", url],
        check=True,
        stdout=subprocess.DEVNULL if name else None,
        env={**os.environ, "TERM": "dumb"},
    )
    took = time.perf_counter() - started
    print(f"{name}{': ' if name else ''}seed --synthetic {parties}: {took:.1f} s wall")


def arguments(
    doc: str | None,
    default_parties: int,
    default_runs: int,
    more: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The benchmarks' shared flags (and `more` of one benchmark's own), and a graph seeded
    with --parties when it was empty."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--parties", type=int, default=default_parties)
    parser.add_argument("--runs", type=int, default=default_runs)
    parser.add_argument("--graph", help="an existing graph URL; default: a new file in a temp dir")
    if more:
        more(parser)
    args = parser.parse_args()
    args.graph = args.graph or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    if args.parties and asyncio.run(is_empty(args.graph)):
        seed_synthetic(args.graph, args.parties)
        print()
    return args


def main() -> None:
    args = arguments(__doc__, 100_000, 50)
    url = args.graph
    store_results, party_ids = asyncio.run(measure_store(url, args.runs))
    with serving(url, "--insecure-anonymous-admin", "--rate-limit", "0") as base:
        http_results = asyncio.run(http_timings(base, args.runs, party_ids))

    print(f"| {args.parties:,} parties, {args.runs} runs | median ms | p95 ms |")
    print("|---|---:|---:|")
    for label, results in (("store", store_results), ("HTTP", http_results)):
        for name, (median, p95) in results.items():
            print(f"| {label}: {name} | {median:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
