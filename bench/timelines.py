"""Roll-up timeline pages at every subtree size: store time and GraphQL over HTTP.

    .venv/bin/python bench/timelines.py --parties 200000 [--graph URL] [--runs 20]

Seeds an empty graph first (as bench/registry.py does; 200,000 parties carry
about a million activities). A graph of 500,000 parties or more holds the
generator's four corporate groups (tagged `holding`), which it times. In a
smaller one the synthetic companies hold at most a few thousand parties each,
so the benchmark adds four nested holdings (tagged `bench-holding`, reused on
later runs) with companies PART_OF them until they hold about 1,000, 4,000,
10,000 and 100,000 parties. It then times the first 50-item roll-up page
(includeDescendants, default hierarchy) of a small unit, a company, each
holding, the same pages filtered to one activity type, and the 21st page of
each (the cursor found by paging; after the last full page of a shorter
history), as store calls and as GraphQL requests. Prints a Markdown table of
median and p95 milliseconds.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import httpx
from registry import arguments, serving, timed

from contactgraph.graph.backends import open_store
from contactgraph.graph.cursors import encode_cursor
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    ActivityType,
    LegalForm,
    Page,
    PartyFilter,
    PartyKind,
    Relationship,
    RelType,
    Rollup,
    TimelineQuery,
    UnitType,
)
from contactgraph.graph.records import new_party
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import format_instant, utcnow

DEPTH = 64
TARGETS = (1_000, 4_000, 10_000, 100_000)
Timings = dict[str, tuple[float, float]]
PAGES = 20  # the deep page is the one after this many
Afters = dict[str, tuple[int, str | None]]  # root: (pages turned, the cursor after them)


async def size(store: GraphStore, root: str) -> int:
    page = (
        await store.descendants([root], DEFAULT_HIERARCHY_TYPES, DEPTH, utcnow(), Page(0), True)
    )[root]
    return (page.total_count or 0) + 1


async def holdings(store: GraphStore) -> list[tuple[str, int]]:
    """(id, parties in its subtree) of the generator's corporate groups, smallest first,
    or else of the nested holdings, made on the first run."""
    groups = await store.list_parties(PartyFilter(tags=("holding",)), Page(10), False)
    if groups.parties:
        return sorted([(p.id, await size(store, p.id)) for p in groups.parties], key=lambda g: g[1])
    tagged = await store.list_parties(PartyFilter(tags=("bench-holding",)), Page(10), False)
    if tagged.parties:
        found = sorted(tagged.parties, key=lambda p: p.name or "")
        return [(p.id, await size(store, p.id)) for p in found]
    orgs = await store.list_parties(
        PartyFilter(kinds=(PartyKind.ORGANIZATION,)), Page(100_000), False
    )
    companies = [o for o in orgs.parties if o.unit_type is UnitType.COMPANY]
    random.Random(5).shuffle(companies)
    made: list[tuple[str, int]] = []
    inner: str | None = None
    total = 0
    for target in TARGETS:
        holding = new_party(
            PartyKind.ORGANIZATION,
            name=f"Bench holding {target:06d}",
            legal_form=LegalForm.LEGAL_PERSON,
            unit_type=UnitType.COMPANY,
            tags=("bench-holding",),
        )
        await store.create_party(holding)
        total += 1
        members = [inner] if inner else []
        while total < target and companies:
            company = companies.pop()
            members.append(company.id)
            total += await size(store, company.id)
        since = utcnow()
        for member in members:
            rel = Relationship(new_id(), RelType.PART_OF, member, holding.id, since)
            await store.link(rel)
        made.append((holding.id, total))
        inner = holding.id
    return made


async def pick(store: GraphStore) -> dict[str, tuple[str, int]]:
    orgs = await store.list_parties(PartyFilter(kinds=(PartyKind.ORGANIZATION,)), Page(3000), False)
    units = [o for o in orgs.parties if o.unit_type is UnitType.DEPARTMENT]
    companies = [o for o in orgs.parties if o.unit_type is UnitType.COMPANY]
    unit, company = units[len(units) // 2].id, companies[len(companies) // 2].id
    roots = {"a department": (unit, await size(store, unit))}
    roots["a company"] = (company, await size(store, company))
    for holding, parties in await holdings(store):
        roots[f"holding of {parties:,}"] = (holding, parties)
    return roots


def rollup(first: int = 50, **values: object) -> TimelineQuery:
    query = TimelineQuery(Page(first), rollup=Rollup(DEFAULT_HIERARCHY_TYPES, utcnow(), DEPTH))
    return replace(query, **values)  # type: ignore[arg-type]


async def deep_cursor(store: GraphStore, root: str, pages: int) -> tuple[int, str | None]:
    """The cursor after `pages` pages of 50 (found by paging as a client would), or after
    the last full page of a shorter history, and how many pages it is after."""
    query, after, turned = rollup(), None, 0
    while turned < pages:
        page = (await store.timelines([root], query))[root]
        if len(page.activities) < 50 or not page.has_next:
            break
        last = page.activities[-1]
        after = encode_cursor(format_instant(last.occurred_at), last.id)
        query, turned = replace(query, page=Page(50, after)), turned + 1
    return turned, after


async def store_timings(
    store: GraphStore, roots: dict[str, tuple[str, int]], afters: Afters, runs: int
) -> Timings:
    results: Timings = {}
    agreements = (ActivityType.AGREEMENT,)
    for name, (root, parties) in roots.items():
        label = f"{name} ({parties:,} parties)"
        results[f"first page, {label}"] = await timed(
            runs, lambda root=root: store.timelines([root], rollup())
        )
        results[f"AGREEMENT only, {label}"] = await timed(
            runs, lambda root=root: store.timelines([root], rollup(types=agreements))
        )
        turned, after = afters[root]
        if after is not None:
            page = Page(50, after)
            results[f"page {turned + 1}, {label}"] = await timed(
                runs, lambda root=root, page=page: store.timelines([root], rollup(page=page))
            )
    return results


QUERY = """query($id: ID!, $types: [ActivityType!], $after: String) {
  party(id: $id) { timeline(first: 50, includeDescendants: true, types: $types, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { occurredAt type summary source { id displayName } } } } } }"""


async def http_timings(
    base: str, roots: dict[str, tuple[str, int]], afters: Afters, runs: int
) -> Timings:
    results: Timings = {}
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for _ in range(300):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)

        async def call(variables: dict) -> None:
            body = await client.post("/graphql", json={"query": QUERY, "variables": variables})
            assert "errors" not in body.json(), body.text

        for name, (root, parties) in roots.items():
            label = f"{name} ({parties:,} parties)"
            results[f"first page, {label}"] = await timed(runs, lambda r=root: call({"id": r}))
            results[f"AGREEMENT only, {label}"] = await timed(
                runs, lambda r=root: call({"id": r, "types": ["AGREEMENT"]})
            )
            turned, after = afters[root]
            if after is not None:
                results[f"page {turned + 1}, {label}"] = await timed(
                    runs, lambda r=root, a=after: call({"id": r, "after": a})
                )
    return results


async def measure(url: str, runs: int) -> tuple[dict[str, tuple[str, int]], Afters, Timings]:
    store = open_store(url)
    await store.start()
    try:
        roots = await pick(store)
        afters = {root: await deep_cursor(store, root, PAGES) for root, _ in roots.values()}
        return roots, afters, await store_timings(store, roots, afters, runs)
    finally:
        await store.close()


def main() -> None:
    args = arguments(__doc__, 200_000, 20)
    roots, afters, store_results = asyncio.run(measure(args.graph, args.runs))
    with serving(args.graph, "--insecure-anonymous-admin", "--rate-limit", "0") as base:
        http_results = asyncio.run(http_timings(base, roots, afters, args.runs))

    print(
        f"\n| {args.parties:,} parties, {args.runs} runs | store median | store p95 "
        "| HTTP median | HTTP p95 |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, (median, p95) in store_results.items():
        http_median, http_p95 = http_results[name]
        print(f"| {name} | {median:.1f} | {p95:.1f} | {http_median:.1f} | {http_p95:.1f} |")


if __name__ == "__main__":
    main()
