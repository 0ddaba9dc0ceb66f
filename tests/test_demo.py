"""The demo dataset tells the domain, and every query in the README runs against it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from client import GraphQL

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the shared demo's loop


@pytest.fixture(scope="module")
def demo(module_demo: GraphQL) -> GraphQL:
    """The tests here only read: one demo per backend serves them all."""
    return module_demo


README = Path(__file__).resolve().parents[1] / "README.md"

FIND = (
    """query($s: String!) { parties(search: $s, first: 1) { edges { node { id displayName } } } }"""
)


async def find(gql: GraphQL, text: str) -> str:
    [edge] = (await gql(FIND, {"s": text}))["parties"]["edges"]
    return edge["node"]["id"]


async def names(gql: GraphQL, query: str, **variables: object) -> list[str]:
    data = await gql(query, variables)
    return sorted(c["displayName"] for c in data["party"]["children"])


CHILDREN = """query($id: ID!, $asOf: DateTime, $types: [RelType!]) {
  party(id: $id) { children(asOf: $asOf, types: $types) { displayName } } }"""


async def test_every_readme_query_answers_without_errors(demo: GraphQL) -> None:
    queries = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(queries) >= 4
    for query in queries:
        data = await demo(query)
        [node] = [edge["node"] for edge in data["parties"]["edges"]]
        lists = [value for value in node.values() if isinstance(value, list | dict)]
        assert lists and all(lists), (query, node)  # every list it asks for holds something


async def test_company_tree_with_a_moved_department(demo: GraphQL) -> None:
    company = await find(demo, "Nordwind Logistics")
    assert await names(demo, CHILDREN, id=company) == ["Nordwind Hamburg", "Nordwind Munich"]
    hamburg = await find(demo, "Nordwind Hamburg")
    munich = await find(demo, "Nordwind Munich")
    assert await names(demo, CHILDREN, id=hamburg) == ["Customer Service", "Fleet Management"]
    assert await names(demo, CHILDREN, id=munich) == ["Procurement", "Warehouse Operations"]
    a_year_ago = (datetime.now(UTC) - timedelta(days=365)).isoformat()
    assert await names(demo, CHILDREN, id=hamburg, asOf=a_year_ago) == [
        "Customer Service",
        "Fleet Management",
        "Procurement",
    ]
    # one employee in two units
    warehouse = await find(demo, "Warehouse Operations")
    procurement = await find(demo, "Procurement")
    assert "Miriam Brandt" in await names(demo, CHILDREN, id=warehouse)
    assert "Miriam Brandt" in await names(demo, CHILDREN, id=procurement)


async def test_owners_association_and_a_responsibility_that_changed_hands(demo: GraphQL) -> None:
    building = await find(demo, "Owners Association Lindenstrasse")
    members = await names(demo, CHILDREN, id=building)
    assert {"Eva Schmid", "Karl Schmid", "Nina Vogel", "Ahmed Yilmaz"} <= set(members)
    data = await demo(
        """query($id: ID!) { party(id: $id) {
          category { id }
          relationships(types: [RESPONSIBLE_FOR], includeEnded: true) {
            since until from { displayName } } } }""",
        {"id": building},
    )
    assert data["party"]["category"]["id"] == "owners-association"
    history = data["party"]["relationships"]
    assert [(r["from"]["displayName"], r["until"] is None) for r in history] == [
        ("Lena Hofer", False),
        ("Tom Weber", True),
    ]
    handover = datetime.fromisoformat(history[0]["until"])
    assert handover < datetime.now(UTC) - timedelta(days=365)


async def test_community_of_heirs(demo: GraphQL) -> None:
    deceased = await find(demo, "Walter Krämer")
    heirs = await names(demo, CHILDREN, id=deceased, types=["HEIR_OF"])
    assert heirs == ["Ingrid Krämer", "Julia Lenz", "Stefan Krämer"]
    community = await find(demo, "Community of Heirs")
    assert await names(demo, CHILDREN, id=community) == heirs


async def test_umbrella_organization_with_member_associations(demo: GraphQL) -> None:
    federation = await find(demo, "Sports Federation")
    assert await names(demo, CHILDREN, id=federation) == ["Rowing Club Seewinkel", "TSV Bergfeld"]


async def test_clients_by_category_and_a_two_year_history(demo: GraphQL) -> None:
    data = await demo(
        """{ private: parties(filter: {categoryIds: ["private-client"]}) { totalCount }
             commercial: parties(
               filter: {categoryIds: ["commercial-client"], kinds: [ORGANIZATION]}
             ) { totalCount } }"""
    )
    assert data["private"]["totalCount"] == 2
    assert data["commercial"]["totalCount"] >= 2
    company = await find(demo, "Nordwind Logistics AG")
    timeline = await demo(
        """query($id: ID!) { party(id: $id) { timeline(first: 50) {
             edges { node { occurredAt author { username } } } } } }""",
        {"id": company},
    )
    times = [e["node"]["occurredAt"] for e in timeline["party"]["timeline"]["edges"]]
    assert len(times) >= 10 and times == sorted(times, reverse=True)
    users = await demo("{ parties(filter: {kinds: [USER]}) { totalCount } }")
    assert users["parties"]["totalCount"] == 4
