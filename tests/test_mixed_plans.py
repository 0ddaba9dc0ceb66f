"""Objects whose selection mixes plain fields with fields that need graphql-core's execution
(a resolver, arguments): their plan reads the plain ones and executes each of the others
as graphql-core does (schema/execution.py). Over HTTP on both stores, each answer is
compared, byte for byte, with graphql-core's own path, and the plans are checked to have
taken the objects over."""

from __future__ import annotations

import json
from typing import Any

import pytest
from client import GraphQL
from test_planned_execution import unplanned

from contactgraph.schema.execution import PlannedExecutionContext

pytestmark = pytest.mark.asyncio(loop_scope="module")

ORGANIZATIONS = (
    "{ parties(first: 50, filter: {kinds: [ORGANIZATION]}) "
    "{ edges { node { id children { id } } } } }"
)

MIXED = [
    # aliases, a field asked twice, __typename beside resolver fields
    "query($id: ID!) { party(id: $id) { __typename id name: displayName again: displayName "
    "kids: children { __typename id displayName } "
    "news: timeline(first: 2) { edges { node { id type } } } } }",
    # fragments, inline and named, on the mixed object and on its resolver fields' objects
    "fragment mine on Party { id kind children { ...kid } } "
    "fragment kid on Party { id ... on Organization { name unitType } "
    "timeline(first: 1) { edges { cursor } } } "
    "query($id: ID!) { party(id: $id) { ...mine ... on Organization { name } "
    "displayName } }",
    # @skip and @include on plain and resolver fields alike
    "query($id: ID!, $on: Boolean!) { party(id: $id) { id displayName @skip(if: $on) "
    "kind @include(if: $on) children @include(if: $on) { id } "
    "relationships @skip(if: $on) { id type } "
    "ancestors { id __typename } } }",
]


async def organization(demo: GraphQL) -> str:
    """The first of the demo's organizations with children."""
    edges = (await demo(ORGANIZATIONS))["parties"]["edges"]
    return str(next(edge["node"]["id"] for edge in edges if edge["node"]["children"]))


async def answer(demo: GraphQL, document: str, variables: dict[str, Any]) -> str:
    response = await demo.raw(document, variables)
    assert response.status_code == 200, response.text
    return response.text  # as sent: key order included


def mixed_plans_made(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each selection of objects the plans took was a mixed one."""
    made: list[bool] = []
    fields_of = PlannedExecutionContext._fields

    def counted(self: PlannedExecutionContext, *args: Any) -> Any:
        fields = fields_of(self, *args)
        if fields is not None:
            reads = [read is not None for _, _, read in fields]
            made.append(any(reads) and not all(reads))
        return fields

    monkeypatch.setattr(PlannedExecutionContext, "_fields", counted)
    return made


@pytest.mark.parametrize("document", MIXED)
@pytest.mark.parametrize("on", [True, False])
async def test_mixed_objects_answer_as_graphql_core(
    module_demo: GraphQL, monkeypatch: pytest.MonkeyPatch, document: str, on: bool
) -> None:
    variables: dict[str, Any] = {"id": await organization(module_demo)}
    if "$on" in document:
        variables["on"] = on
    made = mixed_plans_made(monkeypatch)
    planned = await answer(module_demo, document, variables)
    assert "errors" not in json.loads(planned), planned
    assert any(made), "no object of this document had a mixed plan"
    unplanned(monkeypatch)
    assert await answer(module_demo, document, variables) == planned


async def test_a_resolver_fields_error_nulls_its_nearest_nullable_parent(
    module_demo: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """descendants is non-null: its error nulls the party it was asked of (`bad`), whose
    plain fields were read already; the sibling `good`, the same party, answers whole."""
    document = (
        "query($id: ID!) { bad: party(id: $id) { id displayName "
        "descendants(first: -1) { totalCount } kind } "
        "good: party(id: $id) { id displayName children { id } } }"
    )
    variables = {"id": await organization(module_demo)}
    made = mixed_plans_made(monkeypatch)
    planned = await answer(module_demo, document, variables)
    assert any(made)
    body = json.loads(planned)
    assert body["data"]["bad"] is None
    assert body["data"]["good"]["id"] == variables["id"]
    assert body["data"]["good"]["children"]
    [error] = body["errors"]
    assert error["path"] == ["bad", "descendants"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    unplanned(monkeypatch)
    assert await answer(module_demo, document, variables) == planned


async def test_errors_in_a_list_of_mixed_objects_reach_their_paths(
    module_demo: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error inside a list of mixed objects (each child's descendants) nulls each
    child up to the nearest nullable parent, the party, with one error per child."""
    document = (
        "query($id: ID!) { party(id: $id) { id children { id displayName "
        "descendants(maxDepth: 0) { totalCount } } } }"
    )
    variables = {"id": await organization(module_demo)}
    planned = await answer(module_demo, document, variables)
    body = json.loads(planned)
    assert body["data"] == {"party": None}
    assert body["errors"], planned
    for error in body["errors"]:
        assert error["path"][0] == "party" and error["path"][1] == "children"
        assert error["path"][-1] == "descendants"
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    unplanned(monkeypatch)
    assert await answer(module_demo, document, variables) == planned
