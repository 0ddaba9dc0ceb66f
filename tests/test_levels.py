"""Levels as data, on both stores, through GraphQL: the built-in levels in rank order, a
level added between two and a rank changed (each write in the level's history),
PART_OF refused from a higher level to a lower one (nothing written) unless the part's
category allows any order, the old unitType still read and written, and graphs stored
before levels were data upgraded: the demo's organization tree answers with its
levels."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from client import GraphQL, serve
from downgrades import AFTER_12, AFTER_15
from factories import org
from neo4j import Driver

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

LEVELS = "{ levels { id name rank } }"
CREATE_LEVEL = """mutation($input: CreateLevelInput!) {
  createLevel(input: $input) { id name rank description } }"""
UPDATE_LEVEL = """mutation($id: ID!, $input: UpdateLevelInput!) {
  updateLevel(id: $id, input: $input) { id rank } }"""
LINK = """mutation($a: ID!, $b: ID!) {
  link(input: {type: PART_OF, fromId: $a, toId: $b}) { id } }"""
UNIT = """query($id: ID!) { party(id: $id) { ... on Organization {
  levelId level { id name rank } unitType } } }"""
EDGES = """query($id: ID!) { party(id: $id) { relationships { id } } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gql(module_graph_url: str) -> AsyncIterator[GraphQL]:
    async for http in serve(Settings(create=True, graph_url=module_graph_url, rate_limit=0)):
        yield GraphQL(http)


async def test_the_levels_are_data_in_rank_order(gql: GraphQL) -> None:
    found = (await gql(LEVELS))["levels"]
    assert [(x["id"], x["rank"]) for x in found][:6] == [
        ("COMPANY", 100),
        ("BRANCH", 200),
        ("OFFICE", 300),
        ("DEPARTMENT", 400),
        ("TEAM", 500),
        ("POSITION", 600),
    ]


async def _refused(gql: GraphQL, part: str, whole: str) -> str:
    before = await gql(EDGES, {"id": part})
    error = await gql.error(LINK, {"a": part, "b": whole})
    assert await gql(EDGES, {"id": part}) == before
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return str(error["message"])


async def test_part_of_goes_up_or_level_unless_the_category_allows_any_order(
    gql: GraphQL,
) -> None:
    company = await org(gql, "Up Corp", level="COMPANY")
    office = await org(gql, "Up Office", level="OFFICE")
    department = await org(gql, "Up Sales", level="DEPARTMENT")
    sub = await org(gql, "Up Inside Sales", level="DEPARTMENT")
    await gql(LINK, {"a": office, "b": company})
    await gql(LINK, {"a": department, "b": office})
    await gql(LINK, {"a": sub, "b": department})  # a level's own: allowed
    other = await org(gql, "Up Holding", level="DEPARTMENT")
    message = await _refused(gql, company, other)
    assert "COMPANY (rank 100) is above DEPARTMENT (rank 400)" in message

    await gql(
        "mutation { createCategory(input: {id: 'free-tree', name: 'Free tree', "
        "anyLevelOrder: true}) { id } }".replace("'", '"')
    )
    free = await org(gql, "Up Free Corp", level="COMPANY", categoryId="free-tree")
    await gql(LINK, {"a": free, "b": other})  # its category allows any order


async def test_a_level_inserted_between_two_and_a_rank_changed_are_obeyed(gql: GraphQL) -> None:
    made = await gql(
        CREATE_LEVEL,
        {"input": {"id": "REGION", "name": "Region", "rank": 150, "description": " Sales area "}},
    )
    assert made["createLevel"] == {
        "id": "REGION",
        "name": "Region",
        "rank": 150,
        "description": "Sales area",
    }
    ids = [x["id"] for x in (await gql(LEVELS))["levels"]]
    assert ids.index("COMPANY") < ids.index("REGION") < ids.index("BRANCH")

    company = await org(gql, "Mid Corp", level="COMPANY")
    region = await org(gql, "Mid North", level="REGION")
    branch = await org(gql, "Mid Linz", level="BRANCH")
    shown = (await gql(UNIT, {"id": region}))["party"]
    assert shown == {
        "levelId": "REGION",
        "level": {"id": "REGION", "name": "Region", "rank": 150},
        "unitType": None,  # not one of the old enum's values
    }
    await gql(LINK, {"a": region, "b": company})
    await gql(LINK, {"a": branch, "b": region})
    await _refused(gql, region, branch)

    # moved above companies, a region may no longer be part of one: new edges obey
    await gql(UPDATE_LEVEL, {"id": "REGION", "input": {"rank": 50}})
    other = await org(gql, "Mid Corp Two", level="COMPANY")
    await _refused(gql, region, other)
    await gql(LINK, {"a": other, "b": region})

    # both writes are in the level's history, as a category's are; the same rank again
    # changes nothing and writes no entry
    await gql(UPDATE_LEVEL, {"id": "REGION", "input": {"rank": 50}})
    read = await gql(
        "{ levels { id history(first: 5) { edges { node { kind fields { field before after } "
        "} } } } }"
    )
    [region_level] = [x for x in read["levels"] if x["id"] == "REGION"]
    entries = [e["node"] for e in region_level["history"]["edges"]]
    assert [e["kind"] for e in entries] == ["LEVEL_UPDATED", "LEVEL_CREATED"]
    assert entries[0]["fields"] == [{"field": "rank", "before": 150, "after": 50}]


async def test_the_old_unit_type_is_still_read_and_written(gql: GraphQL) -> None:
    made = await org(gql, "Old Client Ltd", unitType="BRANCH")
    assert (await gql(UNIT, {"id": made}))["party"] == {
        "levelId": "BRANCH",
        "level": {"id": "BRANCH", "name": "Branch", "rank": 200},
        "unitType": "BRANCH",
    }
    changed = await gql(
        'mutation($id: ID!) { updateParty(id: $id, input: {level: "TEAM"}) '
        "{ ... on Organization { levelId unitType } } }",
        {"id": made},
    )
    assert changed["updateParty"] == {"levelId": "TEAM", "unitType": "TEAM"}


BAD_LEVELS = {
    "id": ({"id": "region", "name": "R", "rank": 700}, "BAD_USER_INPUT", "id"),
    "name": ({"id": "AREA", "name": " ", "rank": 700}, "BAD_USER_INPUT", "name"),
    "description": (  # longer than the server's limit of every string argument
        {"id": "AREA", "name": "Area", "rank": 700, "description": "x" * 2001},
        "BAD_USER_INPUT",
        None,
    ),
    "rank in use": ({"id": "AREA", "name": "Area", "rank": 100}, "CONFLICT", None),
    "id in use": ({"id": "TEAM", "name": "Team", "rank": 701}, "CONFLICT", None),
}


@pytest.mark.parametrize("case", BAD_LEVELS, ids=list(BAD_LEVELS))
async def test_a_bad_level_is_refused_and_nothing_written(gql: GraphQL, case: str) -> None:
    given, code, field = BAD_LEVELS[case]
    before = await gql(LEVELS)
    error = await gql.error(CREATE_LEVEL, {"input": given})
    assert error["extensions"]["code"] == code
    assert error["extensions"].get("field") == field
    assert await gql(LEVELS) == before


async def test_bad_levels_of_parties_are_refused(gql: GraphQL) -> None:
    for document, variables, code in (
        (UPDATE_LEVEL, {"id": "NOWHERE", "input": {"rank": 9}}, "NOT_FOUND"),
        (
            "mutation { createOrganization(input: {name: 'X', level: 'NOWHERE'}) { id } }",
            None,
            "BAD_USER_INPUT",
        ),
        (
            "mutation { createOrganization(input: {name: 'X', level: 'TEAM', "
            "unitType: TEAM}) { id } }",
            None,
            "BAD_USER_INPUT",
        ),
    ):
        error = await gql.error(document.replace("'", '"'), variables)
        assert error["extensions"]["code"] == code, error


TREE = """query($id: ID!) { party(id: $id) { ... on Organization { level { id } }
  descendants(first: 20, types: [PART_OF]) { edges { node { party {
    ... on Organization { name unitType level { id rank } } } } } } } }"""


async def _tree(url: str) -> list[tuple[str, str, str]]:
    async for http in serve(Settings(create=True, graph_url=url, demo=True)):
        gql = GraphQL(http)
        found = await gql(
            '{ parties(search: "Nordwind Logistics", first: 1) { edges { node { id } } } }'
        )
        company = found["parties"]["edges"][0]["node"]["id"]
        tree = (await gql(TREE, {"id": company}))["party"]
        assert tree["level"] == {"id": "COMPANY"}
        units = [e["node"]["party"] for e in tree["descendants"]["edges"]]
        return sorted((u["name"], u["unitType"], u["level"]["id"]) for u in units)
    raise AssertionError("no server")


async def test_a_graph_stored_before_levels_were_data_answers_its_tree(
    graph_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The SQLite migration makes the levels table; Neo4j writes the Level nodes at start:
    the unit types stored before are levels as they are."""
    now = await _tree(graph_url)
    assert ("Fleet Management", "DEPARTMENT", "DEPARTMENT") in now
    if graph_url.startswith("sqlite"):
        with sqlite3.connect(graph_url.removeprefix("sqlite:///")) as conn:
            conn.executescript(f"{AFTER_12} {AFTER_15} PRAGMA user_version = 12;")
    else:
        driver: Driver = request.getfixturevalue("neo4j_driver")
        driver.execute_query("MATCH (l:Level) DELETE l")
    assert await _tree(graph_url) == now
