"""Merging duplicates through GraphQL, on both stores: every kind of edge and activity
moves, duplicates collapse into the earliest, tombstones answer with the survivor, a dry
run equals the real merge, cycles and bad requests are refused with nothing written, and
a merge racing writes to the merged party leaves no edge on the tombstone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from client import GraphQL
from factories import contact, link, org, record, user

MERGE = """mutation($s: ID!, $m: [ID!]!, $c: [FieldChoiceInput!], $dry: Boolean!) {
  mergeParties(survivorId: $s, mergedIds: $m, fieldChoices: $c, dryRun: $dry) {
    dryRun survivor { id displayName version mergedFrom emails { address } }
    merged { id archivedAt mergedInto version }
    movedRelationships { id type fromId toId since until role }
    removedRelationships { relationship { id type fromId toId } keptId }
    activityIds grantIds } }"""
STATE = """{ parties(filter: {includeArchived: true}, first: 100) {
  edges { node { id version archivedAt mergedInto mergedFrom displayName
    relationships(includeEnded: true) { id type fromId toId since until }
    timeline { edges { node { id subjectIds } } } } } } }"""


async def merge(gql: GraphQL, survivor: str, merged: list[str], **more: Any) -> dict[str, Any]:
    variables = {
        "s": survivor,
        "m": merged,
        "c": more.get("choices"),
        "dry": more.get("dry", False),
    }
    return (await gql(MERGE, variables))["mergeParties"]


async def state(gql: GraphQL) -> dict[str, Any]:
    data = await gql(STATE)
    return {edge["node"]["id"]: edge["node"] for edge in data["parties"]["edges"]}


async def duplicates(gql: GraphQL) -> dict[str, str]:
    """Acme entered twice, with edges and activities on both."""
    ids = {
        "holding": await org(gql, "Holding"),
        "acme": await org(gql, "Acme Widgets GmbH"),
        "dupe": await org(gql, "ACME Widgets", emails=[{"address": "info@acme.example"}]),
        "eva": await contact(gql, "Eva", "Berger"),
        "max": await contact(gql, "Max", "Huber"),
        "anna": await user(gql, "anna"),
    }
    await link(gql, "PART_OF", ids["acme"], ids["holding"], since="2019-01-01T00:00:00Z")
    await link(gql, "PART_OF", ids["dupe"], ids["holding"], since="2017-01-01T00:00:00Z")
    await link(gql, "EMPLOYS", ids["acme"], ids["eva"], since="2020-01-01T00:00:00Z")
    await link(gql, "EMPLOYS", ids["dupe"], ids["max"], since="2021-01-01T00:00:00Z")
    await link(gql, "RESPONSIBLE_FOR", ids["anna"], ids["dupe"])
    await link(gql, "KNOWS", ids["dupe"], ids["acme"])  # joins the two: goes with the merge
    ids["call"] = (
        await record(gql, ids["anna"], [ids["dupe"], ids["eva"]], "2024-05-01T10:00:00Z")
    )["id"]
    ids["both"] = (
        await record(gql, ids["anna"], [ids["acme"], ids["dupe"]], "2024-06-01T10:00:00Z")
    )["id"]
    return ids


async def test_a_merge_moves_every_edge_and_activity(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    done = await merge(
        gql, ids["acme"], [ids["dupe"]], choices=[{"field": "emails", "fromId": ids["dupe"]}]
    )
    assert done["dryRun"] is False
    survivor = done["survivor"]
    assert survivor["mergedFrom"] == [ids["dupe"]]
    assert survivor["emails"] == [{"address": "info@acme.example"}]
    assert survivor["displayName"] == "Acme Widgets GmbH"
    [tombstone] = done["merged"]
    assert tombstone["mergedInto"] == ids["acme"] and tombstone["archivedAt"] is not None
    after = await state(gql)
    acme = after[ids["acme"]]
    edges = {(r["type"], r["fromId"], r["toId"]): r for r in acme["relationships"]}
    # the two PART_OF edges collapse into the earliest, from 2017
    part_of = [r for r in acme["relationships"] if r["type"] == "PART_OF"]
    assert len(part_of) == 1 and part_of[0]["since"].startswith("2017-01-01")
    assert ("EMPLOYS", ids["acme"], ids["max"]) in edges  # moved
    assert ("EMPLOYS", ids["acme"], ids["eva"]) in edges  # its own
    assert ("RESPONSIBLE_FOR", ids["anna"], ids["acme"]) in edges  # responsibilities follow
    assert not any(r["type"] == "KNOWS" for r in acme["relationships"])  # no self-edge
    assert after[ids["dupe"]]["relationships"] == []
    removed = {r["relationship"]["type"]: r["keptId"] for r in done["removedRelationships"]}
    assert removed["KNOWS"] is None
    assert removed["PART_OF"] == part_of[0]["id"]
    # activities keep their ids and name the survivor, each once
    timeline = {e["node"]["id"]: e["node"]["subjectIds"] for e in acme["timeline"]["edges"]}
    assert timeline == {ids["call"]: [ids["acme"], ids["eva"]], ids["both"]: [ids["acme"]]}
    assert sorted(done["activityIds"]) == sorted([ids["call"], ids["both"]])
    # the holding's roll-up still holds both, once
    rollup = await gql(
        "query($id: ID!) { party(id: $id) { timeline(includeDescendants: true) "
        "{ edges { node { id } } } } }",
        {"id": ids["holding"]},
    )
    assert len(rollup["party"]["timeline"]["edges"]) == 2


async def test_a_merged_id_answers_the_survivor(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    await merge(gql, ids["acme"], [ids["dupe"]])
    data = await gql(
        "query($m: ID!) { node(id: $m) { id } party(id: $m) { id displayName mergedFrom } }",
        {"m": ids["dupe"]},
    )
    assert data["node"] == {"id": ids["acme"]}
    assert data["party"]["id"] == ids["acme"] and data["party"]["mergedFrom"] == [ids["dupe"]]
    later = await org(gql, "Acme AG")
    await merge(gql, later, [ids["acme"]])  # a chain: dupe > acme > later
    chained = await gql("query($m: ID!) { node(id: $m) { id } }", {"m": ids["dupe"]})
    assert chained["node"] == {"id": later}


async def test_the_merge_is_in_every_involved_history(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    await merge(gql, ids["acme"], [ids["dupe"]])
    query = """query($id: ID!) { party(id: $id) { history(first: 2) { edges { node {
      kind subjectIds fields { field before after } } } } } }"""
    latest = (await gql(query, {"id": ids["acme"]}))["party"]["history"]["edges"]
    # the survivor's entry, and the tombstone's, which names it too
    assert {(e["node"]["kind"], tuple(e["node"]["subjectIds"])) for e in latest} == {
        ("MERGED", (ids["acme"], ids["dupe"])),
        ("MERGED", (ids["dupe"], ids["acme"])),
    }
    full = await gql(
        "query($id: ID!) { party(id: $id) { history(first: 100) { edges { node { kind "
        "subjectIds } } } } }",
        {"id": ids["acme"]},
    )
    # the history follows: the survivor's holds the merged party's, each entry once
    seen = [(e["node"]["kind"], e["node"]["subjectIds"]) for e in full["party"]["history"]["edges"]]
    assert ("CREATED", [ids["dupe"]]) in seen and ("CREATED", [ids["acme"]]) in seen
    assert len(seen) == len({(k, tuple(s)) for k, s in seen})
    tomb = await gql(
        "{ parties(filter: {includeArchived: true}, first: 100) { edges { node "
        "{ id history(first: 1) { edges { node { kind fields { field before after } } } } } } } }"
    )
    node = next(e["node"] for e in tomb["parties"]["edges"] if e["node"]["id"] == ids["dupe"])
    entry = node["history"]["edges"][0]["node"]
    assert entry["kind"] == "MERGED"
    fields = {f["field"]: (f["before"], f["after"]) for f in entry["fields"]}
    assert fields["mergedInto"] == (None, ids["acme"])
    before, _ = fields["relationships"]
    assert {r["type"] for r in before} == {"PART_OF", "EMPLOYS", "RESPONSIBLE_FOR", "KNOWS"}
    assert {a["id"] for a in fields["activities"][0]} == {ids["call"], ids["both"]}


async def test_a_dry_run_answers_what_the_merge_then_does(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    before = await state(gql)
    dry = await merge(gql, ids["acme"], [ids["dupe"]], dry=True)
    assert dry["dryRun"] is True
    assert await state(gql) == before  # nothing written
    real = await merge(gql, ids["acme"], [ids["dupe"]])

    def same(answer: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in answer.items() if k not in ("dryRun", "merged", "survivor")}
        kept["merged"] = [
            {k: v for k, v in m.items() if k != "archivedAt"} for m in answer["merged"]
        ]
        kept["survivor"] = {k: v for k, v in answer["survivor"].items() if k != "mergedFrom"}
        kept["activityIds"] = sorted(kept["activityIds"])
        return kept

    assert same(dry) == same(real)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("cycle", "CONFLICT"),
        ("kinds", "BAD_USER_INPUT"),
        ("itself", "BAD_USER_INPUT"),
        ("twice", "BAD_USER_INPUT"),
        ("none", "BAD_USER_INPUT"),
        ("too many", "LIMIT_EXCEEDED"),
        ("archived", "BAD_USER_INPUT"),
        ("unknown", "NOT_FOUND"),
        ("field", "BAD_USER_INPUT"),
        ("field elsewhere", "BAD_USER_INPUT"),
        ("field of another kind", "BAD_USER_INPUT"),
        ("category", "BAD_USER_INPUT"),
    ],
)
async def test_a_refused_merge_writes_nothing(gql: GraphQL, case: str, code: str) -> None:
    ids = await duplicates(gql)
    survivor, merged, choices = ids["acme"], [ids["dupe"]], None
    if case == "cycle":  # dupe is below a unit that is below acme: folded, a loop
        unit = await org(gql, "Unit")
        await link(gql, "PART_OF", unit, ids["acme"])
        await link(gql, "PART_OF", ids["dupe"], unit)
    elif case == "kinds":
        merged = [ids["eva"]]
    elif case == "itself":
        merged = [ids["acme"]]
    elif case == "twice":
        merged = [ids["dupe"], ids["dupe"]]
    elif case == "none":
        merged = []
    elif case == "too many":
        merged = [f"x{n}" for n in range(21)]
    elif case == "archived":
        await gql("mutation($id: ID!) { archiveParty(id: $id) { id } }", {"id": ids["dupe"]})
    elif case == "unknown":
        merged = ["no-such-party"]
    elif case == "field":
        choices = [{"field": "username", "fromId": ids["dupe"]}]
    elif case == "field elsewhere":
        choices = [{"field": "emails", "fromId": ids["eva"]}]
    elif case == "field of another kind":
        choices = [{"field": "firstName", "fromId": ids["dupe"]}]
    elif case == "category":  # an association's category, for a legal person
        await gql(
            "mutation($id: ID!) { updateParty(id: $id, input: {legalForm: ASSOCIATION, "
            'categoryId: "association"}) { id } }',
            {"id": ids["dupe"]},
        )
        choices = [{"field": "categoryId", "fromId": ids["dupe"]}]
    before = await state(gql)
    variables = {"s": survivor, "m": merged, "c": choices, "dry": False}
    error = await gql.error(MERGE, variables)
    assert error["extensions"]["code"] == code, error
    assert await state(gql) == before


async def test_codes_of_a_merged_party_pass_to_the_survivor(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    await gql(
        'mutation($id: ID!) { updateParty(id: $id, input: {fiscal: {vatNumber: "ATU13585627"}})'
        " { id } }",
        {"id": ids["dupe"]},
    )
    done = await merge(
        gql, ids["acme"], [ids["dupe"]], choices=[{"field": "fiscal", "fromId": ids["dupe"]}]
    )
    found = await gql(
        "query($id: ID!) { party(id: $id) { fiscal { vatNumber } } }", {"id": ids["acme"]}
    )
    assert done["survivor"]["id"] == ids["acme"]
    assert found["party"]["fiscal"] == {"vatNumber": "ATU13585627"}


async def test_grants_scoped_to_a_merged_party_follow_it(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    granted = await gql(
        'mutation($u: ID!, $s: ID!) { grantRole(userId: $u, role: "reader", scopeId: $s) { id } }',
        {"u": ids["anna"], "s": ids["dupe"]},
    )
    done = await merge(gql, ids["acme"], [ids["dupe"]])
    assert done["grantIds"] == [granted["grantRole"]["id"]]
    held = await gql(
        "query($u: ID!) { node(id: $u) { ... on User { grants { scopeId } } } }", {"u": ids["anna"]}
    )
    assert held["node"]["grants"] == [{"scopeId": ids["acme"]}]


async def test_a_merge_racing_writes_leaves_nothing_on_the_tombstone(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    extra = [await contact(gql, "Extra", str(n)) for n in range(6)]
    link_doc = (
        "mutation($a: ID!, $b: ID!) { link(input: {type: KNOWS, fromId: $a, toId: $b}) { id } }"
    )
    answers = await asyncio.gather(
        *(gql.raw(link_doc, {"a": ids["dupe"], "b": e}) for e in extra[:3]),
        gql.raw(MERGE, {"s": ids["acme"], "m": [ids["dupe"]], "c": None, "dry": False}),
        *(gql.raw(link_doc, {"a": ids["dupe"], "b": e}) for e in extra[3:]),
    )
    bodies = [a.json() for a in answers]
    assert "errors" not in bodies[3], bodies[3]
    for body in bodies[:3] + bodies[4:]:
        if "errors" in body:  # after the merge: the tombstone is archived
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    after = await state(gql)
    assert after[ids["dupe"]]["relationships"] == []
    linked = sum("errors" not in b for b in bodies[:3] + bodies[4:])
    knows = [r for r in after[ids["acme"]]["relationships"] if r["type"] == "KNOWS"]
    assert len(knows) == linked


UNMERGE = """mutation($id: ID!) { unmergeParty(id: $id) { party { id archivedAt mergedInto }
  survivorId relationships { id } activityIds grantIds } }"""


def _shape(found: dict[str, Any]) -> dict[str, Any]:
    """What a merge and its unmerge must leave as it was: ends, dates, subjects."""
    return {
        party_id: (
            node["archivedAt"],
            node["mergedInto"],
            node["mergedFrom"],
            sorted(
                (r["id"], r["type"], r["fromId"], r["toId"], r["since"], r["until"])
                for r in node["relationships"]
            ),
            sorted(
                (e["node"]["id"], tuple(e["node"]["subjectIds"])) for e in node["timeline"]["edges"]
            ),
        )
        for party_id, node in found.items()
    }


async def test_unmerge_restores_what_the_merged_party_brought(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    granted = await gql(
        'mutation($u: ID!, $s: ID!) { grantRole(userId: $u, role: "reader", scopeId: $s) { id } }',
        {"u": ids["anna"], "s": ids["dupe"]},
    )
    before = _shape(await state(gql))
    await merge(gql, ids["acme"], [ids["dupe"]])
    undone = (await gql(UNMERGE, {"id": ids["dupe"]}))["unmergeParty"]
    assert undone["party"] == {"id": ids["dupe"], "archivedAt": None, "mergedInto": None}
    assert undone["survivorId"] == ids["acme"]
    assert undone["grantIds"] == [granted["grantRole"]["id"]]
    assert _shape(await state(gql)) == before
    held = await gql(
        "query($u: ID!) { node(id: $u) { ... on User { grants { scopeId } } } }", {"u": ids["anna"]}
    )
    assert held["node"]["grants"] == [{"scopeId": ids["dupe"]}]
    kinds = await gql(
        "query($id: ID!) { node(id: $id) { ... on Party { history(first: 2) "
        "{ edges { node { kind } } } } } }",
        {"id": ids["dupe"]},
    )
    assert [e["node"]["kind"] for e in kinds["node"]["history"]["edges"]] == ["UNMERGED", "MERGED"]


async def test_what_changed_after_the_merge_stays_with_the_survivor(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    done = await merge(gql, ids["acme"], [ids["dupe"]])
    employs = next(r for r in done["movedRelationships"] if r["type"] == "EMPLOYS")
    await gql("mutation($id: ID!) { unlink(id: $id) { id } }", {"id": employs["id"]})
    await gql(UNMERGE, {"id": ids["dupe"]})
    after = await state(gql)
    ended = next(r for r in after[ids["acme"]]["relationships"] if r["id"] == employs["id"])
    assert ended["fromId"] == ids["acme"] and ended["until"] is not None
    assert ("PART_OF", ids["dupe"], ids["holding"]) in {
        (r["type"], r["fromId"], r["toId"]) for r in after[ids["dupe"]]["relationships"]
    }


@pytest.mark.parametrize(("which", "code"), [("live", "BAD_USER_INPUT"), ("unknown", "NOT_FOUND")])
async def test_unmerging_what_was_not_merged_is_refused(
    gql: GraphQL, which: str, code: str
) -> None:
    ids = await duplicates(gql)
    target = ids["dupe"] if which == "live" else "no-such-party"
    before = await state(gql)
    error = await gql.error(UNMERGE, {"id": target})
    assert error["extensions"]["code"] == code, error
    assert await state(gql) == before


async def test_users_merge_with_their_roles_tokens_and_activities(gql: GraphQL) -> None:
    ids = await duplicates(gql)
    twin = await user(gql, "anna.b")
    role = await gql(
        'mutation($u: ID!) { grantRole(userId: $u, role: "editor") { id } }', {"u": twin}
    )
    token = await gql(
        'mutation($u: ID!) { createApiToken(name: "laptop", userId: $u) { token { id } } }',
        {"u": twin},
    )
    wrote = await record(gql, twin, [ids["eva"]], "2024-07-01T10:00:00Z")
    done = await merge(gql, ids["anna"], [twin])
    assert role["grantRole"]["id"] in done["grantIds"]
    held = await gql(
        "query($u: ID!) { node(id: $u) { ... on User { grants { role } } } "
        "apiTokens(userId: $u) { id } }",
        {"u": ids["anna"]},
    )
    assert {"role": "editor"} in held["node"]["grants"]
    assert token["createApiToken"]["token"]["id"] in {t["id"] for t in held["apiTokens"]}
    by = await gql(
        "query($a: ID!) { node(id: $a) { ... on Activity { authorId } } }", {"a": wrote["id"]}
    )
    assert by["node"]["authorId"] == ids["anna"]
    await gql(UNMERGE, {"id": twin})
    back = await gql(
        "query($a: ID!) { node(id: $a) { ... on Activity { authorId } } }", {"a": wrote["id"]}
    )
    assert back["node"]["authorId"] == twin
    again = await gql("query($u: ID!) { apiTokens(userId: $u) { id } }", {"u": twin})
    assert [t["id"] for t in again["apiTokens"]] == [token["createApiToken"]["token"]["id"]]


PLANS = """query($task: ID!, $deal: ID!) {
  task: node(id: $task) { ... on Activity { version assigneeIds attendees { partyId response } } }
  deal: node(id: $deal) { ... on Opportunity { version organization { id } owner { id }
    contacts { id } } } }"""


async def test_planned_work_and_deals_follow_merged_people_and_come_back_on_unmerge(
    gql: GraphQL,
) -> None:
    ids = {
        "acme": await org(gql, "Acme"),
        "dupe": await org(gql, "ACME"),
        "eva": await contact(gql, "Eva", "Berger"),
        "eve": await contact(gql, "Eva", "Berger"),
        "ann": await user(gql, "ann"),
        "ann2": await user(gql, "ann.two"),
    }
    made = await gql(
        'mutation { createPipeline(name: "Direct", stages: [{name: "Open", order: 1, '
        "probability: 30, outcome: OPEN}]) { id stages { id } } }"
    )
    pipeline = made["createPipeline"]
    task = await gql(
        "mutation($i: ScheduleActivityInput!) { scheduleActivity(input: $i) { id } }",
        {
            "i": {
                "type": "TASK",
                "summary": "Send the offer",
                "subjectIds": [ids["acme"]],
                "dueAt": "2031-01-05T09:00:00Z",
                "assigneeIds": [ids["ann2"], ids["ann"]],
                "attendees": [
                    {"partyId": ids["eve"], "response": "ACCEPTED"},
                    {"partyId": ids["eva"]},
                ],
            }
        },
    )
    deal = await gql(
        "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }",
        {
            "i": {
                "title": "Fleet",
                "organizationId": ids["dupe"],
                "ownerId": ids["ann2"],
                "contactIds": [ids["eve"], ids["eva"]],
                "pipelineId": pipeline["id"],
                "stageId": pipeline["stages"][0]["id"],
                "amount": "10",
                "currency": "EUR",
            }
        },
    )
    read = {"task": task["scheduleActivity"]["id"], "deal": deal["createOpportunity"]["id"]}
    before = await gql(PLANS, read)
    for survivor, merged in (("ann", "ann2"), ("eva", "eve"), ("acme", "dupe")):
        await merge(gql, ids[survivor], [ids[merged]])

    after = await gql(PLANS, read)
    assert after["task"] == {
        "version": 3,  # one more for each merge that named its people
        "assigneeIds": [ids["ann"]],
        "attendees": [{"partyId": ids["eva"], "response": "ACCEPTED"}],  # the first answer
    }
    assert after["deal"] == {
        "version": 4,
        "organization": {"id": ids["acme"]},
        "owner": {"id": ids["ann"]},
        "contacts": [{"id": ids["eva"]}],
    }
    tasks = await gql(
        "query($u: ID!) { tasks(assigneeId: $u) { edges { node { id } } } }", {"u": ids["ann"]}
    )
    assert tasks["tasks"]["edges"] == [{"node": {"id": read["task"]}}]
    owned = await gql(
        "query($u: [ID!]) { opportunities(filter: {ownerIds: $u}) { edges { node { id } } } }",
        {"u": [ids["ann"]]},
    )
    assert owned["opportunities"]["edges"] == [{"node": {"id": read["deal"]}}]

    for merged in ("dupe", "eve", "ann2"):
        await gql(UNMERGE, {"id": ids[merged]})
    back = await gql(PLANS, read)
    assert {k: back["task"][k] for k in ("assigneeIds", "attendees")} == {
        k: before["task"][k] for k in ("assigneeIds", "attendees")
    }
    assert {k: back["deal"][k] for k in ("organization", "owner", "contacts")} == {
        k: before["deal"][k] for k in ("organization", "owner", "contacts")
    }
