"""Traversal timings on a synthetic graph: store time and end-to-end GraphQL over HTTP.

    .venv/bin/python bench/traversals.py --parties 10000 [--graph URL] [--runs 30]

Seeds an empty graph first (as bench/registry.py does). Among the roots in the
first 3,000 organizations (companies, umbrella and home organizations) and the
corporate groups' holdings it picks the largest hierarchy subtree and the one nearest 1,000 parties,
then times descendants (first page of 100, with totalCount, which walks the
whole subtree), ancestors of the deepest party found, network depth 2, a
shortest path between two contacts and contactPerson, each as a store call and
as a GraphQL request; then the first 50 (and 500) organizations by id with a page
of their descendants and its count, and with their networks: one store call for
all of them. Prints a Markdown table of median and p95 milliseconds.
"""

from __future__ import annotations

import asyncio
import random

import httpx
from registry import arguments, serving, timed

from contactgraph.graph.backends import open_store
from contactgraph.graph.lookups import contact_person
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    Page,
    PartyFilter,
    PartyKind,
    RelType,
    UnitType,
)
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow

DEPTH = 64
Timings = dict[str, tuple[float, float]]


async def subtree_size(store: GraphStore, root: str) -> int:
    page = (
        await store.descendants([root], DEFAULT_HIERARCHY_TYPES, DEPTH, utcnow(), Page(0), True)
    )[root]
    return page.total_count or 0


async def root_sizes(store: GraphStore, organizations: int = 3000) -> dict[str, int]:
    """Subtree sizes of the roots (companies, umbrella and home organizations) among the
    first `organizations` organizations, and of the corporate groups' holdings (tagged
    `holding` in graphs of 500,000 parties or more), wherever their ids fall."""
    orgs = (
        await store.list_parties(
            PartyFilter(kinds=(PartyKind.ORGANIZATION,)), Page(organizations), False
        )
    ).parties
    roots = ("umbrella-organization", "home-organization")
    candidates = [o for o in orgs if o.unit_type is UnitType.COMPANY or o.category_id in roots]
    holdings = await store.list_parties(PartyFilter(tags=("holding",)), Page(10), False)
    ids = dict.fromkeys([o.id for o in candidates] + [h.id for h in holdings.parties])
    return {i: await subtree_size(store, i) for i in ids}


async def pick(store: GraphStore) -> dict[str, str]:
    """The roots and parties the timings use, found once through the store."""
    sizes = await root_sizes(store)
    largest = max(sizes, key=sizes.__getitem__)
    near_thousand = min(sizes, key=lambda i: abs(sizes[i] - 1000))
    bottom = (
        await store.descendants(
            [largest], DEFAULT_HIERARCHY_TYPES, DEPTH, utcnow(), Page(sizes[largest]), False
        )
    )[largest]
    leaf = max(bottom.rows, key=lambda row: row.depth).party.id if bottom.rows else largest
    people = (
        await store.list_parties(PartyFilter(kinds=(PartyKind.CONTACT,)), Page(5000), False)
    ).parties
    rng = random.Random(4)
    a, b = rng.sample(people, 2)
    units = [r.party.id for r in bottom.rows if r.party.kind is PartyKind.ORGANIZATION]
    unit = units[-1] if units else largest
    print(
        f"largest subtree {sizes[largest]} parties, nearest 1,000: {sizes[near_thousand]}, "
        f"deepest party at depth {max((r.depth for r in bottom.rows), default=0)}"
    )
    return {
        "largest": largest,
        "thousand": near_thousand,
        "leaf": leaf,
        "a": a.id,
        "b": b.id,
        "unit": unit,
    }


async def store_timings(store: GraphStore, ids: dict[str, str], runs: int) -> Timings:
    now = utcnow()
    every = list(RelType)
    orgs = (
        await store.list_parties(PartyFilter(kinds=(PartyKind.ORGANIZATION,)), Page(500), False)
    ).parties
    many = [party.id for party in orgs]

    def descendants(root: str):
        return store.descendants([root], DEFAULT_HIERARCHY_TYPES, DEPTH, now, Page(100), True)

    def pages_below(roots: list[str], first: int, count: bool):
        return store.descendants(roots, DEFAULT_HIERARCHY_TYPES, DEPTH, now, Page(first), count)

    return {
        "descendants, largest subtree (page of 100 + totalCount)": await timed(
            runs, lambda: descendants(ids["largest"])
        ),
        "descendants, ~1,000-party subtree": await timed(
            runs, lambda: descendants(ids["thousand"])
        ),
        "ancestors of the deepest party": await timed(
            runs, lambda: store.ancestors([ids["leaf"]], DEFAULT_HIERARCHY_TYPES, DEPTH, now)
        ),
        "network depth 2 (limit 100)": await timed(
            runs, lambda: store.neighborhood([ids["a"]], every, 2, 100, now)
        ),
        "path between two contacts": await timed(
            runs, lambda: store.shortest_path(ids["a"], ids["b"], every, 8, now)
        ),
        "contactPerson (4 store calls)": await timed(
            runs, lambda: contact_person(store, ids["unit"], "lead", now, DEPTH)
        ),
        NESTED[0]: await timed(runs, lambda: pages_below(many[:50], 10, True)),
        NESTED[1]: await timed(runs, lambda: pages_below(many, 0, True)),
        NESTED[2]: await timed(runs, lambda: store.neighborhood(many[:50], every, 1, 100, now)),
    }


NESTED = [
    "50 organizations' descendants (page of 10 + totalCount each)",
    "500 organizations' descendants totalCount",
    "50 organizations' networks depth 1",
]


HTTP = {
    "descendants, largest subtree (page of 100 + totalCount)": (
        "largest",
        "query($id: ID!) { party(id: $id) { descendants(first: 100) { totalCount "
        "edges { node { depth parentId party { id displayName } } } } } }",
    ),
    "descendants, ~1,000-party subtree": (
        "thousand",
        "query($id: ID!) { party(id: $id) { descendants(first: 100) { totalCount "
        "edges { node { depth parentId party { id displayName } } } } } }",
    ),
    "ancestors of the deepest party": (
        "leaf",
        "query($id: ID!) { party(id: $id) { ancestors { id displayName } } }",
    ),
    "network depth 2 (limit 100)": (
        "a",
        "query($id: ID!) { party(id: $id) { network(depth: 2) { truncated "
        "nodes { id displayName } edges { id type from { id } to { id } } } } }",
    ),
    "path between two contacts": (
        "a",
        "query($id: ID!, $b: ID!) { path(fromId: $id, toId: $b, maxDepth: 8) "
        "{ length nodes { id } } }",
    ),
    "contactPerson (4 store calls)": (
        "unit",
        'query($id: ID!) { contactPerson(organizationId: $id, role: "lead") '
        "{ distance person { id } } }",
    ),
    NESTED[0]: (
        "",
        "{ parties(first: 50, filter: {kinds: [ORGANIZATION]}) { edges { node { "
        "descendants(first: 10) { totalCount edges { node { depth party { id } } } } } } } }",
    ),
    NESTED[1]: (
        "",
        "{ parties(first: 500, filter: {kinds: [ORGANIZATION]}) { edges { node { "
        "descendants(first: 0) { totalCount } } } } }",
    ),
    NESTED[2]: (
        "",
        "{ parties(first: 50, filter: {kinds: [ORGANIZATION]}) { edges { node { "
        "network(depth: 1) { nodes { id } edges { id } } } } } }",
    ),
}


async def http_timings(base: str, ids: dict[str, str], runs: int) -> Timings:
    results: Timings = {}
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for _ in range(300):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        for name, (key, query) in HTTP.items():

            async def call(key: str = key, query: str = query) -> None:
                variables = {"id": ids[key], "b": ids["b"]} if "$b" in query else {}
                if "$id" in query:
                    variables["id"] = ids[key]
                body = (
                    await client.post("/graphql", json={"query": query, "variables": variables})
                ).json()
                if "errors" in body:
                    raise Refused(body["errors"][0]["extensions"]["code"])

            try:
                results[name] = await timed(runs, call)
            except Refused as refused:  # reported in the table, not hidden
                print(f"{name}: {refused}")
                results[name] = (float("nan"), float("nan"))
    return results


class Refused(Exception):
    """The server answered a timed request with an error (its code)."""


async def measure(url: str, runs: int) -> tuple[dict[str, str], Timings]:
    store = open_store(url)
    await store.start()
    try:
        ids = await pick(store)
        return ids, await store_timings(store, ids, runs)
    finally:
        await store.close()


def main() -> None:
    args = arguments(__doc__, 10_000, 30)
    url = args.graph
    ids, store_results = asyncio.run(measure(url, args.runs))
    with serving(url, "--insecure-anonymous-admin", "--rate-limit", "0") as base:
        http_results = asyncio.run(http_timings(base, ids, args.runs))

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
