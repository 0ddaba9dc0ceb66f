"""Activities linked to opportunities, on both stores through GraphQL: recorded, planned
and relinked with an opportunityId; the deal's timeline newest first, paged, filtered and
counted; its organization added as a subject when none of the deal's parties is one;
bad links refused with nothing written; a scoped editor links only deals it may change,
and cannot tell those outside from missing ones; a page of deals reads its timelines in
calls that do not grow with them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import contact, org, user
from test_opportunities import PIPELINE, SignedIn
from test_round_trips import round_trips

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

ACTIVITY = "id type subjectIds opportunity { id title }"
RECORD = f"""mutation($input: RecordActivityInput!) {{
  recordActivity(input: $input) {{ {ACTIVITY} }} }}"""
SCHEDULE = f"""mutation($input: ScheduleActivityInput!) {{
  scheduleActivity(input: $input) {{ {ACTIVITY} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: UpdateActivityInput!) {{
  updateActivity(id: $id, input: $input) {{ {ACTIVITY} version }} }}"""
TIMELINE = """query($id: ID!, $first: Int, $after: String, $types: [ActivityType!],
  $since: DateTime, $until: DateTime, $search: String) { node(id: $id) {
  ... on Opportunity { timeline(first: $first, after: $after, types: $types, since: $since,
  until: $until, search: $search) { totalCount countsByType { type count }
  pageInfo { hasNextPage endCursor } edges { node { id summary source { id } } } } } } }"""
DEAL_IDS = """query($id: ID!) { node(id: $id) { ... on Opportunity { timeline(first: 2) {
  pageInfo { hasNextPage endCursor } edges { node { id } } } } } }"""
PARTY_TIMELINE = """query($id: ID!) { party(id: $id) { timeline(first: 20) {
  edges { node { id } } } } }"""
CREATE = """mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
  id } }"""


@dataclass
class World:
    gql: GraphQL
    ids: dict[str, str]
    won: str  # the pipeline's WON stage


async def _deal(world: World, title: str, organization: str, **more: Any) -> str:
    deal = {
        "title": title,
        "organizationId": world.ids[organization],
        "ownerId": world.ids["ann"],
        "pipelineId": world.ids["pipeline"],
        "stageId": world.ids["qualify"],
        "amount": "100",
        "currency": "EUR",
        **more,
    }
    return str((await world.gql(CREATE, {"input": deal}))["createOpportunity"]["id"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_graph_url: str) -> AsyncIterator[World]:
    """Acme (north below it) and Globex, a seller, a buyer at Acme, a pipeline; an open
    deal with Acme naming the buyer, one with North, and one with Globex already won."""
    settings = Settings(create=True, graph_url=module_graph_url, rate_limit=0)
    async for http in serve(settings):
        gql = GraphQL(http)
        ids = {
            "acme": await org(gql, "Acme"),
            "north": await org(gql, "Acme North"),
            "globex": await org(gql, "Globex"),
            "ann": await user(gql, "ann.deals"),
            "bob": await user(gql, "bob.deals"),
            "eva": await contact(gql, "Eva", "Buyer"),
        }
        await gql(
            "mutation($a: ID!, $b: ID!) { link(input: {type: PART_OF, fromId: $a, toId: $b}) "
            "{ id } }",
            {"a": ids["north"], "b": ids["acme"]},
        )
        made = (await gql(PIPELINE, {"name": "Deals"}))["createPipeline"]
        stages = {s["name"]: s["id"] for s in made["stages"]}
        ids |= {"pipeline": made["id"], "qualify": stages["Qualify"]}
        world = World(gql, ids, stages["Won"])
        ids["fleet"] = await _deal(world, "Fleet", "acme", contactIds=[ids["eva"]])
        ids["north_deal"] = await _deal(world, "North", "north")
        ids["closed"] = await _deal(world, "Closed", "globex", stageId=world.won)
        yield world


def _record(deal: str | None, subjects: list[str], at: str, **more: Any) -> dict[str, Any]:
    return {
        "input": {
            "type": "CALL",
            "summary": "call",
            "subjectIds": subjects,
            "occurredAt": at,
            "opportunityId": deal,
            **more,
        }
    }


def _task(deal: str | None, subjects: list[str], **more: Any) -> dict[str, Any]:
    task = {"type": "TASK", "summary": "follow up", "subjectIds": subjects}
    return {"input": {**task, "dueAt": "2031-02-01T09:00:00Z", "opportunityId": deal, **more}}


async def _timeline(world: World, deal: str, **arguments: Any) -> dict[str, Any]:
    found = await world.gql(TIMELINE, {"id": world.ids[deal], **arguments})
    return dict(found["node"]["timeline"])


def _ids(timeline: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in timeline["edges"]]


async def test_a_deals_timeline_holds_what_was_linked_to_it_newest_first(world: World) -> None:
    gql, ids = world.gql, world.ids
    fleet = ids["fleet"]
    # no subject: the deal's organization is the subject
    call = (await gql(RECORD, _record(fleet, [], "2030-01-01T10:00:00Z")))["recordActivity"]
    assert call["subjectIds"] == [ids["acme"]]
    assert call["opportunity"] == {"id": fleet, "title": "Fleet"}
    # a contact of the deal is one of its parties: no subject added
    note = await gql(RECORD, _record(fleet, [ids["eva"]], "2030-01-02T10:00:00Z", type="NOTE"))
    assert note["recordActivity"]["subjectIds"] == [ids["eva"]]
    # a party apart from the deal: its organization added after the subjects given
    mail = await gql(
        RECORD, _record(fleet, [ids["globex"]], "2030-01-03T10:00:00Z", summary="offer mailed")
    )
    assert mail["recordActivity"]["subjectIds"] == [ids["globex"], ids["acme"]]
    task = (await gql(SCHEDULE, _task(fleet, [ids["acme"]])))["scheduleActivity"]
    assert task["subjectIds"] == [ids["acme"]] and task["opportunity"]["id"] == fleet
    apart = await gql(RECORD, _record(None, [ids["acme"]], "2030-01-05T10:00:00Z"))
    assert apart["recordActivity"]["opportunity"] is None

    newest = [task["id"], mail["recordActivity"]["id"], note["recordActivity"]["id"], call["id"]]
    first = await _timeline(world, "fleet", first=2)
    assert _ids(first) == newest[:2] and first["pageInfo"]["hasNextPage"]
    assert first["edges"][0]["node"]["source"] is None  # not a roll-up
    # asked for ids alone (read by reference): the same page, the same end cursor
    narrow = (await gql(DEAL_IDS, {"id": fleet}))["node"]["timeline"]
    assert narrow == {
        "pageInfo": first["pageInfo"],
        "edges": [{"node": {"id": i}} for i in newest[:2]],
    }
    assert first["totalCount"] == 4
    assert first["countsByType"] == [
        {"type": "CALL", "count": 2},
        {"type": "NOTE", "count": 1},
        {"type": "TASK", "count": 1},
    ]
    rest = await _timeline(world, "fleet", first=2, after=first["pageInfo"]["endCursor"])
    assert _ids(rest) == newest[2:] and not rest["pageInfo"]["hasNextPage"]
    calls = await _timeline(world, "fleet", types=["CALL"], until="2030-01-03T00:00:00Z")
    assert _ids(calls) == [call["id"]] and calls["totalCount"] == 1
    searched = await _timeline(world, "fleet", search="offer", since="2030-01-02T00:00:00Z")
    assert _ids(searched) == [mail["recordActivity"]["id"]]
    assert _ids(await _timeline(world, "north_deal")) == []

    # the party timelines hold their subjects' activities as before, linked or not
    acme = (await gql(PARTY_TIMELINE, {"id": ids["acme"]}))["party"]["timeline"]
    assert set(_ids(acme)) == {call["id"], mail["recordActivity"]["id"], task["id"]} | {
        apart["recordActivity"]["id"]
    }


async def test_planned_work_is_linked_relinked_and_unlinked_in_its_history(
    world: World,
) -> None:
    gql, ids = world.gql, world.ids
    planned = (await gql(SCHEDULE, _task(None, [ids["north"]])))["scheduleActivity"]
    linked = await gql(UPDATE, {"id": planned["id"], "input": {"opportunityId": ids["north_deal"]}})
    assert linked["updateActivity"]["opportunity"]["id"] == ids["north_deal"]
    assert linked["updateActivity"]["subjectIds"] == [ids["north"]]  # subjects as recorded
    assert _ids(await _timeline(world, "north_deal")) == [planned["id"]]
    history = await gql(
        "query($id: ID!) { node(id: $id) { ... on Activity { history(first: 1) { edges { node { "
        "kind fields { field before after } } } } } } }",
        {"id": planned["id"]},
    )
    [change] = history["node"]["history"]["edges"]
    assert change["node"]["kind"] == "ACTIVITY_UPDATED"
    assert {"field": "opportunityId", "before": None, "after": ids["north_deal"]} in change["node"][
        "fields"
    ]
    unlinked = await gql(UPDATE, {"id": planned["id"], "input": {"opportunityId": None}})
    assert unlinked["updateActivity"]["opportunity"] is None
    assert (await _timeline(world, "north_deal"))["totalCount"] == 0


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unknown id", "NOT_FOUND"),
        ("a party's id", "NOT_FOUND"),
        ("planned work for a closed deal", "BAD_USER_INPUT"),
        ("relinked to a closed deal", "BAD_USER_INPUT"),
        ("a bad cursor", "BAD_USER_INPUT"),
        ("until before since", "BAD_USER_INPUT"),
    ],
)
async def test_a_bad_link_or_timeline_is_refused_with_nothing_written(
    world: World, case: str, code: str
) -> None:
    gql, ids = world.gql, world.ids
    planned = (await gql(SCHEDULE, _task(None, [ids["globex"]])))["scheduleActivity"]
    before = (await gql(PARTY_TIMELINE, {"id": ids["globex"]}))["party"]["timeline"]
    asked: dict[str, tuple[str, dict[str, Any]]] = {
        "unknown id": (RECORD, _record("no-such-deal", [ids["acme"]], "2030-02-01T10:00:00Z")),
        "a party's id": (SCHEDULE, _task(ids["acme"], [ids["acme"]])),
        "planned work for a closed deal": (SCHEDULE, _task(ids["closed"], [ids["globex"]])),
        "relinked to a closed deal": (
            UPDATE,
            {"id": planned["id"], "input": {"opportunityId": ids["closed"]}},
        ),
        "a bad cursor": (TIMELINE, {"id": ids["fleet"], "after": "not-a-cursor"}),
        "until before since": (
            TIMELINE,
            {"id": ids["fleet"], "since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"},
        ),
    }
    error = await gql.error(*asked[case])
    assert error["extensions"]["code"] == code, error
    after = (await gql(PARTY_TIMELINE, {"id": ids["globex"]}))["party"]["timeline"]
    assert after == before
    assert (await _timeline(world, "closed"))["totalCount"] == 0
    stored = await gql(
        "query($id: ID!) { node(id: $id) { ... on Activity { version opportunity { id } } } }",
        {"id": planned["id"]},
    )
    assert stored["node"] == {"version": 1, "opportunity": None}


async def test_a_closed_deal_takes_what_happened(world: World) -> None:
    gql, ids = world.gql, world.ids
    signed = await gql(RECORD, _record(ids["closed"], [], "2030-03-01T10:00:00Z", summary="signed"))
    assert signed["recordActivity"]["subjectIds"] == [ids["globex"]]
    assert _ids(await _timeline(world, "closed")) == [signed["recordActivity"]["id"]]


async def test_a_scoped_editor_links_only_deals_it_may_change(world: World) -> None:
    gql, ids = world.gql, world.ids
    made = await gql(
        'mutation($u: ID!, $s: ID!) { grantRole(userId: $u, role: "editor", scopeId: $s) { id } '
        'createApiToken(name: "north", userId: $u) { secret } }',
        {"u": ids["bob"], "s": ids["north"]},
    )
    bob = SignedIn(gql.http, made["createApiToken"]["secret"])
    mine = await bob(RECORD, _record(ids["north_deal"], [], "2030-04-01T10:00:00Z"))
    assert mine["recordActivity"]["subjectIds"] == [ids["north"]]
    answers = []
    for deal in (ids["fleet"], "no-such-deal"):  # acme's deal is outside bob's scope
        error = await bob.error(SCHEDULE, _task(deal, [ids["north"]]))
        answers.append((error["extensions"]["code"], error["message"].replace(deal, "ID")))
    assert answers[0] == answers[1] == ("NOT_FOUND", "opportunity ID does not exist")
    # an admin links north's work to acme's deal: bob sees the work, not the deal
    theirs = await gql(RECORD, _record(ids["fleet"], [ids["north"]], "2030-04-02T10:00:00Z"))
    shown = await bob(
        "query($id: ID!) { node(id: $id) { ... on Activity { subjectIds opportunity { id } } } }",
        {"id": theirs["recordActivity"]["id"]},
    )
    assert shown["node"]["opportunity"] is None
    hidden = await bob(TIMELINE, {"id": ids["fleet"]})
    assert hidden["node"] is None
    assert _ids((await bob(TIMELINE, {"id": ids["north_deal"]}))["node"]["timeline"]) == [
        mine["recordActivity"]["id"]
    ]


async def test_deals_read_their_timelines_in_calls_that_do_not_grow_with_them(
    world: World,
) -> None:
    """The deals and their pipelines, then all their timelines in one call, then the
    deals those activities are linked to and their pipelines: five calls, however many
    deals a page holds."""
    counted = []
    for first in (1, 3):
        calls, data = await round_trips(
            world.gql,
            f"{{ opportunities(first: {first}) {{ edges {{ node {{ id "
            "timeline(first: 2) { totalCount edges { node { id opportunity { id } } } } "
            "} } } }",
        )
        deals = data["opportunities"]["edges"]
        assert len(deals) == first
        counted.append(calls)
    assert any(d["node"]["timeline"]["edges"] for d in deals)
    assert counted[1] == counted[0] <= 5, counted
