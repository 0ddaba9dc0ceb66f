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
