"""What finding duplicates costs on a synthetic graph (whose people and companies are
sometimes entered twice, spelt another way).

    .venv/bin/python bench/duplicates.py [--parties 100000] [--runs 200] [--graph URL]

Seeds an empty graph with `contactgraph seed --synthetic N`, then times at the store
port, for parties drawn at random from every kind: possible_duplicates of one party
(what `possibleDuplicates` asks per party), of 50 at once (what a list of 50 costs
through the loader), the check of a new party before a create, and a page of 50 pairs
of duplicateCandidates; then `possibleDuplicates` of one party as GraphQL over HTTP
against `contactgraph serve`. Prints a Markdown table of medians and p95s, and how many
candidates the parties had.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

import httpx
from registry import arguments, percentiles, serving

from contactgraph.graph.backends import open_store
from contactgraph.graph.duplicates import DuplicateQuery
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import Page, Party, PartyFilter, PartyKind
from contactgraph.graph.store import GraphStore

QUERY = DuplicateQuery(first=20, fiscal=True)
HTTP = """query($id: ID!) { party(id: $id) {
  possibleDuplicates { score signals party { id displayName } } } }"""


async def sample(store: GraphStore, n: int) -> list[Party]:
    """n parties drawn from the first 20,000 of each kind, in proportion to the graph."""
    rng = random.Random(1)
    drawn: list[Party] = []
    for kind, share in ((PartyKind.CONTACT, 0.6), (PartyKind.ORGANIZATION, 0.4)):
        found = (await store.list_parties(PartyFilter(kinds=(kind,)), Page(20_000), False)).parties
        drawn += rng.sample(found, round(n * share))
    rng.shuffle(drawn)
    return drawn


async def series(runs: int, call: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    await call(0)  # warm caches once
    samples = []
    for run in range(runs):
        started = time.perf_counter()
        await call(run)
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


async def store_timings(url: str, runs: int) -> tuple[dict[str, tuple[float, float]], list[str]]:
    store = open_store(url)
    await store.start()
    try:
        parties = await sample(store, max(runs, 50))
        ids = [p.id for p in parties]
        counts = [len(m) for m in (await store.possible_duplicates(ids, QUERY)).values()]
        print(
            f"{len(ids)} parties drawn: {sum(1 for c in counts if c)} have candidates; "
            f"mean {statistics.mean(counts):.1f}, most {max(counts)} (first 20, minScore 0.5)"
        )
        cursors: list[str | None] = [None]

        async def pairs(run: int) -> None:  # page on from where the last page ended
            page = await store.duplicate_pairs(replace(QUERY, first=50), cursors[-1])
            cursors.append(page.end_cursor if page.has_next else None)

        results = {
            "possible_duplicates, 1 party": await series(
                runs, lambda i: store.possible_duplicates([ids[i]], QUERY)
            ),
            "possible_duplicates, 50 parties at once": await series(
                runs, lambda i: store.possible_duplicates(ids[i % 50 :][:50], QUERY)
            ),
            "duplicates_of a new party (checkDuplicates)": await series(
                runs,
                lambda i: store.duplicates_of(replace(parties[i], id=new_id()), QUERY),
            ),
            "duplicate_pairs, a page of 50 pairs": await series(runs, pairs),
        }
        return results, ids
    finally:
        await store.close()


async def http_timing(base: str, runs: int, ids: list[str]) -> tuple[float, float]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(300):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)

        async def ask(run: int) -> None:
            response = await client.post(
                "/graphql", json={"query": HTTP, "variables": {"id": ids[run]}}
            )
            body = response.json()
            assert "errors" not in body, body

        return await series(runs, ask)


def main() -> None:
    args = arguments(__doc__, 100_000, 200)
    results, ids = asyncio.run(store_timings(args.graph, args.runs))
    with serving(args.graph, "--insecure-anonymous-admin", "--rate-limit", "0") as base:
        results["HTTP: possibleDuplicates of 1 party"] = asyncio.run(
            http_timing(base, args.runs, ids)
        )
    print()
    print(f"| {args.parties:,} parties, {args.runs} runs | median ms | p95 ms |")
    print("|---|---:|---:|")
    for name, (median, p95) in results.items():
        print(f"| {name} | {median:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
