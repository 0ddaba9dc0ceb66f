"""A viewer scoped to one department, probed through every entry point over HTTP and
WebSocket, on both stores. Each root field and each Party field must have a case here:
a new one fails `test_the_table_covers_every_entry_point` until it gets one.

    holding ── ceo (MEMBER_OF, role "boss")
    ├── sales ── rep (a user, EMPLOYS; RESPONSIBLE_FOR eva)
    │   └── north ── eva ── KNOWS ── max
    └── legal ── max;  seller (a user of legal) RESPONSIBLE_FOR eva

The scoped reader holds `reader` within sales; the scoped editor `editor` within sales.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from access import bearer, user_token
from client import GraphQL
from live import TRANSPORT_WS, Subscriber, client_for, live_server, subscribed

from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.schema.build import build_schema

Check = Callable[["World", dict[str, Any]], None]


@dataclass
class World:
    ids: dict[str, str]
    admin: GraphQL
    reader: GraphQL  # reader within sales
    editor: GraphQL  # editor within sales
    secrets: dict[str, str]
    address: str

    def names(self, ids: Any) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id.get(i, i) for i in ids}


@pytest.fixture
async def world(graph_url: str) -> AsyncIterator[World]:
    settings = Settings(graph_url=graph_url, create=True)
    async with live_server(settings) as address, client_for(address) as http:
        admin = GraphQL(http)
        ids = await _build(admin)
        store = open_store(graph_url)
        await store.start()
        try:
            secrets = {}
            for name in ("reader", "editor"):
                ids[name], secrets[name] = await user_token(store, f"scoped-{name}")
        finally:
            await store.close()
        for name in ("reader", "editor"):
            await admin(
                "mutation($u: ID!, $r: String!, $s: ID!) "
                "{ grantRole(userId: $u, role: $r, scopeId: $s) { scopeKind } }",
                {"u": ids[name], "r": name, "s": ids["sales"]},
            )
        async with (
            httpx.AsyncClient(base_url=f"http://{address}") as r,
            httpx.AsyncClient(base_url=f"http://{address}") as e,
        ):
            r.headers.update(bearer(secrets["reader"]))
            e.headers.update(bearer(secrets["editor"]))
            yield World(ids, admin, GraphQL(r), GraphQL(e), secrets, address)


async def _build(admin: GraphQL) -> dict[str, str]:
    known = await admin("{ viewer { id } categories { id name } }")
    private = next(c for c in known["categories"] if c["name"] == "Private client")
    made = await admin(
        # holding, sales and north share a switchboard, eva and max a phone: each pair may
        # be a duplicate, and possibleDuplicates must not tell a scoped viewer of max
        "mutation($c: ID!, $o: [PhoneInput!], $p: [PhoneInput!]) { "
        'holding: createOrganization(input: {name: "Holding", phones: $o}) { id } '
        'sales: createOrganization(input: {name: "Sales", phones: $o}) { id } '
        'north: createOrganization(input: {name: "North", phones: $o}) { id } '
        'legal: createOrganization(input: {name: "Legal"}) { id } '
        'eva: createContact(input: {firstName: "Eva", lastName: "Berger", categoryId: $c, '
        'phones: $p, externalIds: [{source: "crm", key: "eva"}]}) { id } '
        'max: createContact(input: {firstName: "Max", lastName: "Huber", phones: $p, '
        'externalIds: [{source: "crm", key: "max"}]}) { id } '
        'ceo: createContact(input: {firstName: "Clara", lastName: "Chef"}) { id } '
        'rep: createUser(input: {username: "rep", displayName: "Rep"}) { id } '
        'seller: createUser(input: {username: "seller", displayName: "Seller"}) { id } }',
        {
            "c": private["id"],
            "o": [{"number": "+43 512 100200"}],
            "p": [{"number": "+43 664 1234567"}],
        },
    )
    ids = {name: found["id"] for name, found in made.items()}
    ids["admin"], ids["category"] = known["viewer"]["id"], private["id"]
    links = [
        ("PART_OF", "sales", "holding", None),
        ("PART_OF", "legal", "holding", None),
        ("PART_OF", "north", "sales", None),
        ("MEMBER_OF", "eva", "north", None),
        ("MEMBER_OF", "max", "legal", None),
        ("MEMBER_OF", "ceo", "holding", "boss"),
        ("EMPLOYS", "sales", "rep", None),
        ("EMPLOYS", "legal", "seller", None),
        ("RESPONSIBLE_FOR", "rep", "eva", None),
        ("RESPONSIBLE_FOR", "seller", "eva", None),
        ("KNOWS", "eva", "max", None),
    ]
    for rel_type, source, target, role in links:
        made = await admin(
            "mutation($i: LinkInput!) { link(input: $i) { id } }",
            {"i": {"type": rel_type, "fromId": ids[source], "toId": ids[target], "role": role}},
        )
        ids[f"{source}>{target}"] = made["link"]["id"]
    for name, subjects in (("on_eva", ["eva"]), ("on_max", ["max"]), ("on_both", ["eva", "max"])):
        made = await admin(
            "mutation($s: [ID!]!) { recordActivity(input: "
            '{type: CALL, summary: "call", subjectIds: $s}) { id } }',
            {"s": [ids[s] for s in subjects]},
        )
        ids[name] = made["recordActivity"]["id"]
    for name, subject in (("task_in", "north"), ("task_out", "legal")):  # rep's, both
        made = await admin(
            "mutation($s: ID!, $a: ID!) { scheduleActivity(input: {type: TASK, "
            'summary: "todo", subjectIds: [$s], dueAt: "2030-01-10T09:00:00Z", '
            "assigneeIds: [$a]}) { id } }",
            {"s": ids[subject], "a": ids["rep"]},
        )
        ids[name] = made["scheduleActivity"]["id"]
    made = await admin(
        'mutation { createPipeline(name: "Sales", stages: '
        '[{name: "Open", order: 1, probability: 40, outcome: OPEN}]) { id stages { id } } }'
    )
    ids["pipeline"], stage = made["createPipeline"]["id"], made["createPipeline"]["stages"][0]["id"]
    for client in ("north", "legal"):  # a deal inside the scope, and one outside
        made = await admin(
            "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }",
            {
                "i": {
                    "title": client,
                    "organizationId": ids[client],
                    "ownerId": ids["rep"],
                    "pipelineId": ids["pipeline"],
                    "stageId": stage,
                    "amount": "10",
                    "currency": "EUR",
                }
            },
        )
        ids[f"deal_{client}"] = made["createOpportunity"]["id"]
    return ids


@dataclass(frozen=True)
class Case:
    field: str  # "Query.x", "Party.x", "Opportunity.x" or "Subscription.x"
    query: str
    variables: Callable[[World], dict[str, Any]]
    check: Check


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def _party_case(field: str, selection: str, party: str, check: Check) -> Case:
    return Case(
        f"Party.{field}",
        f"query($id: ID!) {{ party(id: $id) {{ {selection} }} }}",
        lambda w: {"id": w.ids[party]},
        check,
    )


def _check_relationships(w: World, data: dict[str, Any]) -> None:
    rels = data["party"]["relationships"]
    assert {r["type"] for r in rels} == {"MEMBER_OF", "RESPONSIBLE_FOR"}  # not KNOWS max
    assert w.names(r["id"] for r in rels) == {"eva>north", "rep>eva"}


def _check_timeline(w: World, data: dict[str, Any]) -> None:
    edges = data["party"]["timeline"]["edges"]
    assert w.names(_ids([e["node"] for e in edges])) == {"on_eva", "on_both"}
    both = next(e["node"] for e in edges if e["node"]["id"] == w.ids["on_both"])
    assert w.names(_ids(both["subjects"])) == {"eva"}  # max is outside
    assert both["author"]["id"] == w.ids["admin"]  # the author is named all the same


def _check_fiscal(w: World, data: dict[str, Any]) -> None:
    assert data["party"] == {"fiscal": None}


CASES = [
    Case("Query.viewer", "{ viewer { id } }", lambda w: {}, lambda w, d: _viewer_is(w, d)),
    Case(
        "Query.roles",
        "{ roles { name } }",
        lambda w: {},
        lambda w, d: _contains(d["roles"], {"name": "reader"}),
    ),
    Case(
        "Query.apiTokens",
        "{ apiTokens { userId } }",
        lambda w: {},
        lambda w, d: _all(d["apiTokens"], lambda t: t["userId"] == w.ids["reader"]),
    ),
    Case(
        "Query.node",
        "query($a: ID!, $b: ID!, $c: ID!, $d: ID!, $e: ID!, $f: ID!) { "
        "a: node(id: $a) { id } b: node(id: $b) { id } c: node(id: $c) { id } "
        "d: node(id: $d) { id } e: node(id: $e) { id } f: node(id: $f) { id } }",
        lambda w: {
            k: w.ids[n]
            for k, n in zip(
                "abcdef", ["eva", "max", "on_both", "on_max", "eva>north", "eva>max"], strict=True
            )
        },
        lambda w, d: _equal(
            {k: bool(v) for k, v in d.items()},
            {"a": True, "b": False, "c": True, "d": False, "e": True, "f": False},
        ),
    ),
    Case(
        "Query.party",
        "query($a: ID!, $b: ID!) { a: party(id: $a) { id } b: party(id: $b) { id } }",
        lambda w: {"a": w.ids["north"], "b": w.ids["holding"]},
        lambda w, d: _equal(d, {"a": {"id": w.ids["north"]}, "b": None}),
    ),
    Case(
        "Query.partyByExternalId",
        '{ a: partyByExternalId(source: "crm", key: "eva") { id } '
        'b: partyByExternalId(source: "CRM", key: "max") { id } }',
        lambda w: {},
        lambda w, d: _equal(d, {"a": {"id": w.ids["eva"]}, "b": None}),
    ),
    Case(
        "Query.parties",
        "{ all: parties(first: 2) { totalCount edges { node { id } } } "
        'eva: parties(search: "Berger") { totalCount } '
        'max: parties(search: "Huber") { totalCount } }',
        lambda w: {},
        lambda w, d: _parties(w, d),
    ),
    Case(
        "Query.path",
        "query($a: ID!, $b: ID!) { path(fromId: $a, toId: $b) { nodes { id } } }",
        lambda w: {"a": w.ids["eva"], "b": w.ids["rep"]},
        lambda w, d: _equal(w.names(_ids(d["path"]["nodes"])), {"eva", "rep"}),
    ),
    Case(
        "Query.contactPerson",  # the boss sits above sales: outside, so nobody
        'query($o: ID!) { contactPerson(organizationId: $o, role: "boss") { person { id } } }',
        lambda w: {"o": w.ids["north"]},
        lambda w, d: _equal(d, {"contactPerson": None}),
    ),
    Case(
        "Query.activities",  # on_max is about max alone, who is outside
        "{ all: activities { edges { node { id } } } "
        'calls: activities(search: "call", types: [CALL]) { edges { node { id } } } }',
        lambda w: {},
        lambda w, d: _equal(
            [w.names(_ids([e["node"] for e in d[k]["edges"]])) for k in ("all", "calls")],
            [{"on_eva", "on_both", "task_in"}, {"on_eva", "on_both"}],
        ),
    ),
    Case(
        "Query.tasks",  # rep's task about legal is outside
        "query($u: ID!) { tasks(assigneeId: $u) { edges { node { id } } } }",
        lambda w: {"u": w.ids["rep"]},
        lambda w, d: _equal(w.names(_ids([e["node"] for e in d["tasks"]["edges"]])), {"task_in"}),
    ),
    Case(
        "Query.agenda",  # the same two on rep's agenda
        'query($u: ID!) { agenda(userIds: [$u], from: "2030-01-01T00:00:00Z", '
        'to: "2030-02-01T00:00:00Z") { edges { node { activity { id } } } } }',
        lambda w: {"u": w.ids["rep"]},
        lambda w, d: _equal(
            w.names(e["node"]["activity"]["id"] for e in d["agenda"]["edges"]), {"task_in"}
        ),
    ),
    Case(
        "Query.levels",  # the graph's vocabulary, the same for every viewer
        "{ levels { id } }",
        lambda w: {},
        lambda w, d: _contains(d["levels"], {"id": "DEPARTMENT"}),
    ),
    Case(
        "Query.category",
        "query($c: ID!) { category(id: $c) { id } }",
        lambda w: {"c": w.ids["category"]},
        lambda w, d: _equal(d["category"], {"id": w.ids["category"]}),
    ),
    Case(
        "Query.categories",
        "{ categories { name } }",
        lambda w: {},
        lambda w, d: _equal(bool(d["categories"]), True),
    ),
    Case(
        "Query.pipelines",  # pipelines are definitions, not the graph: every reader's
        "{ pipelines { name } }",
        lambda w: {},
        lambda w, d: _equal(d, {"pipelines": [{"name": "Sales"}]}),
    ),
    Case(
        "Query.pipeline",
        "query($p: ID!) { pipeline(id: $p) { name } }",
        lambda w: {"p": w.ids["pipeline"]},
        lambda w, d: _equal(d, {"pipeline": {"name": "Sales"}}),
    ),
    Case(
        "Query.opportunities",  # only the deal whose organization is inside
        "query($a: ID!, $b: ID!) { all: opportunities { edges { node { title } } } "
        "inside: opportunities(filter: {organizationId: $a}) { edges { node { title } } } "
        "outside: opportunities(filter: {organizationId: $b, includeDescendants: true}) "
        "{ edges { node { title } } } }",
        lambda w: {"a": w.ids["north"], "b": w.ids["holding"]},
        lambda w, d: _equal(
            [[e["node"]["title"] for e in d[k]["edges"]] for k in ("all", "inside", "outside")],
            [["north"], ["north"], ["north"]],
        ),
    ),
    Case(
        "Opportunity.timeline",  # the deal inside has one; the one outside is not there
        "query($a: ID!, $b: ID!) { inside: node(id: $a) { ... on Opportunity { "
        "timeline { totalCount } } } outside: node(id: $b) { ... on Opportunity { "
        "timeline { totalCount } } } }",
        lambda w: {"a": w.ids["deal_north"], "b": w.ids["deal_legal"]},
        lambda w, d: _equal(d, {"inside": {"timeline": {"totalCount": 0}}, "outside": None}),
    ),
    Case(
        "Query.pipelineSummary",
        "query($p: ID!) { pipelineSummary(pipelineId: $p) { count amount } }",
        lambda w: {"p": w.ids["pipeline"]},
        lambda w, d: _equal(d, {"pipelineSummary": [{"count": 1, "amount": "10"}]}),
    ),
    _party_case("fiscal", "fiscal { vatNumber }", "eva", _check_fiscal),
    _party_case("relationships", "relationships { id type }", "eva", _check_relationships),
    _party_case(
        "children",
        "children { id }",
        "sales",
        lambda w, d: _equal(w.names(_ids(d["party"]["children"])), {"north", "rep"}),
    ),
    _party_case(
        "descendants",
        "descendants { totalCount edges { node { party { id } } } }",
        "sales",
        lambda w, d: _equal(
            (
                d["party"]["descendants"]["totalCount"],
                w.names(e["node"]["party"]["id"] for e in d["party"]["descendants"]["edges"]),
            ),
            (3, {"north", "rep", "eva"}),
        ),
    ),
    _party_case(
        "ancestors",
        "ancestors { id }",
        "eva",
        lambda w, d: _equal(w.names(_ids(d["party"]["ancestors"])), {"north", "sales"}),
    ),
    _party_case(
        "network",
        "network(depth: 3) { nodes { id } edges { id } }",
        "eva",
        lambda w, d: _equal(
            w.names(_ids(d["party"]["network"]["nodes"])), {"eva", "north", "sales", "rep"}
        ),
    ),
    _party_case(
        "responsibles",
        "responsibles { user { id } }",
        "eva",
        lambda w, d: _equal([r["user"]["id"] for r in d["party"]["responsibles"]], [w.ids["rep"]]),
    ),
    _party_case(
        "timeline",
        "timeline { edges { node { id subjects { id } author { id } } } }",
        "eva",
        _check_timeline,
    ),
    _party_case(
        "timeline",  # the roll-up of sales: what its parties did, not what legal did
        "timeline(includeDescendants: true) { edges { node { id source { id } } } }",
        "sales",
        lambda w, d: _equal(
            w.names(_ids([e["node"] for e in d["party"]["timeline"]["edges"]])),
            {"on_eva", "on_both", "task_in"},
        ),
    ),
    _party_case(
        "possibleDuplicates",  # holding shares the number too, but is outside
        "possibleDuplicates { party { id } signals }",
        "north",
        lambda w, d: _equal(
            [(w.names([c["party"]["id"]]), c["signals"]) for c in d["party"]["possibleDuplicates"]],
            [({"sales"}, ["PHONE"])],
        ),
    ),
    Case(
        "Query.duplicateCandidates",  # not holding with either, not eva with max
        "{ duplicateCandidates { edges { node { party { id } other { id } } } } }",
        lambda w: {},
        lambda w, d: _equal(
            [
                w.names([e["node"]["party"]["id"], e["node"]["other"]["id"]])
                for e in d["duplicateCandidates"]["edges"]
            ],
            [{"sales", "north"}],
        ),
    ),
    _party_case(
        "category",
        "category { id }",
        "eva",
        lambda w, d: _equal(d["party"]["category"], {"id": w.ids["category"]}),
    ),
    _party_case(
        "history",  # not the links to seller and max: they name them
        "history(first: 50) { edges { node { kind subjectIds } } }",
        "eva",
        lambda w, d: _equal(
            w.names(e["node"]["subjectIds"][0] for e in d["party"]["history"]["edges"]),
            {"eva", "eva>north", "rep>eva"},
        ),
    ),
    _party_case(
        "snapshot",
        'snapshot(asOf: "2999-01-01T00:00:00Z") { displayName }',
        "eva",
        lambda w, d: _equal(d["party"]["snapshot"], {"displayName": "Eva Berger"}),
    ),
    _party_case(
        "mergedFrom",  # ids only: a tombstone answers node(id) with its survivor
        "mergedFrom",
        "eva",
        lambda w, d: _equal(d["party"]["mergedFrom"], []),
    ),
    _party_case(
        "processes",  # eva's identification, as the private clients' category ships it
        "processes { processId }",
        "eva",
        lambda w, d: _equal(d["party"]["processes"], [{"processId": "identification"}]),
    ),
    Case(
        "Query.worklist",
        "query($u: ID!) { worklist(assigneeId: $u) { edges { node { id } } } }",
        lambda w: {"u": w.ids["rep"]},
        lambda w, d: _equal(d["worklist"]["edges"], []),
    ),
    Case(
        "Query.auditLog",  # for admins only: refused, however scoped
        "{ auditLog { edges { node { id } } } }",
        lambda w: {},
        lambda w, d: _equal(d, None),
    ),
]
# answered FORBIDDEN to the scoped reader
REFUSED = {"Party.fiscal", "Query.auditLog"}
# fields of the party itself: no other record behind them, nothing to scope
PLAIN = {
    "id",
    "kind",
    "legalForm",
    "displayName",
    "categoryId",
    "emails",
    "phones",
    "addresses",
    "tags",
    "externalIds",
    "attributes",
    "version",
    "createdAt",
    "updatedAt",
    "archivedAt",
    "mergedInto",
}
SUBSCRIPTIONS = {
    "Subscription.activityAdded",  # probed in test_a_live_feed_stays_inside
    "Subscription.worklistChanged",  # probed in test_a_worklist_feed_keeps_to_the_scope
}


def _viewer_is(w: World, data: dict[str, Any]) -> None:
    assert data["viewer"]["id"] == w.ids["reader"]


def _contains(items: list[Any], item: Any) -> None:
    assert item in items


def _all(items: list[Any], test: Callable[[Any], bool]) -> None:
    assert items and all(test(item) for item in items)


def _equal(found: Any, expected: Any) -> None:
    assert found == expected


def _parties(w: World, data: dict[str, Any]) -> None:
    # sales, north, eva, rep, and the viewer itself
    assert data["all"]["totalCount"] == 5
    assert len(data["all"]["edges"]) == 2
    assert data["eva"]["totalCount"] == 1 and data["max"]["totalCount"] == 0


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
    assert world.names(_ids([c["party"] for c in data["north"]["possibleDuplicates"]])) == {
        "holding",
        "sales",
    }
    assert len(data["eva"]["relationships"]) == 4
    assert "holding" in world.names(_ids(data["eva"]["ancestors"]))
    assert data["boss"]["person"]["id"] == world.ids["ceo"]
    assert data["parties"]["totalCount"] > 5
    found = await world.admin('{ activities(search: "call") { edges { node { id } } } }')
    assert world.names(_ids([e["node"] for e in found["activities"]["edges"]])) == {
        "on_eva",
        "on_both",
        "on_max",
    }


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


async def test_an_open_socket_follows_its_scope(world: World) -> None:
    """A socket's reads and feeds take the scope as it is when they run, not as it was
    when the socket opened: eva moves from north (sales) to legal while it is open."""
    ids = world.ids
    async with Subscriber.connect(world.address, TRANSPORT_WS, world.secrets["reader"]) as sub:
        feed = await sub.subscribe(
            "subscription($p: ID!) { activityAdded(subjectId: $p, includeDescendants: true) "
            "{ summary } }",
            {"p": ids["sales"]},
        )
        await subscribed(world.admin.http, 1)
        await world.admin(
            "mutation($m: ID!, $e: ID!, $l: ID!) { unlink(id: $m) { id } "
            "link(input: {type: MEMBER_OF, fromId: $e, toId: $l}) { id } }",
            {"m": ids["eva>north"], "e": ids["eva"], "l": ids["legal"]},
        )
        record = (
            "mutation($s: ID!, $t: String!) { recordActivity(input: {type: NOTE, summary: $t, "
            "subjectIds: [$s]}) { id } }"
        )
        await world.admin(record, {"s": ids["eva"], "t": "eva, now in legal"})
        await world.admin(record, {"s": ids["north"], "t": "north"})
        assert (await sub.next(feed))["data"]["activityAdded"] == {"summary": "north"}
        asked = await sub.subscribe("query($e: ID!) { party(id: $e) { id } }", {"e": ids["eva"]})
        assert (await sub.next(asked))["data"] == {"party": None}


async def test_feeds_load_grants_as_each_subscriber_may(world: World) -> None:
    """Unscoped subscribers share an event's loaders, but a user's grants are the
    administrator's to read, not every reader's."""
    ids = world.ids
    _, secret = await _reader_everywhere(world)
    feed = (
        "subscription($p: ID!) { activityAdded(subjectId: $p) "
        "{ author { id } recordedBy { grants { role } } } }"
    )
    async with (
        Subscriber.connect(world.address, TRANSPORT_WS) as admin,
        Subscriber.connect(world.address, TRANSPORT_WS, secret) as reader,
    ):
        ops = {"admin": await admin.subscribe(feed, {"p": ids["eva"]})}
        ops["reader"] = await reader.subscribe(feed, {"p": ids["eva"]})
        await subscribed(world.admin.http, 2)
        await world.admin(
            'mutation($s: ID!, $a: ID!) { recordActivity(input: {type: NOTE, summary: "n", '
            "subjectIds: [$s], authorId: $a}) { id } }",
            {"s": ids["eva"], "a": ids["editor"]},
        )
        seen = await admin.next(ops["admin"])
        assert "errors" not in seen and seen["data"]["activityAdded"]["recordedBy"]["grants"]
        refused = await reader.next(ops["reader"])
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _reader_everywhere(world: World) -> tuple[str, str]:
    made = await world.admin(
        'mutation { createUser(input: {username: "ulla", displayName: "Ulla"}) { id } }'
    )
    user_id = made["createUser"]["id"]
    await world.admin(
        'mutation($u: ID!) { grantRole(userId: $u, role: "reader") { id } }', {"u": user_id}
    )
    secret = await world.admin(
        'mutation($u: ID!) { createApiToken(name: "t", userId: $u) { secret } }', {"u": user_id}
    )
    return user_id, secret["createApiToken"]["secret"]


async def test_a_live_feed_stays_inside(world: World) -> None:
    ids = world.ids
    record = (
        "mutation($s: [ID!]!) { recordActivity(input: "
        '{type: NOTE, summary: "live", subjectIds: $s}) { id } }'
    )
    feed = (
        "subscription($p: ID!) { activityAdded(subjectId: $p, includeDescendants: true) "
        "{ id subjects { id } } }"
    )
    async with Subscriber.connect(world.address, TRANSPORT_WS, world.secrets["reader"]) as sub:
        outside = await sub.subscribe(feed, {"p": ids["legal"]})
        [error] = (await sub.next(outside))["errors"]
        assert error["extensions"]["code"] == "NOT_FOUND"
        await sub.completed(outside)
        op = await sub.subscribe(feed, {"p": ids["sales"]})
        await subscribed(world.admin.http, 1)  # live before anything is recorded
        await world.admin(record, {"s": [ids["max"]]})  # legal's: never reaches this feed
        shared = (await world.admin(record, {"s": [ids["max"], ids["eva"]]}))["recordActivity"]
        got = (await sub.next(op))["data"]["activityAdded"]
        assert got["id"] == shared["id"]
        assert world.names(_ids(got["subjects"])) == {"eva"}


async def _viewer_with(world: World, name: str, *grants: tuple[str, str | None, str]) -> GraphQL:
    """A new user holding (role, scope party name or None, scope kind) grants, signed in."""
    made = await world.admin(
        "mutation($u: String!) { createUser(input: {username: $u, displayName: $u}) { id } }",
        {"u": name},
    )
    user_id = made["createUser"]["id"]
    for role, scope, kind in grants:
        await world.admin(
            "mutation($u: ID!, $r: String!, $s: ID, $k: ScopeKind!) "
            "{ grantRole(userId: $u, role: $r, scopeId: $s, scopeKind: $k) { id } }",
            {"u": user_id, "r": role, "s": world.ids[scope] if scope else None, "k": kind},
        )
    secret = await world.admin(
        'mutation($u: ID!) { createApiToken(name: "t", userId: $u) { secret } }', {"u": user_id}
    )
    http = httpx.AsyncClient(base_url=f"http://{world.address}")
    http.headers.update(bearer(secret["createApiToken"]["secret"]))
    return GraphQL(http)


async def test_a_portfolio_is_what_the_teams_users_answer_for(world: World) -> None:
    """rep, employed by sales, is RESPONSIBLE_FOR eva: sales' portfolio is eva."""
    viewer = await _viewer_with(world, "pia", ("reader", "sales", "PORTFOLIO"))
    async with viewer.http:
        data = await viewer("{ viewer { id } parties { edges { node { id } } } }")
        found = world.names(_ids([e["node"] for e in data["parties"]["edges"]]))
        assert found == {"eva", data["viewer"]["id"]}


async def test_a_scoped_fiscal_grant_shows_fiscal_data_inside_only(world: World) -> None:
    for party, code in (("eva", "59-119/9013"), ("max", "81-123/4566")):
        await world.admin(
            "mutation($id: ID!, $code: String) { updateParty(id: $id, "
            'input: {fiscal: {taxCode: $code, country: "AT"}}) { id } }',
            {"id": world.ids[party], "code": code},
        )
    viewer = await _viewer_with(
        world, "fia", ("reader", None, "SUBTREE"), ("fiscal", "sales", "SUBTREE")
    )
    async with viewer.http:
        response = await viewer.raw(
            "query($e: ID!, $m: ID!) { eva: party(id: $e) { fiscal { taxCode } } "
            "max: party(id: $m) { fiscal { taxCode } } }",
            {"e": world.ids["eva"], "m": world.ids["max"]},
        )
        body = response.json()
        assert body["data"] == {
            "eva": {"fiscal": {"taxCode": "591199013"}},
            "max": {"fiscal": None},
        }
        [error] = body["errors"]
        assert error["path"] == ["max", "fiscal"]
        assert error["extensions"]["code"] == "FORBIDDEN"


WORKLIST = """query($u: ID!) { worklist(assigneeId: $u) { edges { node {
  title assigneeId party { id } } } } }"""


async def _welcome_calls(world: World) -> None:
    """A process that gives rep a step for each AGREEMENT with eva or max (filed in the
    category too)."""
    process = {
        "id": "welcome-call",
        "name": "Welcome call",
        "trigger": {"on": "ACTIVITY_RECORDED", "activityTypes": ["AGREEMENT"]},
        "steps": [
            {
                "id": "call",
                "title": "Call to welcome",
                "dueDays": 7,
                "satisfiedBy": {"activityType": "CALL"},
                "assignee": {"rule": "USER", "userId": world.ids["rep"]},
            }
        ],
    }
    await world.admin(
        "mutation($id: ID!, $p: JSON) { updateCategory(id: $id, input: {processes: $p}) "
        "{ version } }",
        {"id": world.ids["category"], "p": [process]},
    )
    await world.admin(
        "mutation($id: ID!, $c: ID!) { updateParty(id: $id, input: {categoryId: $c}) { id } }",
        {"id": world.ids["max"], "c": world.ids["category"]},
    )


async def _sign_with_eva_and_max(world: World) -> None:
    await world.admin(
        "mutation($s: [ID!]!) { recordActivity(input: "
        '{type: AGREEMENT, summary: "signed", subjectIds: $s}) { id } }',
        {"s": [world.ids["eva"], world.ids["max"]]},
    )


async def test_a_worklist_keeps_to_the_scope(world: World) -> None:
    """Rep's steps about eva (inside sales) show to the scoped reader, those about max
    (outside) do not; another user outside is NOT_FOUND, and the reader's own list, whose
    user lies outside the scope, is theirs to read. Sweeping processes is not the scoped
    editor's."""
    await _welcome_calls(world)
    await _sign_with_eva_and_max(world)
    everything = await world.admin(WORKLIST, {"u": world.ids["rep"]})
    assert len(everything["worklist"]["edges"]) == 2
    inside = await world.reader(WORKLIST, {"u": world.ids["rep"]})
    assert [e["node"]["party"]["id"] for e in inside["worklist"]["edges"]] == [world.ids["eva"]]
    outside = await world.reader.error(WORKLIST, {"u": world.ids["seller"]})
    assert outside["extensions"]["code"] == "NOT_FOUND"
    own = await world.reader(WORKLIST, {"u": world.ids["reader"]})
    assert own["worklist"]["edges"] == []
    # a sweep reads every category's parties: CATEGORIES everywhere, not a scoped editor's
    refused = await world.editor.error("mutation { sweepProcesses }")
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert (await world.admin("mutation { sweepProcesses }"))["sweepProcesses"] == 0


async def test_a_worklist_feed_keeps_to_the_scope(world: World) -> None:
    """As Query.worklist: the scoped reader hears rep's new step about eva, not the one
    about max; seller's feed (outside) is NOT_FOUND; its own feed is its own to hear."""
    await _welcome_calls(world)
    feed = (
        "subscription($u: ID) { worklistChanged(assigneeId: $u) "
        "{ change step { assigneeId party { id } } } }"
    )
    async with Subscriber.connect(world.address, TRANSPORT_WS, world.secrets["reader"]) as sub:
        outside = await sub.subscribe(feed, {"u": world.ids["seller"]})
        [error] = (await sub.next(outside))["errors"]
        assert error["extensions"]["code"] == "NOT_FOUND"
        await sub.completed(outside)
        await sub.subscribe(feed)  # its own: accepted, though its user lies outside
        reps = await sub.subscribe(feed, {"u": world.ids["rep"]})
        await subscribed(world.admin.http, 2)
        await _sign_with_eva_and_max(world)  # rep's two steps, in one write: max's not told
        await world.admin(
            'mutation($s: ID!) { recordActivity(input: {type: CALL, summary: "hello", '
            "subjectIds: [$s]}) { id } }",
            {"s": world.ids["eva"]},
        )
        heard = [(await sub.next(reps))["data"]["worklistChanged"] for _ in range(2)]
        assert [(h["change"], world.names([h["step"]["party"]["id"]])) for h in heard] == [
            ("OPENED", {"eva"}),
            ("DONE", {"eva"}),
        ]
