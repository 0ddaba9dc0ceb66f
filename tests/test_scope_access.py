"""A viewer scoped to one department (scope_world.py), probed through every entry point
over HTTP, on both stores. Each root field and each Party field must have a case in
scope_cases.py: a new one fails `test_the_table_covers_every_entry_point` until it gets
one. Sockets and live feeds are in test_scope_live.py."""

from __future__ import annotations

from scope_cases import CASES, PLAIN, REFUSED, SUBSCRIPTIONS
from scope_world import World, ids_of, viewer_with, world  # noqa: F401 - the fixture

from contactgraph.config import Settings
from contactgraph.schema.build import build_schema

DEBUG = {"X-Debug-Round-Trips": "1"}


def test_the_table_covers_every_entry_point() -> None:
    """A new root field or Party field fails here until it has a scope case (or, for a
    field of the party's own data, is listed in PLAIN)."""
    schema = build_schema(Settings())._schema
    covered = {case.field for case in CASES}
    assert covered >= {f"Query.{name}" for name in schema.query_type.fields}
    assert {f"Subscription.{n}" for n in schema.subscription_type.fields} == SUBSCRIPTIONS
    party = set(schema.type_map["Party"].fields)
    assert party == PLAIN | {c.field.removeprefix("Party.") for c in CASES if "Party." in c.field}


async def test_every_entry_point_stays_inside(world: World) -> None:
    for case in CASES:
        response = await world.reader.http.post(
            "/graphql", json={"query": case.query, "variables": case.variables(world)}
        )
        body = response.json()
        if case.field in REFUSED:
            [error] = body["errors"]
            assert error["extensions"]["code"] == "FORBIDDEN"
        else:
            assert "errors" not in body, (case.field, body)
        case.check(world, body["data"])


async def test_the_unscoped_admin_sees_what_the_scope_hides(world: World) -> None:
    """The same probes as the administrator find what the scoped viewer did not: the
    hidden records exist, so the scoped answers are the scope's doing."""
    data = await world.admin(
        "query($e: ID!, $n: ID!) { eva: party(id: $e) { relationships { id } "
        "ancestors { id } timeline { edges { node { subjects { id } } } } } "
        'boss: contactPerson(organizationId: $n, role: "boss") { person { id } } '
        "parties { totalCount } duplicateCandidates { edges { node { party { id } } } } "
        "north: party(id: $n) { possibleDuplicates { party { id } } } "
        'max: partyByExternalId(source: "crm", key: "max") { id } }',
        {"e": world.ids["eva"], "n": world.ids["north"]},
    )
    assert data["max"] == {"id": world.ids["max"]}
    assert len(data["duplicateCandidates"]["edges"]) == 4  # three offices, eva and max
    assert world.names(ids_of([c["party"] for c in data["north"]["possibleDuplicates"]])) == {
        "holding",
        "sales",
    }
    assert len(data["eva"]["relationships"]) == 4
    assert "holding" in world.names(ids_of(data["eva"]["ancestors"]))
    assert data["boss"]["person"]["id"] == world.ids["ceo"]
    assert data["parties"]["totalCount"] > 5
    found = await world.admin('{ activities(search: "call") { edges { node { id } } } }')
    assert world.names(ids_of([e["node"] for e in found["activities"]["edges"]])) == {
        "on_eva",
        "on_both",
        "on_max",
    }


async def test_a_party_outside_is_null_with_the_descendants_that_read_it(world: World) -> None:
    """party(id:) has its descendants' walk read it (schema/carried_reads.py): the walk
    reads it as the scoped reader may, so one outside is null, as without descendants."""
    query = "query($id: ID!) { party(id: $id) { id descendants { totalCount } } }"
    assert await world.reader(query, {"id": world.ids["legal"]}) == {"party": None}
    inside = await world.reader(query, {"id": world.ids["sales"]})
    assert inside == {"party": {"id": world.ids["sales"], "descendants": {"totalCount": 3}}}
    everywhere = await world.admin(query, {"id": world.ids["legal"]})
    assert everywhere["party"]["descendants"]["totalCount"] == 2  # max and seller


async def test_a_path_out_of_the_scope_is_not_found(world: World) -> None:
    response = await world.reader.http.post(
        "/graphql",
        json={
            "query": "query($a: ID!, $b: ID!) { path(fromId: $a, toId: $b) { length } }",
            "variables": {"a": world.ids["eva"], "b": world.ids["max"]},
        },
    )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_a_scoped_editor_writes_only_inside(world: World) -> None:
    ids, editor = world.ids, world.editor
    inside = await editor.http.post(
        "/graphql",
        json={
            "query": 'mutation($id: ID!) { updateParty(id: $id, input: {tags: ["x"]}) { tags } }',
            "variables": {"id": ids["eva"]},
        },
    )
    assert inside.json() == {"data": {"updateParty": {"tags": ["x"]}}}
    refused = {
        "update": ('mutation($a: ID!) { updateParty(id: $a, input: {tags: ["x"]}) { id } }', "max"),
        "archive": ("mutation($a: ID!) { archiveParty(id: $a) { id } }", "legal"),
        "record": (
            'mutation($a: ID!, $b: ID!) { recordActivity(input: {type: NOTE, summary: "n", '
            "subjectIds: [$b, $a]}) { id } }",
            "max",
        ),
        "pull in": (  # max is filed under legal: the editor cannot move him into sales
            "mutation($a: ID!, $b: ID!) { link(input: {type: MEMBER_OF, fromId: $a, "
            "toId: $b}) { id } }",
            "max",
        ),
        "unlink": ("mutation($a: ID!) { unlink(id: $a) { id } }", "eva>max"),
    }
    for action, (document, target) in refused.items():
        before = await world.admin(
            "query($a: ID!) { node(id: $a) { id ... on Party { version relationships { id } "
            "timeline { edges { node { id } } } } ... on Relationship { until } } }",
            {"a": ids[target]},
        )
        response = await editor.http.post(
            "/graphql",
            json={"query": document, "variables": {"a": ids[target], "b": ids["north"]}},
        )
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN", action
        after = await world.admin(
            "query($a: ID!) { node(id: $a) { id ... on Party { version relationships { id } "
            "timeline { edges { node { id } } } } ... on Relationship { until } } }",
            {"a": ids[target]},
        )
        assert after == before, action
    # a party it makes is filed inside as it is made; a bare party elsewhere stays out
    made = await editor(
        'mutation($p: ID!) { createContact(input: {lastName: "Neu", parentId: $p}) { id } }',
        {"p": ids["north"]},
    )
    new = made["createContact"]["id"]
    assert (await editor("query($a: ID!) { party(id: $a) { id } }", {"a": new}))["party"]
    bare = await world.admin('mutation { createContact(input: {lastName: "Bare"}) { id } }')
    before = await world.admin("{ parties { totalCount } }")
    for document, variables in (
        (  # filing a new party outside
            'mutation($p: ID!) { createContact(input: {lastName: "Out", parentId: $p}) { id } }',
            {"p": ids["legal"]},
        ),
        (  # filed inside, but linked to a party outside in the same write
            'mutation($p: ID!, $o: ID!) { createContact(input: {lastName: "Out", parentId: $p, '
            "links: [{type: KNOWS, toId: $o}]}) { id } }",
            {"p": ids["north"], "o": ids["legal"]},
        ),
        (  # filing a party made by someone else, with no edge yet, inside: pulling it in
            "mutation($a: ID!, $b: ID!) { link(input: {type: MEMBER_OF, fromId: $a, "
            "toId: $b}) { id } }",
            {"a": bare["createContact"]["id"], "b": ids["north"]},
        ),
        (  # an id nobody has: the same answer as a party outside
            "mutation($a: ID!, $b: ID!) { link(input: {type: MEMBER_OF, fromId: $a, "
            "toId: $b}) { id } }",
            {"a": "no-such-party", "b": ids["north"]},
        ),
    ):
        error = await editor.error(document, variables)
        assert error["extensions"]["code"] == "FORBIDDEN", document
    assert await world.admin("{ parties { totalCount } }") == before
    hidden = await editor(
        "query($a: ID!) { party(id: $a) { id } }", {"a": bare["createContact"]["id"]}
    )
    assert hidden == {"party": None}
    await _made_outside_the_readers_scope(world)
    await _answered_through_the_scope(world)


async def _made_outside_the_readers_scope(world: World) -> None:
    """An editor of sales' portfolio (eva) may link a new contact to eva, and the contact
    lies outside the portfolio: its answer's relationships are read through the scope, as
    they would be afterwards (none), where a viewer who reads everywhere is answered them
    from the write (test_round_trips.py)."""
    editor = await viewer_with(world, "pete", ("editor", "sales", "PORTFOLIO"))
    create = (
        'mutation($e: ID!) { createContact(input: {lastName: "Kim", links: [{type: KNOWS, '
        "toId: $e}]}) { id relationships { toId } } }"
    )
    read = "query($id: ID!) { party(id: $id) { relationships { toId } } }"
    async with editor.http:
        answer = await editor.raw(create, {"e": world.ids["eva"]}, **DEBUG)
        body = answer.json()
        made = body["data"]["createContact"]
        assert made["relationships"] == [] and body["extensions"]["roundTrips"] == 2, body
        assert await editor(read, {"id": made["id"]}) == {"party": None}
    stored = await world.admin(read, {"id": made["id"]})
    assert stored == {"party": {"relationships": [{"toId": world.ids["eva"]}]}}


async def _answered_through_the_scope(world: World) -> None:
    """A scoped editor's link and activity answer their parties through its scope, as
    a read afterwards does: the write, then the reads (the parties loader, and for an
    activity the authors' loader too), where a viewer who reads everywhere is answered
    them from the write (test_round_trips.py)."""
    ids, editor = world.ids, world.editor
    linked = (
        "mutation($a: ID!, $b: ID!) { link(input: {type: KNOWS, fromId: $a, toId: $b}) "
        "{ from { id } to { id } } }"
    )
    answer = await editor.raw(linked, {"a": ids["eva"], "b": ids["rep"]}, **DEBUG)
    body = answer.json()
    assert body["data"]["link"] == {"from": {"id": ids["eva"]}, "to": {"id": ids["rep"]}}
    assert body["extensions"]["roundTrips"] == 2, body
    recorded = (
        'mutation($a: ID!) { recordActivity(input: {type: NOTE, summary: "n", '
        "subjectIds: [$a]}) { subjects { id } author { id } } }"
    )
    body = (await editor.raw(recorded, {"a": ids["eva"]}, **DEBUG)).json()
    made = body["data"]["recordActivity"]
    assert made == {"subjects": [{"id": ids["eva"]}], "author": {"id": ids["editor"]}}
    assert body["extensions"]["roundTrips"] == 3, body
