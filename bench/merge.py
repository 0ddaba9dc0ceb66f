"""The time of a 10-party merge (and of its dry run and unmerge) over HTTP.

    .venv/bin/python bench/merge.py [--parties 20000] [--runs 10] [--graph bolt://HOST:PORT]

Seeds a synthetic graph (a new SQLite file, or the given Neo4j graph when it is
empty), serves it with this checkout's `contactgraph serve`, then `--runs` times
takes 11 contacts with their relationships and activities, and times
`mergeParties` of 10 of them into the first with dryRun, then for real, then
`unmergeParty` of one of them. Prints medians and p95s in Markdown, with how
much each merge moved.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from compare import ready
from registry import is_empty, percentiles, seed_synthetic, serving

MERGE = """mutation($s: ID!, $m: [ID!]!, $dry: Boolean!) {
  mergeParties(survivorId: $s, mergedIds: $m, dryRun: $dry) {
    movedRelationships { id } removedRelationships { keptId } activityIds } }"""
UNMERGE = "mutation($id: ID!) { unmergeParty(id: $id) { relationships { id } } }"
CONTACTS = """query($after: String) { parties(filter: {kinds: [CONTACT]}, first: 500,
  after: $after) { edges { node { id } } pageInfo { endCursor } } }"""


async def ask(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    if "errors" in body:
        raise RuntimeError(body["errors"][0]["message"])
    return body["data"]


async def run(base: str, runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"dry run": [], "merge": [], "unmerge": []}
    moved: list[int] = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await ready(client)
        page = await ask(client, CONTACTS, {"after": None})
        ids = [e["node"]["id"] for e in page["parties"]["edges"]]
        sets = [ids[i : i + 11] for i in range(0, len(ids) - 10, 11)]
        for chosen in sets:
            if len(samples["merge"]) == runs:
                break
            variables = {"s": chosen[0], "m": chosen[1:], "dry": True}
            try:
                started = time.perf_counter()
                await ask(client, MERGE, variables)
            except RuntimeError as error:  # a set that would close a cycle: the next one
                print(f"skipped a set: {error}")
                continue
            samples["dry run"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            done = (await ask(client, MERGE, {**variables, "dry": False}))["mergeParties"]
            samples["merge"].append((time.perf_counter() - started) * 1000)
            moved.append(len(done["movedRelationships"]) + len(done["activityIds"]))
            started = time.perf_counter()
            await ask(client, UNMERGE, {"id": chosen[1]})
            samples["unmerge"].append((time.perf_counter() - started) * 1000)
    print(f"each merge moved {statistics.median(moved):.0f} edges and activities (median)")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--parties", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--graph", help="a Neo4j URL; default: a new SQLite file")
    args = parser.parse_args()
    url = args.graph or f"sqlite:///{Path(tempfile.mkdtemp()) / 'merge.db'}"
    if asyncio.run(is_empty(url)):
        seed_synthetic(url, args.parties)
    with serving(url, "--insecure-anonymous-admin", "--rate-limit", "0") as base:
        samples = asyncio.run(run(base, args.runs))
    store = "Neo4j" if args.graph else "SQLite"
    print(f"\n{store}, {args.parties:,} parties, {args.runs} merges of 10 contacts into one\n")
    print("| request | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for name, times in samples.items():
        p50, p95 = percentiles(times)
        print(f"| {name} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
