"""What the change history costs writes: this checkout against a revision without it.

    .venv/bin/python bench/history.py [--parties 20000] [--seeds 3] [--runs 200]
        [--graph bolt://HOST:PORT] [--baseline /tmp/baseline-history] [--revision 7d04104]

Seeding: `contactgraph seed --synthetic N` of each revision, timed as a whole
command, alternating baseline and current `--seeds` times, each into a new
SQLite file (with --graph: into the Neo4j graph, emptied before each seed).
Single mutations: both revisions serve graphs seeded with 2,000 parties at once
(on Neo4j: the one graph), and each run sends one request of each kind to one
and then the other, in alternating order: createContact, updateParty (a tag),
link (KNOWS from the new contact), recordActivity. Prints medians, p95s and
the ratios in Markdown. The baseline is made as bench/compare.py makes it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from compare import baseline_cli, commit, ready
from neo4j import GraphDatabase
from registry import CLI, percentiles, seed_synthetic, serving

import contactgraph

FLAGS = ("--insecure-anonymous-admin", "--rate-limit", "0")
MUTATIONS = {
    "createContact": (
        "mutation($n: String!) { createContact(input: {lastName: $n}) { id } }",
        lambda state: {"n": f"Bench {state['n']}"},
    ),
    "updateParty": (
        "mutation($id: ID!, $t: String!) { updateParty(id: $id, input: {tags: [$t]}) { version } }",
        lambda state: {"id": state["contact"], "t": f"t{state['n']}"},
    ),
    "link": (
        "mutation($f: ID!, $t: ID!) { link(input: {type: KNOWS, fromId: $f, toId: $t}) { id } }",
        lambda state: {"f": state["contact"], "t": state["other"]},
    ),
    "recordActivity": (
        'mutation($s: [ID!]!) { recordActivity(input: {type: CALL, summary: "bench", '
        "subjectIds: $s}) { id } }",
        lambda state: {"s": [state["contact"], state["other"]]},
    ),
}


def wipe(url: str) -> None:
    """Empty the Neo4j graph between seeds, in batches its heap can hold."""
    auth = ("neo4j", os.environ.get("NEO4J_PASSWORD", "contactgraph-local"))
    with GraphDatabase.driver(url, auth=auth) as driver, driver.session() as session:
        for statement in (
            "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS",
            "MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS",
        ):
            session.run(statement).consume()


def seed_times(clis: list[Path], graph: str | None, parties: int, seeds: int) -> list[list[float]]:
    folder = Path(tempfile.mkdtemp())
    times: list[list[float]] = [[], []]
    for rep in range(seeds):
        for side in (0, 1) if rep % 2 == 0 else (1, 0):
            url = graph or f"sqlite:///{folder / f'seed-{side}-{rep}.db'}"
            if graph:
                wipe(graph)
            started = time.perf_counter()
            seed_synthetic(url, parties, 1, clis[side], ("baseline", "current")[side])
            times[side].append(time.perf_counter() - started)
    return times


async def ask(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    assert "errors" not in body, body
    return body["data"]


async def mutation_times(bases: list[str], runs: int) -> dict[str, tuple[list[float], ...]]:
    samples: dict[str, tuple[list[float], ...]] = {name: ([], []) for name in MUTATIONS}
    async with (
        httpx.AsyncClient(base_url=bases[0], timeout=60) as a,
        httpx.AsyncClient(base_url=bases[1], timeout=60) as b,
    ):
        clients = [a, b]
        for client in clients:
            await ready(client)
        page = "{ parties(first: 200) { edges { node { id } } } }"
        others = [e["node"]["id"] for e in (await ask(a, page, {}))["parties"]["edges"]]
        picks = random.Random(1)
        for run in range(runs + 1):  # the first run warms up and is not counted
            for side in (0, 1) if run % 2 == 0 else (1, 0):
                state: dict[str, Any] = {"n": run, "other": picks.choice(others)}
                for name, (query, variables) in MUTATIONS.items():
                    started = time.perf_counter()
                    data = await ask(clients[side], query, variables(state))
                    took = (time.perf_counter() - started) * 1000
                    if name == "createContact":
                        state["contact"] = data["createContact"]["id"]
                    if run:
                        samples[name][side].append(took)
    return samples


def row(name: str, times: tuple[list[float], ...]) -> str:
    (b50, b95), (c50, c95) = (percentiles(t) for t in times)
    return f"| {name} | {b50:.1f} | {b95:.1f} | {c50:.1f} | {c95:.1f} | {c50 / b50:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--parties", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--graph", help="a Neo4j URL; default: new SQLite files")
    parser.add_argument("--baseline", type=Path, default=Path("/tmp/baseline-history"))
    parser.add_argument("--revision", default="7d04104")
    args = parser.parse_args()

    clis = [baseline_cli(args.baseline, args.revision), Path(CLI)]
    current = commit(Path(contactgraph.__file__).parents[1])
    print(f"baseline: {commit(args.baseline)}; current: {current}")
    seeds = seed_times(clis, args.graph, args.parties, args.seeds)

    folder = Path(tempfile.mkdtemp())
    if args.graph:
        wipe(args.graph)
        seed_synthetic(args.graph, 2_000, 1, clis[1], "current")
        urls = [args.graph, args.graph]
    else:
        urls = [f"sqlite:///{folder / f'serve-{side}.db'}" for side in (0, 1)]
        for url, cli in zip(urls, clis, strict=True):
            seed_synthetic(url, 2_000, 1, cli, "serve")
    with ExitStack() as stack:
        bases = [
            stack.enter_context(serving(url, *FLAGS, cli=str(cli)))
            for url, cli in zip(urls, clis, strict=True)
        ]
        samples = asyncio.run(mutation_times(bases, args.runs))

    store = "Neo4j" if args.graph else "SQLite"
    print(f"\n{store}: baseline {args.revision}, current with history\n")
    print("| write | baseline p50 | p95 | current p50 | p95 | current / baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    b, c = (statistics.median(side) for side in seeds)
    seed = f"seed --synthetic {args.parties:,} (s, median of {args.seeds})"
    print(f"| {seed} | {b:.1f} | | {c:.1f} | | {c / b:.2f} |")
    for name, times in samples.items():
        print(row(f"{name} (ms, {args.runs} runs)", times))


if __name__ == "__main__":
    main()
