"""Planned completion (schema/execution.py) answers exactly what graphql-core's own path
answers: the same data, in the same order of keys, and the same errors, for documents
written to reach every kind of selection (fragments, aliases, __typename, interfaces,
@skip/@include, enums, custom scalars, lists of objects inside objects, fields with
resolvers beside plain ones) and for documents generated from the schema. Each document is
asked with plans and shared arguments (shared_arguments.py) on and with graphql-core's own
path, on both stores, over HTTP."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry
from access import bearer, with_demo_token
from client import serve
from hypothesis import HealthCheck, given, settings
from hypothesis_graphql import Mode, queries
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from test_fuzz import SCALARS

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.schema.build import build_schema
from contactgraph.schema.execution import PlannedExecutionContext

PARTY = """
fragment card on Party {
  __typename id kind legalForm displayName tags version createdAt archivedAt
  emails { address label } phones { number label __typename }
  addresses { label street postalCode city region country }
  ... on Organization { name unitType }
  ... on Contact { firstName lastName }
  ... on User { username contactId }
}
"""
DOCUMENTS = [
    PARTY + "{ parties(first: 50) { totalCount edges { cursor node { ...card } } "
    "pageInfo { hasNextPage endCursor } } }",
    PARTY + "query($skip: Boolean!) { parties(first: 30) { edges { node { "
    "first: displayName @skip(if: $skip) again: displayName ...card "
    "kind @include(if: $skip) } } } }",
    "{ parties(first: 20, filter: {kinds: [ORGANIZATION]}) { edges { node { id "
    "children { id displayName ... on Organization { unitType } } "
    "timeline(first: 3) { edges { cursor node { id type occurredAt summary "
    "subjectIds author { id displayName } } } pageInfo { hasNextPage } } } } } }",
    "{ parties(first: 10, filter: {kinds: [ORGANIZATION]}) { edges { node { "
    "descendants(first: 100) { totalCount edges { cursor node { depth parentId "
    "party { __typename id displayName } relationship { id type since until role "
    "properties from { id } to { id } } } } } } } } }",
    "{ parties(first: 10) { edges { node { id relationships { id type since "
    "__typename } ancestors { id } responsibles { relationship { id } user { id } } } } } }",
    "{ categories { id name description legalForms unitTypes } }",
]


@pytest.fixture
async def demo_http(graph_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve(Settings(create=True, graph_url=graph_url, demo=True)):
        yield client


async def answers(http: httpx.AsyncClient, document: str, variables: dict[str, Any]) -> str:
    response = await http.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code < 500, response.text
    return response.text  # as sent: key order included


def unplanned(monkeypatch: pytest.MonkeyPatch) -> None:
    """graphql-core's own execution: no plans, each object's arguments coerced anew."""
    monkeypatch.setattr(PlannedExecutionContext, "_plan", lambda *_: None)
    monkeypatch.setattr(PlannedExecutionContext, "_fields", lambda *_: None)
    for own in ("execute_field", "complete_abstract_value"):
        monkeypatch.setattr(
            PlannedExecutionContext, own, getattr(StrawberryGraphQLCoreExecutionContext, own)
        )


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("skip", [True, False])
async def test_planned_answers_equal_graphql_cores(
    demo_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, document: str, skip: bool
) -> None:
    variables = {"skip": skip} if "$skip" in document else {}
    made: list[object] = []
    planner = PlannedExecutionContext._plan

    def counted(self: PlannedExecutionContext, *args: Any) -> Any:
        made.append(plan := planner(self, *args))
        return plan

    monkeypatch.setattr(PlannedExecutionContext, "_plan", counted)
    planned = await answers(demo_http, document, variables)
    assert "errors" not in json.loads(planned), planned
    assert any(made), "no selection of this document was planned"
    unplanned(monkeypatch)
    assert await answers(demo_http, document, variables) == planned


def test_generated_documents_answer_alike(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    signed_in = with_demo_token(
        Settings(create=True, graph_url=f"sqlite:///{tmp_path / 'g.db'}", demo=True, rate_limit=0)
    )
    assert signed_in.demo_token is not None
    app = create_app(signed_in)
    schema = build_schema(Settings())._schema
    with asyncio.Runner() as runner:
        lifespan = app.router.lifespan_context(app)
        runner.run(lifespan.__aenter__())
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://localhost",
            headers=bearer(signed_in.demo_token),
        )
        try:

            @settings(
                max_examples=80,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            # queries only: a document runs twice on one graph, and a mutation's second run
            # meets what its first wrote (a duplicate, a new version) and answers otherwise
            @given(document=queries(schema, custom_scalars=SCALARS, mode=Mode.POSITIVE))
            def alike(document: str) -> None:
                monkeypatch.undo()
                planned = runner.run(answers(http, document, {}))
                unplanned(monkeypatch)
                assert runner.run(answers(http, document, {})) == planned

            alike()
        finally:
            runner.run(http.aclose())
            runner.run(lifespan.__aexit__(None, None, None))


# graphql-core's errors where a plan must give up: a null for a non-null field, an object
# of the wrong type, a list that is not one, an Int past 32 bits, a resolver's error
# beside them; on a schema of its own,
# since the server's resolvers never hand such values over


@strawberry.type
class Leaf:
    name: str
    size: int | None


@strawberry.type
class Holder:
    leaves: list[Leaf]
    tags: list[str]

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError(f"broken beside {self.tags}")


@strawberry.type
class Query:
    @strawberry.field
    def holders(self) -> list[Holder]:
        good = Holder(leaves=[Leaf(name="a", size=1), Leaf(name="b", size=None)], tags=["x"])
        bad_leaf = Holder(leaves=[Leaf(name=None, size=2)], tags=["y"])  # type: ignore[arg-type]
        bad_list = Holder(leaves=[Leaf(name="c", size=3)], tags="not a list")  # type: ignore[arg-type]
        wrong = Holder(leaves=[object()], tags=[])  # type: ignore[list-item]
        too_big = Holder(
            leaves=[Leaf(name="d", size=2**31), Leaf(name="e", size=-(2**31))], tags=[]
        )
        return [good, bad_leaf, bad_list, wrong, too_big]


@pytest.mark.parametrize(
    "document",
    [
        "{ holders { leaves { name size __typename } tags } }",
        "{ holders { tags leaves { size } } }",
        "{ holders { a: leaves { n: name } b: leaves { s: size } } }",
        # a mixed object: its plain fields' errors and its resolver's, each at its path
        "{ holders { tags broken leaves { name } __typename } }",
    ],
)
async def test_plans_give_up_where_graphql_core_reports(document: str) -> None:
    planned = strawberry.Schema(Query, execution_context_class=PlannedExecutionContext)
    plain = strawberry.Schema(Query)
    got, expected = await planned.execute(document), await plain.execute(document)
    assert got.data == expected.data
    assert json.dumps(got.data) == json.dumps(expected.data)  # the order of keys too
    assert [(e.message, e.path) for e in got.errors or ()] == [
        (e.message, e.path) for e in expected.errors or ()
    ]
    assert expected.errors  # each case does fail


# an object type with an interface has Strawberry's check of each value's type, which plans
# ask once a class: a value cast to another type is still checked, and refused


@strawberry.interface
class Pet:
    name: str


@strawberry.type
class Cat(Pet):
    lives: int


@strawberry.type
class Dog(Pet):
    barks: bool


@strawberry.type
class Pets:
    @strawberry.field
    def cats(self) -> list[Cat]:
        cast = strawberry.cast(Dog, Cat(name="c", lives=1))  # a Cat, but cast to Dog
        return [Cat(name="a", lives=9), Cat(name="b", lives=7), cast]

    @strawberry.field
    def many(self) -> list[Cat]:
        return [Cat(name=str(i), lives=i) for i in range(PETS)]


PETS = 1000


async def test_plans_check_a_cast_value_after_its_class_passed() -> None:
    document = "{ cats { name lives } }"
    planned = strawberry.Schema(Pets, types=[Dog], execution_context_class=PlannedExecutionContext)
    got, expected = await planned.execute(document), await strawberry.Schema(Pets).execute(document)
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or ()] == [
        (e.message, e.path) for e in expected.errors or ()
    ]
    assert expected.errors  # the cast Cat is refused


async def test_a_plan_completes_an_object_of_leaves_in_one_call() -> None:
    """Each object of a list, its String and Int leaves and its type's check by class, in
    one Python call of the plans (there were five: a wrapper for the non-null, one for the
    object, one a leaf)."""
    schema = strawberry.Schema(Pets, types=[Dog], execution_context_class=PlannedExecutionContext)
    calls = 0

    def count(frame: Any, event: str, _: Any) -> None:
        nonlocal calls
        if event == "call" and frame.f_code.co_filename.endswith("schema/execution.py"):
            calls += 1

    sys.setprofile(count)
    try:
        result = await schema.execute("{ many { name lives } }")
    finally:
        sys.setprofile(None)
    assert not result.errors and len(result.data["many"]) == PETS
    assert PETS <= calls < PETS + 50, calls
