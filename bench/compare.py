"""What the request hardening costs the benchmarks' HTTP requests: hardened/baseline, one run.

    .venv/bin/python bench/compare.py [--parties 20000] [--runs 30] [--seed 1]
        [--graph bolt://HOST:PORT] [--baseline /tmp/baseline] [--revision ade5a14]

Timing the two revisions one after the other would let the noise of two shared
cores (up to 1.5x between repetitions) swamp a cost of a few percent, so two
`contactgraph serve` processes run at once on identical data: this checkout
(the `contactgraph` next to the Python running this script) and the baseline,
and every run of a request asks one and then the other, in alternating order.
It times bench/registry.py's HTTP_QUERIES and the HTTP requests of
bench/traversals.py and bench/timelines.py, with their texts and their way of
picking parties, and prints per request both medians and p95s and the ratio
of the medians, in Markdown.

The baseline is the `contactgraph` of --baseline, a git worktree of --revision
(default ade5a14, the last commit before the hardening) with its own
virtualenv in .venv. When that executable is missing the script makes it:
`git worktree add`, `python3 -m venv`, `pip install -e DIR httpx` (its
bench/timelines.py needs httpx). Nothing of it is
committed; remove it with `git worktree remove --force DIR`.

Embedded store (no --graph): the baseline cannot open a file the current code
made (its schema version is newer), so each revision seeds a file of its own
with `seed --synthetic N --seed S`; the generator gives the same graph, ids
included, for the same seed and day. Neo4j (--graph, credentials from
NEO4J_PASSWORD): one graph, seeded by this checkout when empty, served by both
(the baseline's startup migration only adds what is missing). Before timing,
both servers must answer the same party count and first page of ids.

Two phases, each with fresh servers: the registry and traversal requests,
then the roll-up timelines, whose four nested holdings (made on each file by
its own revision's bench/timelines.py, once on Neo4j) would otherwise add
levels above every party the traversals walk from.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import timelines
import traversals
from registry import CLI, HTTP_QUERIES, free_port, is_empty, percentiles, seed_synthetic

import contactgraph
from contactgraph.graph.backends import open_store
from contactgraph.graph.model import Page, PartyFilter

REPO = Path(__file__).resolve().parents[1]
SIDES = ("baseline", "hardened")
Variables = dict[str, Any]
Requests = dict[str, tuple[str, list[Variables]]]  # name: (query, variables for each run)
Samples = dict[str, tuple[list[float], list[float]]]  # name: (baseline ms, hardened ms)

# bench/timelines.py's picking, run by each revision's own Python on its own graph
TIMELINE_PICK = """
import asyncio, json, sys
import timelines

async def main(url):
    store = timelines.open_store(url)
    await store.start()
    try:
        roots = await timelines.pick(store)
        after = await timelines.deep_cursor(store, list(roots.values())[-1][0], 20)
    finally:
        await store.close()
    print(json.dumps({"roots": roots, "after": after}))

asyncio.run(main(sys.argv[1]))
"""


@dataclass(frozen=True)
class Side:
    name: str
    cli: Path
    source: Path  # the checkout whose contactgraph package the executable runs
    bench: Path  # the bench/ directory whose timelines.py picks for it
    url: str

    @property
    def python(self) -> Path:
        return self.cli.with_name("python")

    def commit(self) -> str:
        return commit(self.source)


def commit(source: Path) -> str:
    """The checkout's commit, and whether its contactgraph package differs from it."""
    git = ["git", "-C", str(source)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True)
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "contactgraph"])
    return head.stdout.decode().strip() + (" with uncommitted changes" if dirty.returncode else "")


def baseline_cli(worktree: Path, revision: str) -> Path:
    """The baseline's executable, made first when missing."""
    cli = worktree / ".venv" / "bin" / "contactgraph"
    if not cli.exists():
        if not worktree.exists():
            git = ["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree)]
            subprocess.run([*git, revision], check=True)
        subprocess.run(["python3", "-m", "venv", str(worktree / ".venv")], check=True)
        pip = worktree / ".venv" / "bin" / "pip"
        # httpx: the baseline's bench/timelines.py imports it (a dev dependency)
        subprocess.run([str(pip), "install", "-q", "-e", str(worktree), "httpx"], check=True)
    return cli


@contextmanager
def serving(side: Side) -> Iterator[str]:
    """`contactgraph serve` of one revision on a free loopback port, while the block runs."""
    port = free_port()
    command = [side.cli, "serve", "--graph", side.url, "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning"], stdout=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


async def ask(client: httpx.AsyncClient, query: str, variables: Variables) -> dict[str, Any]:
    body: dict[str, Any] = (
        await client.post("/graphql", json={"query": query, "variables": variables})
    ).json()
    assert "errors" not in body, body
    return body["data"]


async def ready(client: httpx.AsyncClient) -> None:
    for _ in range(600):
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{client.base_url} never became ready")


async def alternate(bases: list[str], requests: list[Requests], runs: int) -> Samples:
    """Per request: one warm-up each, then `runs` paired samples in alternating order."""
    samples: Samples = {}
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=120))
            for base in bases
        ]
        for client in clients:
            await ready(client)
        first = "{ parties(first: 50) { totalCount edges { node { id } } } }"
        graphs = [await ask(client, first, {}) for client in clients]
        assert graphs[0] == graphs[1], "the two servers hold different graphs"
        print(f"both serve {graphs[0]['parties']['totalCount']:,} parties")
        for name in requests[0]:
            for side in (0, 1):
                query, variables = requests[side][name]
                await ask(clients[side], query, variables[0])
            times: tuple[list[float], list[float]] = ([], [])
            for run in range(runs):
                for side in (0, 1) if run % 2 == 0 else (1, 0):
                    query, variables = requests[side][name]
                    started = time.perf_counter()
                    await ask(clients[side], query, variables[run % len(variables)])
                    times[side].append((time.perf_counter() - started) * 1000)
            samples[name] = times
    return samples


def timed_pair(sides: list[Side], requests: list[Requests], runs: int) -> Samples:
    with ExitStack() as stack:
        bases = [stack.enter_context(serving(side)) for side in sides]
        return asyncio.run(alternate(bases, requests, runs))


async def first_picks(url: str) -> tuple[list[str], dict[str, str]]:
    """bench/registry.py's 500 parties and bench/traversals.py's roots, from this checkout."""
    store = open_store(url)
    await store.start()
    try:
        people = (await store.list_parties(PartyFilter(), Page(500), False)).parties
        return [p.id for p in people], await traversals.pick(store)
    finally:
        await store.close()


def first_requests(party_ids: list[str], ids: dict[str, str], runs: int) -> Requests:
    requests: Requests = {
        name: (query, [{"id": party_ids[run % len(party_ids)]} for run in range(runs)])
        for name, query in HTTP_QUERIES.items()
    }
    for name, (key, query) in traversals.HTTP.items():
        variables = {"id": ids[key], "b": ids["b"]} if "$b" in query else {"id": ids[key]}
        requests[name] = (query, [variables])
    return requests


def timeline_requests(side: Side) -> Requests:
    """bench/timelines.py's roots and deep cursor, picked (holdings made) by the side's own
    revision, as its HTTP requests."""
    picked = subprocess.run(
        [side.python, "-c", TIMELINE_PICK, side.url],
        cwd=side.bench,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    found = json.loads(picked.stdout.splitlines()[-1])
    requests: Requests = {}
    for name, (root, parties) in found["roots"].items():
        label = f"{name} ({parties:,} parties)"
        requests[f"first page, {label}"] = (timelines.QUERY, [{"id": root}])
        agreements = {"id": root, "types": ["AGREEMENT"]}
        requests[f"AGREEMENT only, {label}"] = (timelines.QUERY, [agreements])
    largest = list(found["roots"].values())[-1][0]
    requests["21st page of the largest"] = (
        timelines.QUERY,
        [{"id": largest, "after": found["after"]}],
    )
    return requests


def table(title: str, samples: Samples) -> None:
    print(
        f"\n| {title} | baseline median | baseline p95 | hardened median | hardened p95 "
        "| hardened/baseline |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    ratios = []
    for name, (baseline, hardened) in samples.items():
        (b_median, b_p95), (h_median, h_p95) = percentiles(baseline), percentiles(hardened)
        ratios.append(h_median / b_median)
        print(
            f"| {name} | {b_median:.1f} | {b_p95:.1f} | {h_median:.1f} | {h_p95:.1f} "
            f"| {ratios[-1]:.2f} |"
        )
    geomean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"| geometric mean of the ratios | | | | | {geomean:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--parties", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1, help="the synthetic generator's seed")
    parser.add_argument("--graph", help="a Neo4j URL; default: two new SQLite files")
    parser.add_argument("--baseline", type=Path, default=Path("/tmp/baseline"))
    parser.add_argument("--revision", default="ade5a14")
    args = parser.parse_args()

    here = Path(__file__).resolve().parent
    cli = baseline_cli(args.baseline, args.revision)
    if args.graph:
        urls = [args.graph, args.graph]
    else:
        folder = Path(tempfile.mkdtemp())
        urls = [f"sqlite:///{folder / side}.db" for side in SIDES]
    sides = [
        Side("baseline", cli, args.baseline, args.baseline / "bench", urls[0]),
        Side("hardened", Path(CLI), Path(contactgraph.__file__).parents[1], here, urls[1]),
    ]
    for side in sides:
        print(f"{side.name}: {side.commit()}, {side.cli}")
    if not args.graph:
        for side in sides:
            seed_synthetic(side.url, args.parties, args.seed, side.cli, side.name)
    elif asyncio.run(is_empty(args.graph)):
        seed_synthetic(sides[1].url, args.parties, args.seed, sides[1].cli, sides[1].name)

    party_ids, ids = asyncio.run(first_picks(sides[1].url))
    first = first_requests(party_ids, ids, args.runs)
    samples = timed_pair(sides, [first, first], args.runs)
    if args.graph:
        rolled = [timeline_requests(sides[1])] * 2
    else:
        rolled = [timeline_requests(side) for side in sides]
    assert rolled[0].keys() == rolled[1].keys(), "the holdings differ"
    samples |= timed_pair(sides, rolled, args.runs)

    store = "Neo4j" if args.graph else "SQLite"
    table(f"{store}, {args.parties:,} parties, {args.runs} runs, ms", samples)


if __name__ == "__main__":
    main()
