"""Every mutation under every role, on both stores: allowed, or FORBIDDEN with nothing
written. The table must name every mutation the schema has; fiscal fields read as null
with a FORBIDDEN error at their path unless the viewer may see them; the author of an
activity is the viewer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from access import bearer, user_token
from client import GraphQL

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.schema.build import build_schema

ROLES = {
    "nobody": (),
    "reader": ("reader",),
    "editor": ("editor",),
    "fiscal": ("fiscal",),
    "editor+fiscal": ("editor", "fiscal"),
    "admin": ("admin",),
}
WRITERS = {"editor", "editor+fiscal", "admin"}


@dataclass
class World:
    """The graph each case acts on, made by the admin: ids by name."""

    admin: GraphQL
    ids: dict[str, str]


Prepare = Callable[[World], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    mutation: str  # the root field
    document: str
    allowed: frozenset[str]
    state: str  # a query, run as the admin, whose answer the mutation changes
    prepare: Prepare | None = None


async def _nothing(world: World) -> dict[str, Any]:
    return {}


async def _fresh_link(world: World) -> dict[str, Any]:
    data = await world.admin(
        "mutation($a: ID!, $b: ID!) { link(input: {type: KNOWS, fromId: $a, toId: $b}) { id } }",
        {"a": world.ids["acme"], "b": world.ids["eva"]},
    )
    return {"id": data["link"]["id"]}


async def _fresh_archived(world: World) -> dict[str, Any]:
    made = await world.admin('mutation { createContact(input: {lastName: "Gone"}) { id } }')
    party_id = made["createContact"]["id"]
    await world.admin("mutation($id: ID!) { archiveParty(id: $id) { id } }", {"id": party_id})
    return {"id": party_id}


async def _fresh_duplicate(world: World) -> dict[str, Any]:
    made = await world.admin('mutation { createContact(input: {lastName: "Berger"}) { id } }')
    return {"s": world.ids["eva"], "m": made["createContact"]["id"]}


async def _fresh_user_twin(world: World) -> dict[str, Any]:
    made = await world.admin(
        'mutation { createUser(input: {username: "bert.twin", displayName: "Bert"}) { id } }'
    )
    return {"s": world.ids["bert"], "m": made["createUser"]["id"]}


async def _fresh_merged(world: World) -> dict[str, Any]:
    made = await _fresh_duplicate(world)
    await world.admin(MERGE, made)
    return {"id": made["m"]}


async def _fresh_token(world: World) -> dict[str, Any]:
    data = await world.admin(
        'mutation($u: ID!) { createApiToken(name: "theirs", userId: $u) { token { id } } }',
        {"u": world.ids["bert"]},
    )
    return {"id": data["createApiToken"]["token"]["id"], "u": world.ids["bert"]}


async def _fresh_category(world: World) -> dict[str, Any]:
    made = await world.admin(
        "mutation($id: ID!, $name: String!) "
        "{ createCategory(input: {id: $id, name: $name}) { id } }",
        {"id": f"cat-{new_id()[-12:]}", "name": new_id()},
    )
    return {"id": made["createCategory"]["id"]}


async def _category_id(world: World) -> dict[str, Any]:
    return {"id": f"cat-{new_id()[-12:]}"}


_ranks = iter(range(1000, 100_000))


async def _level_id(world: World) -> dict[str, Any]:
    return {"id": f"L{new_id()[-12:].upper().replace('-', '')}", "rank": next(_ranks)}


async def _fresh_level(world: World) -> dict[str, Any]:
    made = await _level_id(world)
    await world.admin(
        'mutation($id: ID!, $rank: Int!) { createLevel(input: {id: $id, name: "L", '
        "rank: $rank}) { id } }",
        made,
    )
    return {**made, "rank": next(_ranks)}


async def _date_reached(world: World) -> dict[str, Any]:
    """A party whose DATE_REACHED process is due: a sweep starts its run."""
    key = f"cat-{new_id()[-12:]}"
    process = {
        "id": "due",
        "name": "Due",
        "trigger": {"on": "DATE_REACHED", "attribute": "due_on"},
        "steps": [
            {
                "id": "s",
                "title": "Do",
                "dueDays": 1,
                "satisfiedBy": {"activityType": "CALL"},
                "assignee": {"rule": "RESPONSIBLE"},
            }
        ],
    }
    await world.admin(
        "mutation($id: ID!, $name: String!, $p: JSON) { createCategory(input: {id: $id, "
        'name: $name, fields: [{name: "due_on", type: DATE}], processes: $p}) { id } }',
        {"id": key, "name": key, "p": [process]},
    )
    made = await world.admin(
        'mutation($c: ID!) { createContact(input: {lastName: "Due", categoryId: $c, '
        'attributes: [{field: "due_on", value: "2020-01-01"}]}) { id } }',
        {"c": key},
    )
    return {"id": made["createContact"]["id"]}


async def _fresh_pipeline(world: World) -> dict[str, Any]:
    made = await world.admin(
        "mutation($n: String!) { createPipeline(name: $n, stages: "
        '[{name: "Open", order: 1, probability: 20, outcome: OPEN}]) { id } }',
        {"n": new_id()},
    )
    return {"id": made["createPipeline"]["id"], "n": new_id()}


async def _fresh_deal(world: World) -> dict[str, Any]:
    pipeline = await _fresh_pipeline(world)
    read = await world.admin(
        "query($p: ID!) { pipeline(id: $p) { stages { id } } }", {"p": pipeline["id"]}
    )
    stage = read["pipeline"]["stages"][0]["id"]
    made = await world.admin(
        "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }",
        {
            "i": {
                "title": "Deal",
                "organizationId": world.ids["acme"],
                "ownerId": world.ids["bert"],
                "pipelineId": pipeline["id"],
                "stageId": stage,
                "amount": "5",
                "currency": "EUR",
            }
        },
    )
    return {"id": made["createOpportunity"]["id"], "p": pipeline["id"], "s": stage}


async def _deal_input(world: World) -> dict[str, Any]:
    made = await _fresh_deal(world)
    return {"o": world.ids["acme"], "u": world.ids["bert"], "p": made["p"], "s": made["s"]}


async def _second_stage(world: World) -> dict[str, Any]:
    made = await _fresh_deal(world)
    stages = [
        {"name": "Open", "order": 1, "probability": 20, "outcome": "OPEN"},
        {"name": "Won", "order": 2, "probability": 100, "outcome": "WON"},
    ]
    read = await world.admin(
        "mutation($p: ID!, $s: [StageInput!]!) { updatePipeline(id: $p, stages: $s) "
        "{ stages { id } } }",
        {"p": made["p"], "s": [{**stages[0], "id": made["s"]}, stages[1]]},
    )
    return {"id": made["id"], "s": read["updatePipeline"]["stages"][1]["id"]}


async def _fresh_lead(world: World) -> dict[str, Any]:
    made = await world.admin(
        'mutation { createContact(input: {lastName: "Lead", leadStatus: NEW}) { id } }'
    )
    return {"id": made["createContact"]["id"]}


LEVEL_STATE = "{ levels { id rank } }"
DEAL_STATE = "{ opportunities(first: 500) { edges { node { id version stage { id } } } } }"
PIPELINE_STATE = "{ pipelines { id name version } }"
CATEGORY_STATE = "query($id: ID!) { category(id: $id) { version archivedAt } }"
PARTY_STATE = "{ parties(filter: {kinds: [ORGANIZATION, CONTACT, USER]}) { totalCount } }"
MERGE = "mutation($s: ID!, $m: ID!) { mergeParties(survivorId: $s, mergedIds: [$m]) { dryRun } }"


async def _fresh_plan(world: World) -> dict[str, Any]:
    made = await world.admin(
        'mutation($s: ID!) { scheduleActivity(input: {type: TASK, summary: "Do", '
        'subjectIds: [$s], dueAt: "2030-01-01T10:00:00Z"}) { id } }',
        {"s": world.ids["eva"]},
    )
    return {"id": made["scheduleActivity"]["id"]}


CASES = [
    Case(
        "mergeParties",
        MERGE,
        frozenset(WRITERS),
        "query($m: ID!) { node(id: $m) { id } }",  # the survivor's id once merged
        _fresh_duplicate,
    ),
    Case(
        "mergeParties",  # users: their roles and tokens move, which only an admin may do
        MERGE,
        frozenset({"admin"}),
        "query($m: ID!) { node(id: $m) { id } }",
        _fresh_user_twin,
    ),
    Case(
        "unmergeParty",
        "mutation($id: ID!) { unmergeParty(id: $id) { survivorId } }",
        frozenset(WRITERS),
        "query($id: ID!) { node(id: $id) { id } }",  # the survivor's id until unmerged
        _fresh_merged,
    ),
    Case(
        "createOrganization",
        'mutation { createOrganization(input: {name: "New Co"}) { id } }',
        frozenset(WRITERS),
        PARTY_STATE,
    ),
    Case(
        "createOrganization",  # fiscal data needs FISCAL too
        'mutation { createOrganization(input: {name: "Taxed Co", '
        'fiscal: {vatNumber: "ATU13585627"}}) { id } }',
        frozenset({"editor+fiscal", "admin"}),
        PARTY_STATE,
    ),
    Case(
        "createContact",
        'mutation { createContact(input: {lastName: "New"}) { id } }',
        frozenset(WRITERS),
        PARTY_STATE,
    ),
    Case(
        "createUser",
        'mutation { createUser(input: {username: "carla", displayName: "Carla"}) { id } }',
        frozenset({"admin"}),
        PARTY_STATE,
    ),
    Case(
        "updateParty",
        'mutation($id: ID!) { updateParty(id: $id, input: {tags: ["x"]}) { id } }',
        frozenset(WRITERS),
        "query($id: ID!) { party(id: $id) { version tags } }",
        lambda world: _const({"id": world.ids["acme"]}),
    ),
    Case(
        "updateParty",  # fiscal data needs FISCAL too
        'mutation($id: ID!) { updateParty(id: $id, input: {fiscal: {taxCode: "59-119/9013", '
        'country: "AT"}}) { id } }',
        frozenset({"editor+fiscal", "admin"}),
        "query($id: ID!) { party(id: $id) { version } }",
        lambda world: _const({"id": world.ids["acme"]}),
    ),
    Case(
        "updateParty",  # a user is changed by an administrator
        'mutation($id: ID!) { updateParty(id: $id, input: {tags: ["x"]}) { id } }',
        frozenset({"admin"}),
        "query($id: ID!) { party(id: $id) { version } }",
        lambda world: _const({"id": world.ids["bert"]}),
    ),
    Case(
        "archiveParty",
        "mutation($id: ID!) { archiveParty(id: $id) { id } }",
        frozenset(WRITERS),
        "query($id: ID!) { party(id: $id) { archivedAt } }",
        lambda world: _const({"id": world.ids["old"]}),
    ),
    Case(
        "restoreParty",
        "mutation($id: ID!) { restoreParty(id: $id) { id } }",
        frozenset(WRITERS),
        "query($id: ID!) { party(id: $id) { archivedAt } }",
        _fresh_archived,
    ),
    Case(
        "link",
        "mutation($a: ID!, $b: ID!) { link(input: {type: EMPLOYS, fromId: $a, toId: $b}) { id } }",
        frozenset(WRITERS),
        "query($a: ID!) { party(id: $a) { relationships { id } } }",
        lambda world: _const({"a": world.ids["acme"], "b": world.ids["eva"]}),
    ),
    Case(
        "unlink",
        "mutation($id: ID!) { unlink(id: $id) { id } }",
        frozenset(WRITERS),
        "query($id: ID!) { node(id: $id) { ... on Relationship { until } } }",
        _fresh_link,
    ),
    Case(
        "recordActivity",
        'mutation($s: ID!) { recordActivity(input: {type: CALL, summary: "Hi", '
        "subjectIds: [$s]}) { id } }",
        frozenset(WRITERS),
        "query($s: ID!) { party(id: $s) { timeline { edges { node { id } } } } }",
        lambda world: _const({"s": world.ids["eva"]}),
    ),
    Case(
        "recordActivity",  # for another author: importing history
        'mutation($s: ID!, $a: ID!) { recordActivity(input: {type: CALL, summary: "Hi", '
        "subjectIds: [$s], authorId: $a}) { id } }",
        frozenset({"admin"}),
        "query($s: ID!) { party(id: $s) { timeline { edges { node { id } } } } }",
        lambda world: _const({"s": world.ids["eva"], "a": world.ids["bert"]}),
    ),
    Case(
        "createCategory",  # categories are rules every party meets: CATEGORIES, admins'
        'mutation($id: ID!) { createCategory(input: {id: $id, name: "New"}) { id } }',
        frozenset({"admin"}),
        CATEGORY_STATE,
        _category_id,
    ),
    Case(
        "updateCategory",
        'mutation($id: ID!) { updateCategory(id: $id, input: {description: "New"}) { id } }',
        frozenset({"admin"}),
        CATEGORY_STATE,
        _fresh_category,
    ),
    Case(
        "archiveCategory",
        "mutation($id: ID!) { archiveCategory(id: $id) { id } }",
        frozenset({"admin"}),
        CATEGORY_STATE,
        _fresh_category,
    ),
    Case(
        "createLevel",  # levels order every tree: CATEGORIES too
        'mutation($id: ID!, $rank: Int!) { createLevel(input: {id: $id, name: "L", '
        "rank: $rank}) { id } }",
        frozenset({"admin"}),
        LEVEL_STATE,
        _level_id,
    ),
    Case(
        "updateLevel",
        "mutation($id: ID!, $rank: Int!) { updateLevel(id: $id, input: {rank: $rank}) { id } }",
        frozenset({"admin"}),
        LEVEL_STATE,
        _fresh_level,
    ),
    Case(
        "sweepProcesses",  # reads every category's parties: CATEGORIES, as their rules
        "mutation { sweepProcesses }",
        frozenset({"admin"}),
        "query($id: ID!) { party(id: $id) { processes { processId } } }",
        _date_reached,
    ),
    Case(
        "createPipeline",  # pipelines stage and forecast every deal: admins'
        "mutation($n: String!) { createPipeline(name: $n, stages: "
        '[{name: "Open", order: 1, probability: 20, outcome: OPEN}]) { id } }',
        frozenset({"admin"}),
        PIPELINE_STATE,
        lambda world: _const({"n": new_id()}),
    ),
    Case(
        "updatePipeline",
        "mutation($id: ID!, $n: String!) { updatePipeline(id: $id, name: $n) { id } }",
        frozenset({"admin"}),
        PIPELINE_STATE,
        _fresh_pipeline,
    ),
    Case(
        "createOpportunity",  # a deal is its organization's: WRITE where that is
        "mutation($o: ID!, $u: ID!, $p: ID!, $s: ID!) { createOpportunity(input: "
        '{title: "New", organizationId: $o, ownerId: $u, pipelineId: $p, stageId: $s, '
        'amount: "1", currency: "EUR"}) { id } }',
        frozenset(WRITERS),
        DEAL_STATE,
        _deal_input,
    ),
    Case(
        "updateOpportunity",
        'mutation($id: ID!) { updateOpportunity(id: $id, input: {amount: "7"}) { id } }',
        frozenset(WRITERS),
        DEAL_STATE,
        _fresh_deal,
    ),
    Case(
        "moveOpportunity",
        "mutation($id: ID!, $s: ID!) { moveOpportunity(id: $id, stageId: $s) { id } }",
        frozenset(WRITERS),
        DEAL_STATE,
        _second_stage,
    ),
    Case(
        "convertLead",  # writes the party: WRITE where it is
        'mutation($id: ID!) { convertLead(partyId: $id, categoryId: "private-client") '
        "{ party { id } } }",
        frozenset(WRITERS),
        "query($id: ID!) { party(id: $id) { version } }",
        _fresh_lead,
    ),
    Case(
        "scheduleActivity",
        'mutation($s: ID!) { scheduleActivity(input: {type: MEETING, summary: "Plan", '
        'subjectIds: [$s], startsAt: "2030-01-01T10:00:00Z"}) { id } }',
        frozenset(WRITERS),
        "query($s: ID!) { party(id: $s) { timeline { edges { node { id } } } } }",
        lambda world: _const({"s": world.ids["eva"]}),
    ),
    *(
        Case(
            name,
            f"mutation($id: ID!) {{ {name}(id: $id{change}) {{ id }} }}",
            frozenset(WRITERS),
            "query($id: ID!) { node(id: $id) { ... on Activity { version status } } }",
            _fresh_plan,
        )
        for name, change in (
            ("updateActivity", ', input: {location: "HQ"}'),
            ("completeActivity", ""),
            ("cancelActivity", ""),
        )
    ),
    Case(
        "grantRole",
        'mutation($u: ID!) { grantRole(userId: $u, role: "editor") { id } }',
        frozenset({"admin"}),
        "query($u: ID!) { node(id: $u) { ... on User { grants { role } } } }",
        lambda world: _const({"u": world.ids["bert"]}),
    ),
    Case(
        "revokeRole",
        'mutation($u: ID!) { revokeRole(userId: $u, role: "reader") }',
        frozenset({"admin"}),
        "query($u: ID!) { node(id: $u) { ... on User { grants { role } } } }",
        lambda world: _const({"u": world.ids["bert"]}),
    ),
    Case(
        "createApiToken",  # one's own: every signed-in user
        'mutation { createApiToken(name: "mine") { token { id } } }',
        frozenset(ROLES),
        "{ apiTokens(userId: null) { id } }",
    ),
    Case(
        "createApiToken",  # for someone else
        'mutation($u: ID!) { createApiToken(name: "x", userId: $u) { token { id } } }',
        frozenset({"admin"}),
        "query($u: ID!) { apiTokens(userId: $u) { id } }",
        lambda world: _const({"u": world.ids["bert"]}),
    ),
    Case(
        "revokeApiToken",  # someone else's
        "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
        frozenset({"admin"}),
        "query($u: ID!) { apiTokens(userId: $u) { id revokedAt } }",
        _fresh_token,
    ),
]


async def _const(values: dict[str, Any]) -> dict[str, Any]:
    return values


def _state_variables(case: Case, variables: dict[str, Any]) -> dict[str, Any]:
    """The variables the state query declares, from the case's."""
    return {name: value for name, value in variables.items() if f"${name}" in case.state}


@pytest.fixture
async def world(graph_url: str) -> AsyncIterator[tuple[World, dict[str, str], httpx.AsyncClient]]:
    """The app, an admin, a user per role (each with a token), a company and a contact."""
    store = open_store(graph_url, create=True)
    await store.start()
    try:
        secrets: dict[str, str] = {}
        ids: dict[str, str] = {}
        for role, grants in ROLES.items():
            ids[role], secrets[role] = await user_token(store, role.replace("+", "-"), *grants)
        ids["bert"], _ = await user_token(store, "bert", "reader")
    finally:
        await store.close()
    app = create_app(Settings(graph_url=graph_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            http.headers.update(bearer(secrets["admin"]))
            admin = GraphQL(http)
            made = await admin(
                'mutation { acme: createOrganization(input: {name: "Acme"}) { id } '
                'eva: createContact(input: {firstName: "Eva", lastName: "Berger"}) { id } '
                'old: createContact(input: {lastName: "Old"}) { id } }'
            )
            ids |= {name: found["id"] for name, found in made.items()}
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as raw:
                yield World(admin, ids), secrets, raw


def test_the_table_names_every_mutation() -> None:
    """A new mutation fails here until its permission cases are in the table."""
    schema = build_schema(Settings())
    mutation = schema._schema.mutation_type
    assert mutation is not None
    assert set(mutation.fields) == {case.mutation for case in CASES}


@pytest.mark.parametrize("role", ROLES)
async def test_each_mutation_is_allowed_or_refused_and_writes_nothing(
    world: tuple[World, dict[str, str], httpx.AsyncClient], role: str
) -> None:
    state, secrets, http = world
    viewer = bearer(secrets[role])
    for case in CASES:
        variables = await (case.prepare or _nothing)(state)
        scope = _state_variables(case, variables)
        read = case.state.replace("userId: null", f'userId: "{state.ids[role]}"')
        before = await state.admin(read, scope)
        response = await http.post(
            "/graphql", json={"query": case.document, "variables": variables}, headers=viewer
        )
        body = response.json()
        after = await state.admin(read, scope)
        if role in case.allowed:
            assert "errors" not in body, (case.document, body)
            assert after != before, case.document
        else:
            [error] = body["errors"]
            assert error["extensions"]["code"] == "FORBIDDEN", (case.document, error)
            assert "permission" in error["message"]
            assert after == before, case.document


async def test_fiscal_fields_need_the_fiscal_permission(
    world: tuple[World, dict[str, str], httpx.AsyncClient],
) -> None:
    state, secrets, http = world
    await state.admin(
        'mutation($id: ID!) { updateParty(id: $id, input: {fiscal: {vatNumber: "ATU13585627"}}) '
        "{ id } }",
        {"id": state.ids["acme"]},
    )
    query = "query($id: ID!) { party(id: $id) { displayName fiscal { vatNumber } } }"
    for role in ROLES:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": {"id": state.ids["acme"]}},
            headers=bearer(secrets[role]),
        )
        body = response.json()
        if role == "nobody" or role == "fiscal":  # no READ: the party itself is refused
            assert body["data"] == {"party": None}
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        elif role in ("editor+fiscal", "admin"):
            assert body == {
                "data": {"party": {"displayName": "Acme", "fiscal": {"vatNumber": "ATU13585627"}}}
            }
        else:
            assert body["data"] == {"party": {"displayName": "Acme", "fiscal": None}}
            [error] = body["errors"]
            assert error["extensions"]["code"] == "FORBIDDEN"
            assert error["path"] == ["party", "fiscal"]


async def test_search_matches_fiscal_codes_only_for_those_who_may_read_them(
    world: tuple[World, dict[str, str], httpx.AsyncClient],
) -> None:
    state, secrets, http = world
    await state.admin(
        'mutation($id: ID!) { updateParty(id: $id, input: {fiscal: {vatNumber: "ATU13585627", '
        'taxCode: "59-119/9013", country: "AT"}}) { id } }',
        {"id": state.ids["acme"]},
    )
    query = "query($s: String) { parties(search: $s) { totalCount edges { node { id } } } }"
    for role, finds in (("reader", False), ("editor", False), ("editor+fiscal", True)):
        for text in ("ATU1358", "59119", "acme atu13585627"):
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": {"s": text}},
                headers=bearer(secrets[role]),
            )
            found = response.json()["data"]["parties"]
            expected = [{"node": {"id": state.ids["acme"]}}] if finds else []
            assert found == {"totalCount": len(expected), "edges": expected}, (role, text)


async def test_the_author_is_the_viewer(
    world: tuple[World, dict[str, str], httpx.AsyncClient],
) -> None:
    state, secrets, http = world
    record = (
        'mutation($s: ID!, $a: ID) { recordActivity(input: {type: NOTE, summary: "n", '
        "subjectIds: [$s], authorId: $a}) { author { id } recordedBy { id } } }"
    )
    own = await http.post(
        "/graphql",
        json={"query": record, "variables": {"s": state.ids["eva"]}},
        headers=bearer(secrets["editor"]),
    )
    editor = state.ids["editor"]
    assert own.json()["data"]["recordActivity"] == {
        "author": {"id": editor},
        "recordedBy": {"id": editor},
    }
    imported = await state.admin(record, {"s": state.ids["eva"], "a": state.ids["bert"]})
    assert imported["recordActivity"] == {
        "author": {"id": state.ids["bert"]},
        "recordedBy": {"id": state.ids["admin"]},
    }
