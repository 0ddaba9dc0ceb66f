"""Roll-up timelines over GraphQL: a party's activities and everything below it."""

from __future__ import annotations

import pytest
from client import GraphQL
from factories import contact, link, org, record, user
from test_round_trips import round_trips

from contactgraph.graph.neo4j import timelines as neo4j_timelines
from contactgraph.graph.sqlite import timelines as sqlite_timelines

ROLLUP = """
query($id: ID!, $first: Int, $after: String, $types: [RelType!], $asOf: DateTime) {
  party(id: $id) {
    timeline(first: $first, after: $after, includeDescendants: true,
             hierarchyTypes: $types, asOf: $asOf) {
      pageInfo { hasNextPage endCursor }
      edges { node { summary sourceId source { displayName } author { username }
                     subjects { displayName } } }
    }
  }
}"""


async def rollup(gql: GraphQL, party: str, **args: object) -> dict:
    return (await gql(ROLLUP, {"id": party, **args}))["party"]["timeline"]


def summaries(page: dict) -> list[str]:
    return [e["node"]["summary"] for e in page["edges"]]


async def test_a_company_sees_its_units_and_people_once_each(gql: GraphQL) -> None:
    anna = await user(gql, "anna")
    company = await org(gql, "Nordlicht GmbH")
    sales = await org(gql, "Sales")
    await link(gql, "PART_OF", sales, company, since="2024-01-01T00:00:00Z")
    jana = await contact(gql, "Jana", "Petersen")
    await link(gql, "EMPLOYS", sales, jana, since="2024-01-01T00:00:00Z")
    outsider = await contact(gql, "Olaf", "Outside")
    await record(gql, anna, [company], "2025-01-01T10:00:00Z", summary="company call")
    await record(gql, anna, [outsider, jana], "2025-02-01T10:00:00Z", summary="jana and olaf")
    await record(gql, anna, [sales, jana], "2025-03-01T10:00:00Z", summary="sales with jana")
    await record(gql, anna, [outsider], "2025-04-01T10:00:00Z", summary="olaf only")

    page = await rollup(gql, company)
    assert summaries(page) == ["sales with jana", "jana and olaf", "company call"]
    nodes = [e["node"] for e in page["edges"]]
    assert [n["source"]["displayName"] for n in nodes] == [
        "Sales",
        "Jana Petersen",
        "Nordlicht GmbH",
    ]
    assert nodes[1]["author"] == {"username": "anna"}
    assert [s["displayName"] for s in nodes[1]["subjects"]] == ["Olaf Outside", "Jana Petersen"]

    first = await rollup(gql, company, first=2)
    rest = await rollup(gql, company, first=2, after=first["pageInfo"]["endCursor"])
    assert summaries(first) + summaries(rest) == summaries(page)
    assert first["pageInfo"]["hasNextPage"] and not rest["pageInfo"]["hasNextPage"]

    # without includeDescendants a timeline names no source
    own = await gql(
        "query($id: ID!) { party(id: $id) { timeline { edges { node { summary sourceId } } } } }",
        {"id": company},
    )
    assert own["party"]["timeline"]["edges"] == [
        {"node": {"summary": "company call", "sourceId": None}}
    ]
    # PART_OF alone leaves Jana (EMPLOYS) out; before the units existed, only the company
    units = await rollup(gql, company, types=["PART_OF"])
    assert summaries(units) == ["sales with jana", "company call"]
    before = await rollup(gql, company, asOf="2023-06-01T00:00:00Z")
    assert summaries(before) == ["company call"]


async def test_bad_rollup_arguments_are_user_errors(gql: GraphQL) -> None:
    company = await org(gql, "Acme")
    knows = await gql.error(ROLLUP, {"id": company, "types": ["KNOWS"]})
    assert knows["extensions"]["code"] == "BAD_USER_INPUT"
    lonely = await gql.error(
        "query($id: ID!) { party(id: $id) { timeline(hierarchyTypes: [PART_OF]) { edges "
        "{ cursor } } } }",
        {"id": company},
    )
    assert lonely["extensions"]["code"] == "BAD_USER_INPUT"
    assert "includeDescendants" in lonely["message"]


async def test_fifty_rollups_cost_one_store_call(gql: GraphQL) -> None:
    author = await user(gql, "anna")
    for i in range(50):
        unit = await org(gql, f"Unit {i:02d}")
        person = await contact(gql, "Person", f"No{i}")
        await link(gql, "EMPLOYS", unit, person)
        await record(gql, author, [person], f"2025-01-{i % 28 + 1:02d}T10:00:00Z")
    query = """{ parties(first: 50, filter: {kinds: [ORGANIZATION]}) { edges { node {
        timeline(first: 5, includeDescendants: true) { edges { node { summary } } } } } } }"""
    count, data = await round_trips(gql, query)
    edges = data["parties"]["edges"]
    assert len(edges) == 50
    assert all(len(e["node"]["timeline"]["edges"]) == 1 for e in edges)
    assert count == 2  # the parties page, then every roll-up in one call


WINDOW = """
query($id: ID!, $asOf: DateTime, $maxDepth: Int) {
  party(id: $id) {
    timeline(includeDescendants: true, asOf: $asOf, maxDepth: $maxDepth) {
      edges { node { summary sourceId } }
    }
  }
}"""


async def test_a_party_reached_at_two_depths_rolls_up_once_by_either_plan(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = await user(gql, "anna")
    company = await org(gql, "Matrix AG")
    unit = await org(gql, "Unit")
    await link(gql, "PART_OF", unit, company, since="2024-01-01T00:00:00Z")
    jana = await contact(gql, "Jana", "Both")  # in the unit, and the company's own since 2025
    await link(gql, "EMPLOYS", unit, jana, since="2024-01-01T00:00:00Z")
    await link(gql, "EMPLOYS", company, jana, since="2025-01-01T00:00:00Z")
    bob = await contact(gql, "Bob", "Deep")  # two levels down only
    await link(gql, "EMPLOYS", unit, bob, since="2024-01-01T00:00:00Z")
    olaf = await contact(gql, "Olaf", "Outside")
    await record(gql, anna, [olaf, bob, jana], "2025-03-01T10:00:00Z", summary="bob first")
    await record(gql, anna, [jana, company], "2025-02-01T10:00:00Z", summary="root named")
    await record(gql, anna, [jana], "2024-06-01T10:00:00Z", summary="jana alone")
    await record(gql, anna, [olaf], "2025-04-01T10:00:00Z", summary="olaf only")

    async def window(**args: object) -> list[tuple[str, str]]:
        data = await gql(WINDOW, {"id": company, **args})
        return [
            (e["node"]["summary"], e["node"]["sourceId"])
            for e in data["party"]["timeline"]["edges"]
        ]

    every = [("bob first", bob), ("root named", company), ("jana alone", jana)]
    # one level down: Jana, not Bob, brings in what names them both
    shallow = [("bob first", jana), ("root named", company), ("jana alone", jana)]
    then = "2024-12-01T00:00:00Z"  # Jana was two levels down only
    asked = ({}, {"maxDepth": 1}, {"asOf": then}, {"asOf": then, "maxDepth": 1})
    merged = [await window(**args) for args in asked]
    assert merged == [every, shallow, every, [("root named", company)]]
    # the scan reads the same pages (it runs once a subtree is large; here, always)
    monkeypatch.setattr(neo4j_timelines, "SCAN_COST_RATIO", 0)
    monkeypatch.setattr(sqlite_timelines, "SCAN_COST_RATIO", 0)
    assert [await window(**args) for args in asked] == merged
