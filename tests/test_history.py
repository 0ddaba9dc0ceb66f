"""The change history through GraphQL, on both stores: an entry for each kind of write in
the write's own transaction (none for a refused one), who and which request, newest first
and cursor-paged, a party as it was, the audit log, and who may read what of it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from access import bearer, user_token
from client import GraphQL, serve
from factories import contact, link, org, record, user

from contactgraph.config import Settings
from contactgraph.graph.backends import open_store

HISTORY = """query($id: ID!, $first: Int, $after: String) { node(id: $id) {
  ... on Party { history(first: $first, after: $after) { ...page } }
  ... on Relationship { history(first: $first, after: $after) { ...page } }
  ... on Activity { history(first: $first, after: $after) { ...page } } } }
fragment page on ChangeConnection {
  edges { cursor node { id at kind actorId actor { username } requestId subjectIds version
    fields { field before after redacted } } }
  pageInfo { hasNextPage endCursor } }"""
UPDATE = """mutation($id: ID!, $input: UpdatePartyInput!, $v: Int) {
  updateParty(id: $id, input: $input, expectedVersion: $v) { id version updatedAt } }"""
AUDIT = """query($actor: ID, $subject: ID, $since: DateTime, $until: DateTime, $first: Int,
  $after: String) { auditLog(actorId: $actor, subjectId: $subject, since: $since,
  until: $until, first: $first, after: $after) {
  edges { cursor node { id kind subjectIds actorId } } pageInfo { hasNextPage endCursor } } }"""
SNAPSHOT = """query($id: ID!, $at: DateTime!) { party(id: $id) {
  snapshot(asOf: $at) { displayName version updatedAt archivedAt tags
    emails { address } ... on Organization { name } } } }"""


async def entries(gql: GraphQL, node_id: str, **page: Any) -> list[dict[str, Any]]:
    data = await gql(HISTORY, {"id": node_id, **page})
    return [edge["node"] for edge in data["node"]["history"]["edges"]]


def fields(entry: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {f["field"]: (f["before"], f["after"]) for f in entry["fields"]}


async def me(gql: GraphQL) -> str:
    return (await gql("{ viewer { id } }"))["viewer"]["id"]


async def test_each_party_write_appends_an_entry_newest_first(gql: GraphQL) -> None:
    acme = await org(gql, "Acme", tags=["lead"])
    await gql(UPDATE, {"id": acme, "input": {"name": "Acme Widgets", "tags": ["client"]}})
    await gql("mutation($id: ID!) { archiveParty(id: $id) { id } }", {"id": acme})
    await gql("mutation($id: ID!) { restoreParty(id: $id) { id } }", {"id": acme})
    found = await entries(gql, acme)
    assert [e["kind"] for e in found] == ["RESTORED", "ARCHIVED", "UPDATED", "CREATED"]
    assert [e["version"] for e in found] == [4, 3, 2, 1]
    viewer = await me(gql)
    assert {e["actorId"] for e in found} == {viewer}
    assert found[0]["actor"] == {"username": "admin"}
    assert all(e["subjectIds"] == [acme] for e in found)
    assert found[3]["fields"] == []  # what it was made with: its snapshot at that time
    assert fields(found[2]) == {
        "name": ("Acme", "Acme Widgets"),
        "displayName": ("Acme", "Acme Widgets"),
        "tags": (["lead"], ["client"]),
    }
    archived_at = fields(found[1])["archivedAt"][1]
    assert archived_at is not None and fields(found[0]) == {"archivedAt": (archived_at, None)}
    assert [e["at"] for e in found] == sorted((e["at"] for e in found), reverse=True)


async def test_the_request_id_is_the_clients_or_one_the_server_answers(gql: GraphQL) -> None:
    query = 'mutation { createContact(input: {lastName: "Ray"}) { id } }'
    sent = await gql.raw(query, **{"X-Request-Id": "import-42/row:7"})
    assert sent.headers["x-request-id"] == "import-42/row:7"
    made = await gql.raw(query, **{"X-Request-Id": "not a token; x" * 20})
    server_made = made.headers["x-request-id"]
    assert server_made != "not a token; x" * 20 and len(server_made) == 36
    for response, request_id in ((sent, "import-42/row:7"), (made, server_made)):
        party = response.json()["data"]["createContact"]["id"]
        [entry] = await entries(gql, party)
        assert entry["requestId"] == request_id


async def test_links_and_activities_are_in_every_history_they_touch(gql: GraphQL) -> None:
    acme = await org(gql, "Acme")
    eva = await contact(gql, "Eva", "Berger")
    rel = await link(gql, "EMPLOYS", acme, eva, role="buyer")
    await gql("mutation($id: ID!) { unlink(id: $id) { id } }", {"id": rel["id"]})
    on_rel = await entries(gql, rel["id"])
    assert [e["kind"] for e in on_rel] == ["UNLINKED", "LINKED"]
    assert on_rel[1]["subjectIds"] == [rel["id"], acme, eva]
    assert on_rel[0]["subjectIds"] == [rel["id"], acme, eva]
    assert fields(on_rel[0])["until"][1] is not None
    author = await user(gql, "anna")
    activity = await record(gql, author, [eva, acme], "2025-03-01T10:00:00Z", summary="Visit")
    [recorded] = await entries(gql, activity["id"])
    assert recorded["kind"] == "ACTIVITY_RECORDED"
    assert recorded["subjectIds"] == [activity["id"]]
    for party in (acme, eva):  # the activity is on their timelines, not in their histories
        kinds = [e["kind"] for e in await entries(gql, party)]
        assert kinds == ["UNLINKED", "LINKED", "CREATED"]


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (UPDATE, {"input": {"name": "Stale"}, "v": 7}),  # CONFLICT: a stale version
        (UPDATE, {"input": {"phones": [{"number": "call me maybe"}]}}),  # BAD_USER_INPUT
        (
            "mutation($id: ID!) { link(input: {type: PART_OF, fromId: $id, toId: $id}) { id } }",
            {},
        ),
        (
            'mutation($id: ID!) { createContact(input: {lastName: "X", parentId: $id, '
            'links: [{type: KNOWS, toId: "nobody"}]}) { id } }',
            {},
        ),
    ],
)
async def test_a_refused_write_leaves_no_entry(
    gql: GraphQL, document: str, variables: dict[str, Any]
) -> None:
    acme = await org(gql, "Acme")
    before = (await gql(AUDIT, {"first": 100}))["auditLog"]["edges"]
    error = await gql.error(document, {"id": acme, **variables})
    assert error["extensions"]["code"] in {"CONFLICT", "BAD_USER_INPUT", "NOT_FOUND"}
    assert (await gql(AUDIT, {"first": 100}))["auditLog"]["edges"] == before
    assert [e["kind"] for e in await entries(gql, acme)] == ["CREATED"]


async def test_pages_never_repeat_or_skip(gql: GraphQL) -> None:
    acme = await org(gql, "Acme")
    for n in range(7):
        await gql(UPDATE, {"id": acme, "input": {"tags": [f"t{n}"]}})
    everything = await entries(gql, acme, first=100)
    assert len(everything) == 8
    paged: list[dict[str, Any]] = []
    after = None
    while True:
        data = await gql(HISTORY, {"id": acme, "first": 3, "after": after})
        page = data["node"]["history"]
        paged += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [e["id"] for e in paged] == [e["id"] for e in everything]


async def test_a_snapshot_answers_the_fields_a_party_had_then(gql: GraphQL) -> None:
    acme = await org(gql, "Acme", tags=["lead"], emails=[{"address": "info@acme.example"}])
    first = await entries(gql, acme)
    created_at = first[0]["at"]
    changed = (await gql(UPDATE, {"id": acme, "input": {"name": "Acme Widgets", "emails": []}}))[
        "updateParty"
    ]
    await gql("mutation($id: ID!) { archiveParty(id: $id) { id } }", {"id": acme})
    then = (await gql(SNAPSHOT, {"id": acme, "at": created_at}))["party"]["snapshot"]
    assert then == {
        "displayName": "Acme",
        "name": "Acme",
        "version": 1,
        "updatedAt": created_at,
        "archivedAt": None,
        "tags": ["lead"],
        "emails": [{"address": "info@acme.example"}],
    }
    middle = (await gql(SNAPSHOT, {"id": acme, "at": changed["updatedAt"]}))["party"]["snapshot"]
    assert (middle["name"], middle["version"], middle["emails"]) == ("Acme Widgets", 2, [])
    assert middle["archivedAt"] is None
    now = (await gql(SNAPSHOT, {"id": acme, "at": "2999-01-01T00:00:00Z"}))["party"]["snapshot"]
    assert now["version"] == 3 and now["archivedAt"] is not None
    before = (await gql(SNAPSHOT, {"id": acme, "at": "2000-01-01T00:00:00Z"}))["party"]
    assert before == {"snapshot": None}


async def test_the_audit_log_filters_and_pages(gql: GraphQL) -> None:
    admin = await me(gql)
    acme = await org(gql, "Acme")
    eva = await contact(gql, "Eva", "Berger")
    await link(gql, "EMPLOYS", acme, eva)
    everything = (await gql(AUDIT, {"first": 100}))["auditLog"]["edges"]
    kinds = [e["node"]["kind"] for e in everything]
    assert kinds[:3] == ["LINKED", "CREATED", "CREATED"]
    about_eva = (await gql(AUDIT, {"subject": eva}))["auditLog"]["edges"]
    assert [e["node"]["kind"] for e in about_eva] == ["LINKED", "CREATED"]
    by_admin = (await gql(AUDIT, {"actor": admin, "first": 100}))["auditLog"]["edges"]
    assert len(by_admin) == 3  # the test's admin was made by the CLI path: no actor
    nobody = (await gql(AUDIT, {"actor": eva}))["auditLog"]["edges"]
    assert nobody == []
    linked_at = everything[0]["node"]
    window = await gql(
        AUDIT, {"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z", "first": 100}
    )
    assert window["auditLog"]["edges"] == []
    paged = await gql(AUDIT, {"first": 1, "after": everything[0]["cursor"]})
    assert paged["auditLog"]["edges"][0]["node"] == everything[1]["node"] != linked_at


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        (HISTORY, {"first": -1}, "BAD_USER_INPUT"),
        (HISTORY, {"first": 100_000}, "LIMIT_EXCEEDED"),
        (HISTORY, {"after": "bm90IGEgY3Vyc29y"}, "BAD_USER_INPUT"),
        (HISTORY, {"after": "MjAyNS0wMS0wMVQwMDowMDowMFofeA=="}, "BAD_USER_INPUT"),
        (
            AUDIT,
            {"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
            "BAD_USER_INPUT",
        ),
        (AUDIT, {"after": "\u0000\u00ff"}, "BAD_USER_INPUT"),
        (SNAPSHOT, {"at": "2025-01-01T00:00:00"}, "BAD_USER_INPUT"),
    ],
)
async def test_bad_input_is_refused_with_a_code(
    gql: GraphQL, query: str, variables: dict[str, Any], code: str
) -> None:
    acme = await org(gql, "Acme")
    error = await gql.error(query, {"id": acme, **variables})
    assert error["extensions"]["code"] == code, error


async def test_who_may_read_which_entries(graph_url: str, gql: GraphQL) -> None:
    store = open_store(graph_url)
    await store.start()
    try:
        editor_id, editor = await user_token(store, "ed", "editor")
        _, reader = await user_token(store, "rita", "reader")
    finally:
        await store.close()
    acme = await org(gql, "Acme")
    await gql(UPDATE, {"id": acme, "input": {"fiscal": {"vatNumber": "ATU13585627"}}})
    await gql(
        'mutation($u: ID!) { grantRole(userId: $u, role: "reader") { role } }', {"u": editor_id}
    )
    http: httpx.AsyncClient = gql.http

    async def as_(secret: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(secret)
        )
        return response.json()

    # fiscal values are hidden from a viewer who may not read them
    seen = await as_(reader, HISTORY, {"id": acme})
    update = seen["data"]["node"]["history"]["edges"][0]["node"]
    assert fields(update)["fiscal"] == (None, None)
    assert [f["redacted"] for f in update["fields"]] == [True]
    assert "ATU13585627" not in str(seen)
    shown = await entries(gql, acme)
    assert fields(shown[0])["fiscal"][1]["vatNumber"] == "ATU13585627"
    # roles and tokens: the user's own and admins', nobody else's
    kinds = {e["kind"] for e in await entries(gql, editor_id)}
    assert {"ROLE_GRANTED", "TOKEN_CREATED", "CREATED"} <= kinds
    own = await as_(editor, HISTORY, {"id": editor_id})
    assert "ROLE_GRANTED" in {e["node"]["kind"] for e in own["data"]["node"]["history"]["edges"]}
    other = await as_(reader, HISTORY, {"id": editor_id})
    assert {e["node"]["kind"] for e in other["data"]["node"]["history"]["edges"]} == {"CREATED"}
    # the audit log is for admins
    refused = await as_(editor, AUDIT, {})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused["data"] is None


async def test_history_on_fifty_parties_is_one_store_call(gql: GraphQL) -> None:
    for n in range(50):
        await org(gql, f"Unit {n}")
    response = await gql.raw(
        "{ parties(first: 50, filter: {kinds: [ORGANIZATION]}) { edges { node { "
        "history(first: 2) { edges { node { kind } } } "
        'snapshot(asOf: "2999-01-01T00:00:00Z") { version } } } } }',
        **{"X-Debug-Round-Trips": "1"},
    )
    body = response.json()
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["parties"]["edges"]]
    assert len(nodes) == 50
    assert all(n["history"]["edges"][0]["node"]["kind"] == "CREATED" for n in nodes)
    assert all(n["snapshot"]["version"] == 1 for n in nodes)
    assert body["extensions"]["roundTrips"] == 3  # the page, the histories, the snapshots


async def test_the_embedded_store_refuses_to_rewrite_its_history(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    async for http in serve(Settings(create=True, graph_url=url)):
        await org(GraphQL(http), "Acme")
    conn = sqlite3.connect(tmp_path / "graph.db")
    try:
        assert conn.execute("SELECT count(*) FROM history").fetchone()[0] >= 1
        for statement in (
            "UPDATE history SET actor_id = 'someone else'",
            "DELETE FROM history",
            "UPDATE history_subjects SET subject_id = 'x'",
            "DELETE FROM history_subjects",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="history entries cannot be"):
                conn.execute(statement)
    finally:
        conn.close()
