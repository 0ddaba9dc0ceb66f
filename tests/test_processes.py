"""Processes through GraphQL on both stores: a definition stored with its category,
versioned with it, and refused naming the path of what is wrong; runs opened by their
triggers exactly once (also under two concurrent writes), assigned to the nearest
responsible user, closed by an activity or an attribute, overdue at a chosen instant,
blocking with FAILED_PRECONDITION and nothing written, keeping the version they started
under; the worklist, paged and filtered, and its bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import RECORD, contact, link, org, record, user
from test_round_trips import round_trips

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

CREATE = """mutation($input: CreateCategoryInput!) {
  createCategory(input: $input) { id version processes } }"""
UPDATE = """mutation($id: ID!, $input: UpdateCategoryInput!, $v: Int) {
  updateCategory(id: $id, input: $input, expectedVersion: $v) { version processes } }"""
READ = """query($id: ID!) { category(id: $id) { version processes
  history(first: 5) { edges { node { kind fields { field } } } } } }"""


def _withdrawal(**more: Any) -> dict[str, Any]:
    """The seeds' case: an AGREEMENT with a natural person asks its responsible user to
    confirm the withdrawal notice within 14 days, and blocks further agreements."""
    return {
        "id": "withdrawal",
        "name": "Withdrawal notice",
        "trigger": {"on": "ACTIVITY_RECORDED", "activityTypes": ["AGREEMENT"]},
        "conditions": {
            "legalForms": ["NATURAL_PERSON"],
            "attributes": [{"field": "notice_confirmed", "equals": False}],
        },
        "steps": [
            {
                "id": "confirm-notice",
                "title": "Confirm the withdrawal notice",
                "dueDays": 14,
                "satisfiedBy": {"attribute": "notice_confirmed", "equals": True},
                "assignee": {"rule": "RESPONSIBLE"},
                "blocks": ["AGREEMENT"],
            }
        ],
        **more,
    }


def _category(key: str, processes: list[Any]) -> dict[str, Any]:
    return {
        "id": key,
        "name": key.replace("-", " ").title(),
        "legalForms": ["NATURAL_PERSON"],
        "fields": [{"name": "notice_confirmed", "type": "BOOLEAN"}],
        "processes": processes,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gql(module_graph_url: str) -> AsyncIterator[GraphQL]:
    """One graph per backend for the module: each test writes categories of its own ids."""
    async for http in serve(Settings(create=True, graph_url=module_graph_url, rate_limit=0)):
        yield GraphQL(http)


async def test_a_process_is_stored_with_its_category_and_versioned_with_it(
    gql: GraphQL,
) -> None:
    made = (await gql(CREATE, {"input": _category("b2c-client", [_withdrawal()])}))[
        "createCategory"
    ]
    assert made["version"] == 1
    assert made["processes"][0]["steps"][0]["dueDays"] == 14
    assert made["processes"][0]["trigger"] == {
        "on": "ACTIVITY_RECORDED",
        "activityTypes": ["AGREEMENT"],
    }

    longer = _withdrawal()
    longer["steps"][0]["dueDays"] = 30
    changed = await gql(UPDATE, {"id": "b2c-client", "input": {"processes": [longer]}, "v": 1})
    assert changed["updateCategory"]["version"] == 2
    again = await gql(UPDATE, {"id": "b2c-client", "input": {"processes": [longer]}})
    assert again["updateCategory"]["version"] == 2  # the same document: no new version

    read = (await gql(READ, {"id": "b2c-client"}))["category"]
    assert read["processes"][0]["steps"][0]["dueDays"] == 30
    updates = [
        e["node"] for e in read["history"]["edges"] if e["node"]["kind"] == "CATEGORY_UPDATED"
    ]
    assert [f["field"] for f in updates[0]["fields"]] == ["processes"]

    cleared = await gql(UPDATE, {"id": "b2c-client", "input": {"processes": None}})
    assert cleared["updateCategory"] == {"version": 3, "processes": []}


def _step(**change: Any) -> dict[str, Any]:
    process = _withdrawal()
    process["steps"][0].update(change)
    return process


BAD: dict[str, tuple[Any, str]] = {
    "not a list": ({"id": "withdrawal"}, "processes"),
    "unknown key": ([_withdrawal(when="always")], "processes[0]"),
    "unknown trigger": (
        [_withdrawal(trigger={"on": "SOMETIMES"})],
        "processes[0].trigger.on",
    ),
    "trigger without types": (
        [_withdrawal(trigger={"on": "ACTIVITY_RECORDED"})],
        "processes[0].trigger.activityTypes",
    ),
    "bad legal form": (
        [_withdrawal(conditions={"legalForms": ["PIRATE"]})],
        "processes[0].conditions.legalForms[0]",
    ),
    "condition on a field it lacks": (
        [_withdrawal(conditions={"attributes": [{"field": "vip", "exists": True}]})],
        "processes[0].conditions.attributes[0].field",
    ),
    "condition testing nothing": (
        [_withdrawal(conditions={"attributes": [{"field": "notice_confirmed"}]})],
        "processes[0].conditions.attributes[0]",
    ),
    "process id twice": ([_withdrawal(), _withdrawal()], "processes.id"),
    "bad process id": ([_withdrawal(id="Not An Id")], "processes[0].id"),
    "no steps": ([_withdrawal(steps=[])], "processes[0].steps"),
    "due not a number": ([_step(dueDays="14")], "processes[0].steps[0].dueDays"),
    "due too far": ([_step(dueDays=4000)], "processes[0].steps[0].dueDays"),
    "nothing satisfies": ([_step(satisfiedBy={})], "processes[0].steps[0].satisfiedBy"),
    "tag without a type": (
        [_step(satisfiedBy={"tag": "withdrawal-notice", "attribute": "notice_confirmed"})],
        "processes[0].steps[0].satisfiedBy.tag",
    ),
    "attribute it lacks": (
        [_step(satisfiedBy={"attribute": "signed"})],
        "processes[0].steps[0].satisfiedBy.attribute",
    ),
    "unknown assignee rule": (
        [_step(assignee={"rule": "WHOEVER"})],
        "processes[0].steps[0].assignee.rule",
    ),
    "user without a user": (
        [_step(assignee={"rule": "USER"})],
        "processes[0].steps[0].assignee.userId",
    ),
    "blocks a type there is not": (
        [_step(blocks=["LUNCH"])],
        "processes[0].steps[0].blocks[0]",
    ),
    "empty title": ([_step(title=" ")], "processes[0].steps[0].title"),
    "unknown relationship type": (
        [_withdrawal(trigger={"on": "RELATIONSHIP_CREATED", "relationshipTypes": ["LOVES"]})],
        "processes[0].trigger.relationshipTypes[0]",
    ),
    "relationship trigger without its end": (
        [_withdrawal(trigger={"on": "RELATIONSHIP_CREATED", "relationshipTypes": ["KNOWS"]})],
        "processes[0].trigger.end",
    ),
    "unknown end": (
        [_withdrawal(trigger={"on": "RELATIONSHIP_CREATED", "end": "MIDDLE"})],
        "processes[0].trigger.end",
    ),
    "a key of another trigger": (
        [_withdrawal(trigger={"on": "ENTERED", "activityTypes": ["CALL"]})],
        "processes[0].trigger.activityTypes",
    ),
    "date trigger on a non-date field": (
        [_withdrawal(trigger={"on": "DATE_REACHED", "attribute": "notice_confirmed"})],
        "processes[0].trigger.attribute",
    ),
    "date trigger without a field": (
        [_withdrawal(trigger={"on": "DATE_REACHED"})],
        "processes[0].trigger.attribute",
    ),
    "offset too far": (
        [_withdrawal(trigger={"on": "DATE_REACHED", "attribute": "x", "offsetDays": -5000})],
        "processes[0].trigger.offsetDays",
    ),
    "unknown parent category": (
        [_withdrawal(conditions={"parentCategories": ["no-such-category"]})],
        "processes[0].conditions.parentCategories[0]",
    ),
    "unknown role": (
        [_step(assignee={"rule": "ROLE", "role": "wizard"})],
        "processes[0].steps[0].assignee.role",
    ),
    "role rule without a role": (
        [_step(assignee={"rule": "ROLE"})],
        "processes[0].steps[0].assignee.role",
    ),
    "a role with another rule": (
        [_step(assignee={"rule": "RESPONSIBLE", "role": "editor"})],
        "processes[0].steps[0].assignee.role",
    ),
    "relationship requirement of a type there is not": (
        [_step(satisfiedBy={"relationshipType": "LOVES"})],
        "processes[0].steps[0].satisfiedBy.relationshipType",
    ),
    "an end without a relationship": (
        [_step(satisfiedBy={"activityType": "CALL", "end": "TO"})],
        "processes[0].steps[0].satisfiedBy.end",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
async def test_a_bad_process_is_refused_naming_its_path(gql: GraphQL, case: str) -> None:
    document, field = BAD[case]
    error = await gql.error(CREATE, {"input": _category("bad-process", document)})
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == field, error
    assert (await gql(READ, {"id": "bad-process"}))["category"] is None


async def test_more_processes_than_a_category_may_have_are_refused(gql: GraphQL) -> None:
    many = [_withdrawal(id=f"p{i}") for i in range(21)]
    error = await gql.error(CREATE, {"input": _category("too-many", many)})
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error


PROCESSES = """query($id: ID!, $at: DateTime) { party(id: $id) {
  processes(at: $at) { processId categoryVersion done steps {
    stepId state overdue dueAt doneAt doneById assigneeId blocks } }
  timeline(first: 20) { edges { node { type } } }
  history(first: 20) { edges { node { kind } } } } }"""
UPDATE_PARTY = """mutation($id: ID!, $input: UpdatePartyInput!) {
  updateParty(id: $id, input: $input) { id categoryId } }"""


def _flow(key: str, **step: Any) -> dict[str, Any]:
    """A category whose AGREEMENTs with natural persons open the withdrawal step."""
    process = _withdrawal(conditions={"legalForms": ["NATURAL_PERSON"]})
    process["steps"][0].update(step)
    return {**_category(key, [process]), "legalForms": []}


async def _client_of(gql: GraphQL, category: str, manager: str, **more: Any) -> str:
    party = await contact(gql, "Mia", category, categoryId=category, **more)
    await link(gql, "RESPONSIBLE_FOR", manager, party, since="2020-01-01T00:00:00Z")
    return party


async def _agreement(gql: GraphQL, author: str, party: str, **more: Any) -> dict[str, Any]:
    return await record(
        gql, author, [party], "2025-03-01T10:00:00Z", type="AGREEMENT", summary="signed", **more
    )


async def _runs(gql: GraphQL, party: str, at: str | None = None) -> dict[str, Any]:
    return (await gql(PROCESSES, {"id": party, "at": at}))["party"]  # type: ignore[no-any-return]


async def test_an_agreement_opens_the_step_blocks_the_next_one_and_an_attribute_closes_it(
    gql: GraphQL,
) -> None:
    await gql(CREATE, {"input": _flow("flow-attribute")})
    manager = await user(gql, "flow-manager")
    party = await _client_of(gql, "flow-attribute", manager)

    await _agreement(gql, manager, party)
    read = await _runs(gql, party)
    [run] = read["processes"]
    assert run["processId"] == "withdrawal" and run["categoryVersion"] == 1
    [step] = run["steps"]
    assert step["state"] == "OPEN" and step["assigneeId"] == manager
    assert step["blocks"] == ["AGREEMENT"] and not step["overdue"]
    assert [e["node"]["kind"] for e in read["history"]["edges"]].count("PROCESS_STEP_OPENED") == 1

    refused = await gql.error(RECORD, {"input": _activity(manager, party, "AGREEMENT")})
    assert refused["extensions"] == {
        "code": "FAILED_PRECONDITION",
        "step": refused["extensions"]["step"],
    }
    assert "withdrawal/confirm-notice" in refused["message"]
    after = await _runs(gql, party)
    assert len(after["timeline"]["edges"]) == 1 and len(after["processes"]) == 1

    # the clock: overdue after its 14 days, not before
    late = (await _runs(gql, party, "2099-01-01T00:00:00Z"))["processes"][0]["steps"][0]
    assert late["overdue"]

    await gql(
        UPDATE_PARTY,
        {"id": party, "input": {"attributes": [{"field": "notice_confirmed", "value": True}]}},
    )
    done = await _runs(gql, party, "2099-01-01T00:00:00Z")
    [step] = done["processes"][0]["steps"]
    assert step["state"] == "DONE" and step["doneAt"] and not step["overdue"]
    assert done["processes"][0]["done"]
    assert "PROCESS_STEP_DONE" in [e["node"]["kind"] for e in done["history"]["edges"]]
    await _agreement(gql, manager, party)  # no longer blocked: a new run
    assert len((await _runs(gql, party))["processes"]) == 2


def _activity(author: str, party: str, kind: str, summary: str = "signed") -> dict[str, Any]:
    return {
        "type": kind,
        "summary": summary,
        "authorId": author,
        "subjectIds": [party],
        "occurredAt": "2025-03-02T10:00:00Z",
    }


async def test_a_process_changed_while_runs_are_open_leaves_them_as_they_started(
    gql: GraphQL,
) -> None:
    await gql(CREATE, {"input": _flow("flow-versions")})
    manager = await user(gql, "version-manager")
    party = await _client_of(gql, "flow-versions", manager)
    await _agreement(gql, manager, party)

    # version 2 blocks nothing and closes on a NOTE instead
    await gql(
        UPDATE,
        {
            "id": "flow-versions",
            "input": {
                "processes": [
                    _flow("x", blocks=[], satisfiedBy={"activityType": "NOTE"})["processes"][0]
                ]
            },
            "v": 1,
        },
    )
    refused = await gql.error(RECORD, {"input": _activity(manager, party, "AGREEMENT")})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"  # the run's version 1 blocks
    await gql(RECORD, {"input": _activity(manager, party, "NOTE")})
    [run] = (await _runs(gql, party))["processes"]
    assert run["categoryVersion"] == 1 and run["steps"][0]["state"] == "OPEN"

    other = await _client_of(gql, "flow-versions", manager)
    await _agreement(gql, manager, other)
    await _agreement(gql, manager, other)  # version 2 blocks nothing: two runs
    runs = (await _runs(gql, other))["processes"]
    assert [r["categoryVersion"] for r in runs] == [2, 2]
    await gql(RECORD, {"input": _activity(manager, other, "NOTE")})
    assert all(r["done"] for r in (await _runs(gql, other))["processes"])


async def test_entering_a_category_starts_its_process_once_created_in_it_or_moved_there(
    gql: GraphQL,
) -> None:
    welcome = _withdrawal(id="welcome", trigger={"on": "ENTERED"}, conditions={})
    welcome["steps"][0].update(blocks=[], satisfiedBy={"activityType": "CALL"})
    await gql(CREATE, {"input": {**_category("flow-entered", [welcome]), "legalForms": []}})
    await gql(CREATE, {"input": {**_category("flow-other", []), "legalForms": []}})
    manager = await user(gql, "entered-manager")

    created = await contact(gql, "Ina", "Entered", categoryId="flow-entered")
    moved = await contact(gql, "Ole", "Moved", categoryId="flow-other")
    assert (await _runs(gql, moved))["processes"] == []
    await gql(UPDATE_PARTY, {"id": moved, "input": {"categoryId": "flow-entered"}})
    await gql(UPDATE_PARTY, {"id": moved, "input": {"tags": ["still-here"]}})  # not entering
    for party in (created, moved):
        [run] = (await _runs(gql, party))["processes"]
        assert run["processId"] == "welcome" and run["steps"][0]["assigneeId"] is None
    await record(gql, manager, [moved], "2025-03-01T10:00:00Z")  # a CALL closes it
    assert (await _runs(gql, moved))["processes"][0]["done"]


async def test_two_moves_into_a_category_at_once_start_its_process_once(gql: GraphQL) -> None:
    """Both writes succeed; the one that finds the party already moved is not entering."""
    welcome = _withdrawal(id="welcome", trigger={"on": "ENTERED"}, conditions={})
    welcome["steps"][0].update(blocks=[], satisfiedBy={"activityType": "CALL"})
    await gql(CREATE, {"input": {**_category("race-entered", [welcome]), "legalForms": []}})
    await gql(CREATE, {"input": {**_category("race-before", []), "legalForms": []}})
    party = await contact(gql, "Uwe", "Racing", categoryId="race-before")
    moves = [{"categoryId": "race-entered", "tags": [tag]} for tag in ("first", "second")]
    answers = await asyncio.gather(
        *(gql(UPDATE_PARTY, {"id": party, "input": move}) for move in moves)
    )
    assert [a["updateParty"]["categoryId"] for a in answers] == ["race-entered"] * 2
    read = await _runs(gql, party)
    assert [r["processId"] for r in read["processes"]] == ["welcome"]
    kinds = [e["node"]["kind"] for e in read["history"]["edges"]]
    assert kinds.count("PROCESS_STEP_OPENED") == 1, kinds


async def test_two_agreements_at_once_open_one_run_and_the_other_is_refused(
    gql: GraphQL,
) -> None:
    await gql(CREATE, {"input": _flow("flow-race")})
    manager = await user(gql, "race-manager")
    party = await _client_of(gql, "flow-race", manager)
    body = {"query": RECORD, "variables": {"input": _activity(manager, party, "AGREEMENT")}}
    answers = await asyncio.gather(*(gql.raw(RECORD, body["variables"]) for _ in range(2)))
    codes = sorted(
        a.json()["errors"][0]["extensions"]["code"] if "errors" in a.json() else "OK"
        for a in answers
    )
    assert codes == ["FAILED_PRECONDITION", "OK"]
    read = await _runs(gql, party)
    assert len(read["processes"]) == 1 and len(read["timeline"]["edges"]) == 1


async def test_the_runs_of_many_parties_cost_the_calls_of_one(gql: GraphQL) -> None:
    await gql(CREATE, {"input": _flow("flow-budget")})
    manager = await user(gql, "budget-manager")
    parties = [await _client_of(gql, "flow-budget", manager) for _ in range(4)]
    for party in parties:
        await _agreement(gql, manager, party)
    counted = []
    for few in (parties[:1], parties):
        aliases = " ".join(
            f'p{i}: party(id: "{p}") {{ processes {{ steps {{ state assignee {{ id }} }} }} }}'
            for i, p in enumerate(few)
        )
        calls, data = await round_trips(gql, f"{{ {aliases} }}")
        assert all(
            d["processes"][0]["steps"][0]["assignee"] == {"id": manager} for d in data.values()
        )
        counted.append(calls)
    # the parties, their steps, then the assignees at once
    assert counted == [3, 3]


WORKLIST = """query($u: ID!, $overdue: Boolean, $c: [ID!], $first: Int, $after: String,
  $at: DateTime) { worklist(assigneeId: $u, overdue: $overdue, categoryIds: $c,
  first: $first, after: $after, at: $at) { pageInfo { hasNextPage endCursor }
  edges { node { title overdue categoryId processId party { id } } } } }"""


async def test_a_worklist_pages_a_users_open_steps_across_parties(gql: GraphQL) -> None:
    await gql(CREATE, {"input": _flow("flow-worklist")})
    manager = await user(gql, "worklist-manager")
    parties = [await _client_of(gql, "flow-worklist", manager) for _ in range(3)]
    for party in parties:
        await _agreement(gql, manager, party)
    await record(gql, manager, [parties[0]], "2025-03-05T10:00:00Z", type="NOTE")

    def page(**more: Any) -> dict[str, Any]:
        return {"u": manager, **more}

    first = (await gql(WORKLIST, page(first=2)))["worklist"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    rest = (await gql(WORKLIST, page(first=2, after=first["pageInfo"]["endCursor"])))["worklist"]
    assert not rest["pageInfo"]["hasNextPage"]
    shown = [e["node"]["party"]["id"] for e in first["edges"] + rest["edges"]]
    assert sorted(shown) == sorted(parties)

    assert (await gql(WORKLIST, page(overdue=True)))["worklist"]["edges"] == []
    late = (await gql(WORKLIST, page(overdue=True, at="2099-01-01T00:00:00Z")))["worklist"]
    assert len(late["edges"]) == 3 and all(e["node"]["overdue"] for e in late["edges"])
    assert (await gql(WORKLIST, page(c=["flow-attribute"])))["worklist"]["edges"] == []
    mine = (await gql(WORKLIST, page(c=["flow-worklist"])))["worklist"]["edges"]
    assert {e["node"]["categoryId"] for e in mine} == {"flow-worklist"}

    await gql(
        UPDATE_PARTY,
        {"id": parties[1], "input": {"attributes": [{"field": "notice_confirmed", "value": True}]}},
    )
    left = (await gql(WORKLIST, page()))["worklist"]["edges"]
    assert sorted(e["node"]["party"]["id"] for e in left) == sorted([parties[0], parties[2]])


BAD_WORKLIST = {
    "not a user": ({"u": "party-that-is-not-there"}, "NOT_FOUND"),
    "bad cursor": ({"after": "nonsense"}, "BAD_USER_INPUT"),
    "too many categories": ({"c": [f"c{i}" for i in range(51)]}, "LIMIT_EXCEEDED"),
    "page too large": ({"first": 100_000}, "LIMIT_EXCEEDED"),
}


@pytest.mark.parametrize("case", BAD_WORKLIST, ids=list(BAD_WORKLIST))
async def test_a_bad_worklist_request_is_refused(gql: GraphQL, case: str) -> None:
    viewer = (await gql("{ viewer { id } }"))["viewer"]["id"]
    given, code = BAD_WORKLIST[case]
    error = await gql.error(WORKLIST, {"u": viewer, **given})
    assert error["extensions"]["code"] == code, error


async def test_a_step_goes_to_the_responsible_user_found_above_the_party(gql: GraphQL) -> None:
    await gql(CREATE, {"input": _flow("flow-above")})
    near, far = await user(gql, "above-near"), await user(gql, "above-far")
    company = await org(gql, "Above Holding")
    unit = await org(gql, "Above Unit")
    await link(gql, "PART_OF", unit, company, since="2020-01-01T00:00:00Z")
    await link(gql, "RESPONSIBLE_FOR", far, company, since="2020-01-01T00:00:00Z")
    party = await contact(gql, "Uma", "Above", categoryId="flow-above")
    await link(gql, "MEMBER_OF", party, unit, since="2020-01-01T00:00:00Z")

    await _agreement(gql, far, party)
    assert (await _runs(gql, party))["processes"][0]["steps"][0]["assigneeId"] == far
    await link(gql, "RESPONSIBLE_FOR", near, unit, since="2020-01-01T00:00:00Z")
    await gql(
        UPDATE_PARTY,
        {"id": party, "input": {"attributes": [{"field": "notice_confirmed", "value": True}]}},
    )
    await _agreement(gql, far, party)  # the first run is done; the nearest now: the unit's
    runs = (await _runs(gql, party))["processes"]
    assert [r["steps"][0]["assigneeId"] for r in runs] == [far, near]
