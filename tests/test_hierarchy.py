"""Hierarchy traversals over GraphQL: descendants in pages, ancestors, bounds, as-of reads."""

from __future__ import annotations

from client import GraphQL, serve
from factories import contact, link, org

from contactgraph.config import Settings

DESCENDANTS = """
query($id: ID!, $first: Int, $after: String, $max: Int, $asOf: DateTime, $types: [RelType!]) {
  party(id: $id) {
    descendants(first: $first, after: $after, maxDepth: $max, asOf: $asOf, types: $types) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { depth parentId party { displayName }
        relationship { type from { id } to { id } } } }
    }
  }
}"""
ANCESTORS = """query($id: ID!, $asOf: DateTime) {
  party(id: $id) { ancestors(asOf: $asOf) { displayName } } }"""


async def company(gql: GraphQL) -> dict[str, str]:
    ids = {"company": await org(gql, "Acme", unitType="COMPANY")}
    ids["north"] = await org(gql, "North", unitType="BRANCH")
    ids["south"] = await org(gql, "South", unitType="BRANCH")
    ids["sales"] = await org(gql, "Sales", unitType="DEPARTMENT")
    ids["ann"] = await contact(gql, "Ann", "Able")
    await link(gql, "PART_OF", ids["north"], ids["company"], since="2020-01-01T00:00:00Z")
    await link(gql, "PART_OF", ids["south"], ids["company"], since="2020-01-01T00:00:00Z")
    moved = await link(gql, "PART_OF", ids["sales"], ids["north"], since="2020-01-01T00:00:00Z")
    await gql(
        'mutation($id: ID!) { unlink(id: $id, until: "2024-01-01T00:00:00Z") { id } }',
        {"id": moved["id"]},
    )
    await link(gql, "PART_OF", ids["sales"], ids["south"], since="2024-01-01T00:00:00Z")
    await link(gql, "EMPLOYS", ids["sales"], ids["ann"], since="2021-01-01T00:00:00Z")
    return ids


async def test_descendants_pages_through_the_whole_tree(gql: GraphQL) -> None:
    ids = await company(gql)
    data = (await gql(DESCENDANTS, {"id": ids["company"]}))["party"]["descendants"]
    rows = [(e["node"]["depth"], e["node"]["party"]["displayName"]) for e in data["edges"]]
    assert rows == [(1, "North"), (1, "South"), (2, "Sales"), (3, "Ann Able")]
    assert data["totalCount"] == 4
    sales = data["edges"][2]["node"]
    assert sales["parentId"] == ids["south"]
    assert sales["relationship"]["type"] == "PART_OF"
    assert sales["relationship"]["to"]["id"] == ids["south"]

    first = (await gql(DESCENDANTS, {"id": ids["company"], "first": 3}))["party"]["descendants"]
    assert first["pageInfo"]["hasNextPage"] and len(first["edges"]) == 3
    rest = (
        await gql(
            DESCENDANTS,
            {"id": ids["company"], "first": 3, "after": first["pageInfo"]["endCursor"]},
        )
    )["party"]["descendants"]
    assert [e["node"]["party"]["displayName"] for e in rest["edges"]] == ["Ann Able"]
    assert not rest["pageInfo"]["hasNextPage"]

    past = await gql(DESCENDANTS, {"id": ids["north"], "asOf": "2022-06-01T00:00:00Z"})
    assert [e["node"]["party"]["displayName"] for e in past["party"]["descendants"]["edges"]] == [
        "Sales",
        "Ann Able",
    ]
    shallow = (await gql(DESCENDANTS, {"id": ids["company"], "max": 1}))["party"]["descendants"]
    assert shallow["totalCount"] == 2


async def test_a_unit_reached_at_two_depths_is_listed_once_at_the_nearer(gql: GraphQL) -> None:
    """A matrix unit: part of a branch since 2020 and of the company itself since 2022. Its
    row two levels down and its person's three levels down must not show, on a page of
    their own either, while the nearer ones hold; before 2022 the deeper ones are all."""
    acme = await org(gql, "Acme", unitType="COMPANY")
    north = await org(gql, "North", unitType="BRANCH")
    team = await org(gql, "Team", unitType="TEAM")
    ann = await contact(gql, "Ann", "Able")
    await link(gql, "PART_OF", north, acme, since="2019-01-01T00:00:00Z")
    await link(gql, "PART_OF", team, north, since="2020-01-01T00:00:00Z")
    await link(gql, "PART_OF", team, acme, since="2022-01-01T00:00:00Z")
    await link(gql, "EMPLOYS", team, ann, since="2020-06-01T00:00:00Z")

    def rows(page: dict) -> list[tuple[int, str, str]]:
        return [
            (e["node"]["depth"], e["node"]["party"]["displayName"], e["node"]["parentId"])
            for e in page["edges"]
        ]

    whole = (await gql(DESCENDANTS, {"id": acme}))["party"]["descendants"]
    assert rows(whole) == [(1, "North", acme), (1, "Team", acme), (2, "Ann Able", team)]
    assert whole["totalCount"] == 3
    first = (await gql(DESCENDANTS, {"id": acme, "first": 2}))["party"]["descendants"]
    assert rows(first) == [(1, "North", acme), (1, "Team", acme)]
    after = first["pageInfo"]["endCursor"]
    rest = (await gql(DESCENDANTS, {"id": acme, "first": 2, "after": after}))["party"]
    assert rows(rest["descendants"]) == [(2, "Ann Able", team)]
    assert not rest["descendants"]["pageInfo"]["hasNextPage"]
    then = await gql(DESCENDANTS, {"id": acme, "asOf": "2021-01-01T00:00:00Z"})
    assert rows(then["party"]["descendants"]) == [
        (1, "North", acme),
        (2, "Team", north),
        (3, "Ann Able", team),
    ]


async def test_ancestors_nearest_first_and_as_of(gql: GraphQL) -> None:
    ids = await company(gql)
    now = (await gql(ANCESTORS, {"id": ids["ann"]}))["party"]["ancestors"]
    assert [p["displayName"] for p in now] == ["Sales", "South", "Acme"]
    then = await gql(ANCESTORS, {"id": ids["ann"], "asOf": "2022-06-01T00:00:00Z"})
    assert [p["displayName"] for p in then["party"]["ancestors"]] == ["Sales", "North", "Acme"]
    roots = (await gql(ANCESTORS, {"id": ids["company"]}))["party"]["ancestors"]
    assert roots == []


async def test_bounds_and_bad_arguments(gql: GraphQL) -> None:
    party = await org(gql, "Acme")
    too_deep = await gql.error(DESCENDANTS, {"id": party, "max": 10_000})
    assert too_deep["extensions"]["code"] == "LIMIT_EXCEEDED"
    zero = await gql.error(DESCENDANTS, {"id": party, "max": 0})
    assert zero["extensions"]["code"] == "BAD_USER_INPUT"
    not_hierarchy = await gql.error(DESCENDANTS, {"id": party, "types": ["KNOWS"]})
    assert not_hierarchy["extensions"]["code"] == "BAD_USER_INPUT"
    bad_cursor = await gql.error(DESCENDANTS, {"id": party, "after": "bm9wZQ=="})
    assert bad_cursor["extensions"]["code"] == "BAD_USER_INPUT"
    big_page = await gql.error(DESCENDANTS, {"id": party, "first": 100_000})
    assert big_page["extensions"]["code"] == "LIMIT_EXCEEDED"


async def test_ancestors_of_many_parties_cost_one_call(gql: GraphQL) -> None:
    ids = await company(gql)
    response = await gql.raw(
        "{ parties(first: 50, filter: {kinds: [ORGANIZATION, CONTACT]}) "
        "{ edges { node { ancestors { id } } } } }",
        **{"X-Debug-Round-Trips": "1"},
    )
    body = response.json()
    assert "errors" not in body
    assert len(body["data"]["parties"]["edges"]) == len(ids)
    assert body["extensions"]["roundTrips"] == 2


async def test_ceilings_are_configurable(graph_url: str) -> None:
    settings = Settings(create=True, graph_url=graph_url, max_depth=3, max_network_size=5)
    async for http in serve(settings):
        gql = GraphQL(http)
        party = await org(gql, "Acme")
        deep = await gql.error(DESCENDANTS, {"id": party, "max": 4})
        assert deep["extensions"]["code"] == "LIMIT_EXCEEDED"
        assert "3" in deep["message"]
        within = await gql(DESCENDANTS, {"id": party, "max": 3})
        assert within["party"]["descendants"]["totalCount"] == 0
        wide = await gql.error(
            "query($id: ID!) { party(id: $id) { network(limit: 6) { truncated } } }", {"id": party}
        )
        assert wide["extensions"]["code"] == "LIMIT_EXCEEDED"
