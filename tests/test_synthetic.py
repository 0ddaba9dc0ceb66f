"""The synthetic generator: reproducible, exact in size, and shaped like a real business."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from client import GraphQL, serve

from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.seeds.synthetic import synthetic_batches

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_same_seed_gives_the_same_graph() -> None:
    first = list(synthetic_batches(800, seed=5, batch_size=300, now=NOW))
    second = list(synthetic_batches(800, seed=5, batch_size=300, now=NOW))
    assert first == second
    other = list(synthetic_batches(800, seed=6, batch_size=300, now=NOW))
    assert [p.id for b in other for p in b.parties] != [p.id for b in first for p in b.parties]


def test_batch_size_changes_only_how_it_is_cut() -> None:
    small = list(synthetic_batches(900, seed=2, batch_size=100, now=NOW))
    large = list(synthetic_batches(900, seed=2, batch_size=5000, now=NOW))
    assert len(small) > len(large) == 1
    assert [p for b in small for p in b.parties] == large[0].parties
    assert [r for b in small for r in b.relationships] == large[0].relationships


@pytest.mark.parametrize("total", [1, 2, 5, 37, 1001])
def test_exactly_n_parties(total: int) -> None:
    parties = [p for b in synthetic_batches(total, seed=3, now=NOW) for p in b.parties]
    assert len(parties) == total
    assert len({p.id for p in parties}) == total


@pytest.fixture
async def synthetic(tmp_path: Path) -> AsyncIterator[GraphQL]:
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    store = open_store(url, create=True)
    await store.start()
    for batch in synthetic_batches(2500, seed=11, batch_size=1000):
        await store.load_batch(batch)
    await store.close()
    async for http in serve(Settings(create=True, graph_url=url)):
        yield GraphQL(http)


ALL = """query($after: String) { parties(first: 500, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id kind categoryId
    relationships(includeEnded: true) { type until fromId toId }
    timeline(first: 50) { edges { node { id } } }
  } } } }"""


async def admin_id(gql: GraphQL) -> str:
    """The administrator the test signs in as, who is no part of the generated graph."""
    return str((await gql("{ viewer { id } }"))["viewer"]["id"])


async def everything(gql: GraphQL) -> list[dict]:
    nodes: list[dict] = []
    after = None
    while True:
        page = (await gql(ALL, {"after": after}))["parties"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_the_graph_has_every_part_of_the_domain(synthetic: GraphQL) -> None:
    admin = await admin_id(synthetic)
    nodes = [n for n in await everything(synthetic) if n["id"] != admin]
    assert len(nodes) == 2500
    kinds = Counter(n["kind"] for n in nodes)
    assert kinds["USER"] >= 3 and kinds["ORGANIZATION"] > 100 and kinds["CONTACT"] > 1000
    categories = Counter(n["categoryId"] for n in nodes)
    for category in (
        "commercial-client",
        "private-client",
        "association",
        "umbrella-organization",
        "owners-association",
        "community-of-heirs",
    ):
        assert categories[category] > 0, category

    edges = {
        (r["type"], r["fromId"], r["toId"], r["until"]) for n in nodes for r in n["relationships"]
    }
    types = Counter(t for t, *_ in edges)
    assert set(types) == {"PART_OF", "EMPLOYS", "MEMBER_OF", "HEIR_OF", "RESPONSIBLE_FOR", "KNOWS"}
    employers = Counter(to for t, _, to, _ in edges if t == "EMPLOYS")
    assert any(count >= 2 for count in employers.values()), "someone has two employers"
    handed_over = [e for e in edges if e[0] == "RESPONSIBLE_FOR" and e[3] is not None]
    assert handed_over, "some responsibilities changed hands"

    per_party = sum(len(n["timeline"]["edges"]) for n in nodes) / len(nodes)
    assert 3.5 <= per_party <= 7, per_party  # subjects shared by two count on both timelines

    # org trees three to eight levels deep
    parent_of = {
        r["fromId"]: r["toId"] for n in nodes for r in n["relationships"] if r["type"] == "PART_OF"
    }

    def depth(unit: str) -> int:
        levels = 1
        while unit in parent_of:
            unit, levels = parent_of[unit], levels + 1
        return levels

    deepest = max(depth(u) for u in parent_of)
    assert 3 <= deepest <= 8
    companies = {parent_of[u] for u in parent_of} - set(parent_of)
    assert len(companies) > 10


GROUPS = """query($tag: String!) { parties(first: 50, filter: {tags: [$tag]}) { edges { node {
  id displayName
  descendants(first: 1) { totalCount }
  ancestors { id }
  relationships { type fromId toId role }
} } } }"""


async def test_large_graphs_hold_corporate_groups_long_chains_and_matrix_units(
    graph_url: str,
) -> None:
    """What a graph of a million parties holds, made at a small scale (groups_from lowered):
    four groups of a tenth, a hundredth, a 250th and a 500th of the graph, each a holding
    over a chain of 20-30 levels, and units with two parents; both stores load them and
    walk them alike."""
    total = 6000
    store = open_store(graph_url, create=True)
    await store.start()
    # Neo4j's seed batch: deep chains' closure rows must fit a 512 MiB heap's transaction
    for batch in synthetic_batches(total, seed=4, batch_size=1000, now=NOW, groups_from=1):
        await store.load_batch(batch)
    await store.close()
    async for http in serve(Settings(create=True, graph_url=graph_url)):
        gql = GraphQL(http)
        holdings = [e["node"] for e in (await gql(GROUPS, {"tag": "holding"}))["parties"]["edges"]]
        sizes = sorted(h["descendants"]["totalCount"] for h in holdings)
        assert len(sizes) == 4 and all(h["ancestors"] == [] for h in holdings)
        # each reaches its share (a group ends with the company that passes it; a chain
        # alone holds 20 or more), and the largest is the tenth
        for size, share in zip(sizes, (500, 250, 100, 10), strict=True):
            assert total // share <= size, sizes
        assert sizes[-1] < total // 5, sizes

        chain = (await gql(GROUPS, {"tag": "intermediate-holding"}))["parties"]["edges"]
        deepest = max(len(e["node"]["ancestors"]) for e in chain)
        assert 20 <= deepest <= 30

        matrix = (await gql(MATRIX))["parties"]["edges"]
        two_parents = [
            e["node"]
            for e in matrix
            if sum(
                r["type"] == "PART_OF" and r["fromId"] == e["node"]["id"]
                for r in e["node"]["relationships"]
            )
            == 2
        ]
        assert two_parents, "some unit is PART_OF two units"
        for unit in two_parents:
            # each of its two parents is an ancestor, and the walk lists it once
            above = (await gql(ABOVE, {"id": unit["id"]}))["party"]["ancestors"]
            ids = [p["id"] for p in above]
            assert len(ids) == len(set(ids))
            parents = {
                r["toId"]
                for r in unit["relationships"]
                if r["type"] == "PART_OF" and r["fromId"] == unit["id"]
            }
            assert parents <= set(ids)


MATRIX = """{ parties(first: 500, filter: {kinds: [ORGANIZATION]}) { edges { node {
  id relationships(types: [PART_OF]) { type fromId toId role } } } } }"""
ABOVE = "query($id: ID!) { party(id: $id) { ancestors { id } } }"
