"""A parent's awaited fields are awaited together (schema/together.py): an error of one of
them reaches its own path with its code while the others answer, and a null it leaves
where the schema says non-null goes up to the nearest nullable parent, as the spec says.

A server whose depth ceiling is 1 holds a group above a unit above a team: the group's
`descendants` without maxDepth is LIMIT_EXCEEDED once its load is back (an error after an
await); `children(types: [KNOWS])` is BAD_USER_INPUT before its load (an error before one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import link, org

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

SINCE = "2020-01-01T00:00:00Z"
FIELDS = "id children { id displayName } relationships { type fromId }"
OK = f"query($id: ID!) {{ party(id: $id) {{ {FIELDS} }} }}"
# three root fields, each with several awaited fields of its own
MIXED = f"""query($id: ID!) {{
  ok: party(id: $id) {{ {FIELDS} }}
  late: party(id: $id) {{ {FIELDS} descendants {{ edges {{ node {{ party {{ id }} }} }} }} }}
  early: party(id: $id) {{ {FIELDS} others: children(types: [KNOWS]) {{ id }} }}
}}"""
PAGE = """{ parties(first: 10, filter: {kinds: [ORGANIZATION]}) { edges { node {
  id children { id } descendants { edges { node { depth } } } } } } }"""


@dataclass
class Groups:
    gql: GraphQL
    group: str
    unit: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def groups(module_graph_url: str) -> AsyncIterator[Groups]:
    async for http in serve(Settings(create=True, graph_url=module_graph_url, max_depth=1)):
        gql = GraphQL(http)
        group, unit, team = [await org(gql, name) for name in ("Group", "Unit", "Team")]
        await link(gql, "PART_OF", unit, group, since=SINCE)
        await link(gql, "PART_OF", team, unit, since=SINCE)
        yield Groups(gql, group, unit)


async def test_each_error_reaches_its_own_path_and_the_others_answer(groups: Groups) -> None:
    alone = await groups.gql(OK, {"id": groups.group})
    assert alone["party"]["children"] == [{"id": groups.unit, "displayName": "Unit"}]
    body = (await groups.gql.raw(MIXED, {"id": groups.group})).json()
    # each failed non-null field nulls its party, the nearest nullable parent; `ok` answers
    assert body["data"] == {"ok": alone["party"], "late": None, "early": None}, body
    found = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert found == {
        ("late", "descendants"): "LIMIT_EXCEEDED",
        ("early", "others"): "BAD_USER_INPUT",
    }, body


async def test_an_error_in_a_list_item_nulls_up_to_the_nearest_nullable_parent(
    groups: Groups,
) -> None:
    """Non-null all the way up: the page's failed item takes `data` with it, and only the
    first error is told, as graphql-core tells it."""
    body = (await groups.gql.raw(PAGE)).json()
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    path = error["path"]
    assert path[:2] == ["parties", "edges"] and path[3:] == ["node", "descendants"], error
    # without the failing field the same page answers, the group among its organizations
    whole = await groups.gql(PAGE.replace("descendants { edges { node { depth } } }", ""))
    nodes = [edge["node"] for edge in whole["parties"]["edges"]]
    assert nodes[path[2]]["id"] == groups.group
    assert {"id": groups.unit} in nodes[path[2]]["children"]


# the agenda refuses its arguments before any await; `node` is then reading the store
REFUSED_BESIDE_A_READ = """query($id: ID!) {
  agenda(userIds: [], from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z") {
    edges { node { userIds } } }
  node(id: $id) { id }
}"""


async def test_a_field_refused_at_once_stops_a_sibling_that_is_reading(groups: Groups) -> None:
    """The sibling is stopped inside the store's session, whose way out waits: it is let
    finish, and the request answers the refusal alone, coded."""
    for _ in range(3):
        error = await groups.gql.error(REFUSED_BESIDE_A_READ, {"id": groups.unit})
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["path"] == ["agenda"]
    assert (await groups.gql(OK, {"id": groups.unit}))["party"]["id"] == groups.unit
