"""A field node's arguments are worked out once per execution (schema/shared_arguments.py)
and answers stay what graphql-core's own path gives: aliases of one field with different
arguments on every parent, arguments from variables (two requests, two sets of values),
and bad values refused on every parent's path with a code. Each document is asked with
sharing on and with graphql-core's execute_field, over HTTP, on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import strawberry
from client import GraphQL
from live import PROTOCOLS, Subscriber, live_server
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from contactgraph.config import Settings
from contactgraph.schema.execution import PlannedExecutionContext

pytestmark = pytest.mark.asyncio(loop_scope="module")

ORGS = "parties(first: 20, filter: {kinds: [ORGANIZATION]})"


async def both_ways(
    demo: GraphQL, monkeypatch: pytest.MonkeyPatch, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """The answer with shared arguments, after checking it is graphql-core's to the byte."""
    shared = await demo.raw(document, variables)
    with monkeypatch.context() as plain:
        plain.setattr(
            PlannedExecutionContext,
            "execute_field",
            StrawberryGraphQLCoreExecutionContext.execute_field,
        )
        unshared = await demo.raw(document, variables)
    assert shared.text == unshared.text
    body: dict[str, Any] = shared.json()
    return body


def timelines(body: dict[str, Any], alias: str) -> list[list[str]]:
    return [
        [edge["node"]["id"] for edge in party["node"][alias]["edges"]]
        for party in body["data"]["parties"]["edges"]
    ]


async def test_aliases_with_different_arguments(
    module_demo: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = (
        f"{{ {ORGS} {{ edges {{ node {{ id "
        "one: timeline(first: 1) { edges { node { id } } } "
        "three: timeline(first: 3) { edges { node { id } } } "
        "notes: timeline(first: 3, types: [NOTE]) { edges { node { id type } } } "
        "all: children { id } units: children(types: [PART_OF]) { id } "
        # one field, two selections: each read is sized by its own (resolvers/context.py)
        "ids: descendants(first: 5) { edges { node { party { id } } } } "
        "made: descendants(first: 5) { edges { node { party { createdAt } } } } } } } }"
    )
    body = await both_ways(module_demo, monkeypatch, document, {})
    assert "errors" not in body, body
    ones, threes = timelines(body, "one"), timelines(body, "three")
    assert len(ones) > 1  # several parents, each with its own fields
    assert all(len(one) <= 1 and len(three) <= 3 for one, three in zip(ones, threes, strict=True))
    assert all(one == three[:1] for one, three in zip(ones, threes, strict=True))
    assert any(len(three) > 1 for three in threes), "no parent tells the two pages apart"
    notes = [party["node"]["notes"]["edges"] for party in body["data"]["parties"]["edges"]]
    assert all(edge["node"]["type"] == "NOTE" for edges in notes for edge in edges)
    assert timelines(body, "three") != timelines(body, "notes")
    parties = [party["node"] for party in body["data"]["parties"]["edges"]]
    assert all({u["id"] for u in p["units"]} <= {a["id"] for a in p["all"]} for p in parties)
    assert any(len(p["units"]) < len(p["all"]) for p in parties), "no parent tells them apart"
    made = [e["node"]["party"] for p in parties for e in p["made"]["edges"]]
    assert made and all(party["createdAt"].startswith("20") for party in made)


async def test_arguments_from_variables(
    module_demo: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = (
        f"query($n: Int, $types: [ActivityType!]) {{ {ORGS} {{ edges {{ node {{ "
        "page: timeline(first: $n) { edges { node { id } } } "
        "typed: timeline(first: 5, types: $types) { edges { node { type } } } } } } }"
    )
    pages = {}
    for n, types in ((1, ["NOTE"]), (2, ["MEETING", "CALL"])):
        body = await both_ways(module_demo, monkeypatch, document, {"n": n, "types": types})
        assert "errors" not in body, body
        pages[n] = timelines(body, "page")
        assert all(len(page) <= n for page in pages[n])
        typed = [p["node"]["typed"]["edges"] for p in body["data"]["parties"]["edges"]]
        assert {edge["node"]["type"] for edges in typed for edge in edges} <= set(types)
    assert pages[1] != pages[2]  # the second request's variables, not the first's
    assert all(one == two[:1] for one, two in zip(pages[1], pages[2], strict=True))


@pytest.mark.parametrize(
    ("bad", "variables"),
    [("timeline(first: -1)", {}), ("timeline(first: $n)", {"n": -1})],
)
async def test_bad_value_refused_on_every_parents_path(
    module_demo: GraphQL, monkeypatch: pytest.MonkeyPatch, bad: str, variables: dict[str, Any]
) -> None:
    declared = "($n: Int)" if variables else ""
    # a timeline is non-null: a refused one nulls the nearest nullable field, the snapshot
    document = (
        f"query{declared} {{ {ORGS} {{ edges {{ node {{ id "
        "good: timeline(first: 2) { edges { node { id } } } "
        f'later: snapshot(asOf: "2999-01-01T00:00:00Z") {{ id bad: {bad} {{ edges {{ node '
        "{ id } } } } } } } }"
    )
    body = await both_ways(module_demo, monkeypatch, document, variables)
    parties = body["data"]["parties"]["edges"]
    assert len(parties) > 1
    assert all(p["node"]["later"] is None and len(p["node"]["good"]["edges"]) <= 2 for p in parties)
    errors = body["errors"]
    assert sorted(tuple(error["path"]) for error in errors) == sorted(
        ("parties", "edges", index, "node", "later", "bad") for index in range(len(parties))
    )
    assert {error["extensions"]["code"] for error in errors} == {"BAD_USER_INPUT"}
    assert {error["message"] for error in errors} == {"first must not be negative"}
    assert "Traceback" not in str(body)


async def test_each_operation_of_a_websocket_reads_what_it_selects(tmp_path: Path) -> None:
    """A WebSocket's context outlives its operations: the selections each resolver reads
    are its own operation's (resolvers/context.py). The memo is the resolvers', not a
    store's, so the embedded store serves."""
    settings = Settings(create=True, graph_url=f"sqlite:///{tmp_path / 'graph.db'}", demo=True)
    async with live_server(settings) as address, Subscriber.connect(address, PROTOCOLS[0]) as ws:
        for field in ("id", "createdAt", "displayName", "createdAt"):
            op = await ws.subscribe(
                f"{{ {ORGS} {{ edges {{ node {{ descendants(first: 5) {{ edges {{ node {{ "
                f"party {{ {field} }} }} }} }} }} }} }} }}"
            )
            answer = await ws.next(op)
            await ws.completed(op)
            parties = [
                edge["node"]["party"]
                for org in answer["data"]["parties"]["edges"]
                for edge in org["node"]["descendants"]["edges"]
            ]
            assert parties and all(list(party) == [field] and party[field] for party in parties)


# resolvers that change what they were given: the next object must not see it; on a schema
# of its own, since the server's resolvers change no argument


@strawberry.input
class Spec:
    name: str
    marks: list[str]


@strawberry.type
class Item:
    number: int

    @strawberry.field
    def tagged(self, tags: list[str], first: int = 1) -> list[str]:
        tags.append(f"{self.number}:{first}")
        return tags

    @strawberry.field
    def named(self, spec: Spec) -> str:
        spec.name += str(self.number)
        spec.marks.append("x")
        return f"{spec.name}{len(spec.marks)}"

    @strawberry.field
    def where(self, info: strawberry.Info, size: int = 0) -> str:
        return f"{info.path.key}:{self.number}:{size}"


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(number=number) for number in range(3)]


async def test_resolvers_that_change_their_arguments_share_nothing() -> None:
    schema = strawberry.Schema(Query, execution_context_class=PlannedExecutionContext)
    document = (
        'query($t: [String!]!, $s: Spec!) { items { a: tagged(tags: ["t"]) b: tagged(tags: $t) '
        'c: named(spec: {name: "n", marks: []}) d: named(spec: $s) where(size: 2) } }'
    )
    result = await schema.execute(
        document, variable_values={"t": ["v"], "s": {"name": "m", "marks": ["y"]}}
    )
    assert result.errors is None
    assert result.data == {
        "items": [
            {
                "a": ["t", f"{n}:1"],
                "b": ["v", f"{n}:1"],
                "c": f"n{n}1",
                "d": f"m{n}2",
                "where": f"where:{n}:2",
            }
            for n in range(3)
        ]
    }
