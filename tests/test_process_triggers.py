"""The triggers, conditions and assignees of processes beyond the first ones, through
GraphQL on both stores: a relationship created opens its process once (also when two
identical links race) and a relationship closes a step; a date reached opens steps at
the sweep once per party, process and date (also when two sweeps race), with the
offset's boundary as the clock; the parent's category as a condition; ROLE steps going
to the holder whose grant is scoped nearest; an unchanged attribute closing a step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import LINK, contact, link, org, record, user

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

CREATE = """mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }"""
RUNS = """query($id: ID!) { party(id: $id) { version processes { processId done steps {
  stepId state assigneeId doneById } } history(first: 30) { edges { node { kind } } } } }"""
UPDATE_PARTY = """mutation($id: ID!, $input: UpdatePartyInput!) {
  updateParty(id: $id, input: $input) { id version } }"""
SWEEP = "mutation { sweepProcesses }"
GRANT = """mutation($u: ID!, $role: String!, $s: ID) {
  grantRole(userId: $u, role: $role, scopeId: $s) { id } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gql(module_graph_url: str) -> AsyncIterator[GraphQL]:
    """One graph per backend for the module, no periodic sweep: each test writes
    categories of its own ids and sweeps when it says so."""
    settings = Settings(
        create=True, graph_url=module_graph_url, rate_limit=0, process_sweep_seconds=0
    )
    async for http in serve(settings):
        yield GraphQL(http)


def _process(trigger: dict[str, Any], **step: Any) -> dict[str, Any]:
    return {
        "id": "p",
        "name": "A process",
        "trigger": trigger,
        "steps": [
            {
                "id": "s",
                "title": "Do it",
                "dueDays": 7,
                "satisfiedBy": {"activityType": "CALL"},
                "assignee": {"rule": "RESPONSIBLE"},
                **step,
            }
        ],
    }


async def _category(gql: GraphQL, key: str, *processes: dict[str, Any], **more: Any) -> None:
    await gql(CREATE, {"input": {"id": key, "name": key, "processes": list(processes), **more}})


async def _runs(gql: GraphQL, party: str) -> dict[str, Any]:
    return (await gql(RUNS, {"id": party}))["party"]  # type: ignore[no-any-return]


async def test_a_relationship_created_opens_its_process_once_even_when_two_race(
    gql: GraphQL,
) -> None:
    """A client's new account manager (RESPONSIBLE_FOR at the client's end) is asked to
    call; the same link twice at once is one edge and one run; a link at the other end
    or of another type opens nothing."""
    trigger = {"on": "RELATIONSHIP_CREATED", "relationshipTypes": ["RESPONSIBLE_FOR"], "end": "TO"}
    await _category(gql, "rel-client", _process(trigger))
    manager = await user(gql, "rel-manager")
    client = await org(gql, "Rel Client", categoryId="rel-client")
    other = await org(gql, "Rel Other")
    await link(gql, "KNOWS", other, client)
    assert (await _runs(gql, client))["processes"] == []

    given = {"type": "RESPONSIBLE_FOR", "fromId": manager, "toId": client}
    answers = await asyncio.gather(*(gql.raw(LINK, {"input": given}) for _ in range(2)))
    codes = sorted(
        a.json()["errors"][0]["extensions"]["code"] if "errors" in a.json() else "OK"
        for a in answers
    )
    assert codes == ["CONFLICT", "OK"]
    [run] = (await _runs(gql, client))["processes"]
    assert run["steps"][0]["state"] == "OPEN" and run["steps"][0]["assigneeId"] == manager


async def test_a_relationship_of_the_type_and_role_asked_for_closes_the_step(
    gql: GraphQL,
) -> None:
    """A community of heirs asks for a member who is an heir: a MEMBER_OF edge with role
    heir at its end closes the step; a member of another role does not."""
    heir_needed = _process(
        {"on": "ENTERED"},
        satisfiedBy={"relationshipType": "MEMBER_OF", "end": "TO", "role": "heir"},
    )
    await _category(gql, "rel-heirs", heir_needed)
    estate = await org(gql, "Rel Estate", categoryId="rel-heirs")
    lawyer, heir = await contact(gql, "Lea", "Lawyer"), await contact(gql, "Hans", "Heir")
    await link(gql, "MEMBER_OF", lawyer, estate, role="lawyer")
    assert (await _runs(gql, estate))["processes"][0]["steps"][0]["state"] == "OPEN"
    await link(gql, "MEMBER_OF", heir, estate, role="heir")
    read = await _runs(gql, estate)
    [run] = read["processes"]
    assert run["done"] and run["steps"][0]["doneById"]
    kinds = [e["node"]["kind"] for e in read["history"]["edges"]]
    assert kinds.count("PROCESS_STEP_DONE") == 1


def _today(days: int = 0) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


async def test_a_date_reached_opens_steps_at_the_sweep_once_even_when_two_race(
    gql: GraphQL,
) -> None:
    """Renewal 30 days before a contract ends (offsetDays -30): a party whose end is 30
    days away is due today, one 31 days away is not; sweeping again, or twice at once,
    opens nothing more; a new end date reached is a new run."""
    renewal = _process(
        {"on": "DATE_REACHED", "attribute": "contract_end", "offsetDays": -30},
        assignee={"rule": "ROLE", "role": "fiscal"},
    )
    fields = [{"name": "contract_end", "type": "DATE"}]
    await _category(gql, "date-client", renewal, fields=fields)
    clerk = await user(gql, "date-clerk")
    await gql(GRANT, {"u": clerk, "role": "fiscal"})

    def ending(days: int) -> dict[str, Any]:
        return {
            "categoryId": "date-client",
            "attributes": [{"field": "contract_end", "value": _today(days)}],
        }

    due = await contact(gql, "Dora", "Due", **ending(30))
    later = await contact(gql, "Lars", "Later", **ending(31))
    assert (await gql(SWEEP))["sweepProcesses"] == 1
    [run] = (await _runs(gql, due))["processes"]
    assert run["steps"][0]["assigneeId"] == clerk
    assert (await _runs(gql, later))["processes"] == []
    assert (await gql(SWEEP))["sweepProcesses"] == 0

    await gql(UPDATE_PARTY, {"id": later, "input": ending(29)})
    await gql(UPDATE_PARTY, {"id": due, "input": ending(-400)})  # renewed, then ended
    both = await asyncio.gather(gql(SWEEP), gql(SWEEP))
    assert sorted(b["sweepProcesses"] for b in both) == [0, 2]
    assert len((await _runs(gql, later))["processes"]) == 1
    assert len((await _runs(gql, due))["processes"]) == 2


async def test_a_condition_on_the_parents_category_is_judged_as_of_the_write(
    gql: GraphQL,
) -> None:
    """Members of a branch office get a welcome step; a member elsewhere does not."""
    await _category(gql, "parent-office")
    welcome = _process(
        {"on": "ACTIVITY_RECORDED", "activityTypes": ["NOTE"]},
        satisfiedBy={"activityType": "MEETING"},
    )
    welcome["conditions"] = {"parentCategories": ["parent-office"]}
    await _category(gql, "parent-member", welcome)
    author = await user(gql, "parent-author")
    office, elsewhere = await org(gql, "Office", categoryId="parent-office"), await org(gql, "X")
    member = await contact(gql, "Mo", "Member", categoryId="parent-member")
    await link(gql, "MEMBER_OF", member, elsewhere)
    await record(gql, author, [member], "2025-03-01T10:00:00Z", type="NOTE")
    assert (await _runs(gql, member))["processes"] == []
    await link(gql, "MEMBER_OF", member, office)
    await record(gql, author, [member], "2025-03-02T10:00:00Z", type="NOTE")
    assert len((await _runs(gql, member))["processes"]) == 1


async def test_a_role_step_goes_to_the_holder_scoped_nearest_the_party(gql: GraphQL) -> None:
    """Of the holders whose grant reaches the party, the one scoped nearest it takes the
    step: the company's holder for a party in the company, the group's for one beside
    it; a role nobody holds leaves its step unassigned."""
    checked = _process({"on": "ENTERED"}, assignee={"rule": "ROLE", "role": "fiscal"})
    nobody = {**checked["steps"][0], "id": "t", "assignee": {"rule": "ROLE", "role": "editor"}}
    checked["steps"].append(nobody)
    await _category(gql, "role-client", checked)
    group, company = await org(gql, "Role Group"), await org(gql, "Role Company")
    await link(gql, "PART_OF", company, group)
    wide, near = await user(gql, "role-wide"), await user(gql, "role-near")
    await gql(GRANT, {"u": wide, "role": "fiscal", "s": group})
    await gql(GRANT, {"u": near, "role": "fiscal", "s": company})
    inside, beside = await contact(gql, "In", "Side"), await contact(gql, "Be", "Side")
    await link(gql, "MEMBER_OF", inside, company)
    await link(gql, "MEMBER_OF", beside, group)
    for party, holder in ((inside, near), (beside, wide)):
        await gql(UPDATE_PARTY, {"id": party, "input": {"categoryId": "role-client"}})
        [run] = (await _runs(gql, party))["processes"]
        assert [s["assigneeId"] for s in run["steps"]] == [holder, None]


async def test_an_attribute_set_to_the_value_it_holds_closes_the_step_asking_for_it(
    gql: GraphQL,
) -> None:
    confirm = _process(
        {"on": "ACTIVITY_RECORDED", "activityTypes": ["AGREEMENT"]},
        satisfiedBy={"attribute": "confirmed", "equals": True},
    )
    fields = [{"name": "confirmed", "type": "BOOLEAN"}]
    await _category(gql, "same-value", confirm, fields=fields)
    author = await user(gql, "same-author")
    yes = {"attributes": [{"field": "confirmed", "value": True}]}
    party = await contact(gql, "Sam", "Same", categoryId="same-value", **yes)
    await record(gql, author, [party], "2025-03-01T10:00:00Z", type="AGREEMENT")
    before = await _runs(gql, party)
    assert before["processes"][0]["steps"][0]["state"] == "OPEN"
    await gql(UPDATE_PARTY, {"id": party, "input": yes})
    after = await _runs(gql, party)
    assert after["processes"][0]["done"] and after["version"] == before["version"]


CREATE_CONTACT = """mutation($input: CreateContactInput!) { createContact(input: $input) {
  id processes { processId steps { stepId state assigneeId doneById } } } }"""
WORKLIST = """query($u: ID!) { worklist(assigneeId: $u) { edges { node { processId
  party { id } } } } }"""
COUNT = "{ parties(first: 1) { totalCount } }"


async def test_a_party_created_under_its_parent_starts_its_runs_in_the_same_write(
    gql: GraphQL,
) -> None:
    """Created with parentId, a party enters its category as a created one does: its run
    goes to the parent's account manager, found through the new edge, and is on their
    worklist; created with the CALL its step asks for, the step is done at once."""
    await _category(gql, "filed-client", _process({"on": "ENTERED"}))
    manager = await user(gql, "filed-manager")
    parent = await org(gql, "Filed Parent")
    await link(gql, "RESPONSIBLE_FOR", manager, parent)

    def client(last: str, **more: Any) -> dict[str, Any]:
        given = {"lastName": last, "parentId": parent, "categoryId": "filed-client"}
        return {"input": {**given, **more}}

    made = (await gql(CREATE_CONTACT, client("Open")))["createContact"]
    [run] = made["processes"]
    assert run["steps"] == [
        {"stepId": "s", "state": "OPEN", "assigneeId": manager, "doneById": None}
    ]
    listed = (await gql(WORKLIST, {"u": manager}))["worklist"]["edges"]
    assert [e["node"]["party"]["id"] for e in listed] == [made["id"]]

    called = client("Called", activities=[{"type": "CALL", "summary": "welcome call"}])
    done = (await gql(CREATE_CONTACT, called))["createContact"]
    [step] = done["processes"][0]["steps"]
    assert step["state"] == "DONE" and step["doneById"]
    kinds = [e["node"]["kind"] for e in (await _runs(gql, done["id"]))["history"]["edges"]]
    assert kinds.count("PROCESS_STEP_OPENED") == kinds.count("PROCESS_STEP_DONE") == 1
    listed = (await gql(WORKLIST, {"u": manager}))["worklist"]["edges"]
    assert [e["node"]["party"]["id"] for e in listed] == [made["id"]]


async def test_a_create_with_an_activity_its_own_step_blocks_writes_nothing(
    gql: GraphQL,
) -> None:
    """An AGREEMENT in the create's input, while the step the create opens blocks
    AGREEMENTs: FAILED_PRECONDITION naming the step, and no party, edge or run."""
    await _category(gql, "filed-blocked", _process({"on": "ENTERED"}, blocks=["AGREEMENT"]))
    parent = await org(gql, "Filed Blocked Parent")
    signed = {"type": "AGREEMENT", "summary": "signed at once"}
    given = {"lastName": "Zeroblock", "parentId": parent, "categoryId": "filed-blocked"}
    before = await gql(COUNT)
    refused = await gql.error(CREATE_CONTACT, {"input": {**given, "activities": [signed]}})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION", refused
    assert "p/s" in refused["message"]
    assert await gql(COUNT) == before
    parent_read = await _runs(gql, parent)
    assert parent_read["processes"] == [] and parent_read["version"] == 1


async def test_a_child_created_with_parent_id_triggers_the_parents_relationship_process(
    gql: GraphQL,
) -> None:
    """The parent's RELATIONSHIP_CREATED process for MEMBER_OF at its TO end starts when a
    member is created under it; one for the FROM end does not."""
    joined = {"on": "RELATIONSHIP_CREATED", "relationshipTypes": ["MEMBER_OF"], "end": "TO"}
    elsewhere = {**_process({**joined, "end": "FROM"}), "id": "q"}
    await _category(gql, "filed-club", _process(joined), elsewhere)
    club = await org(gql, "Filed Club", categoryId="filed-club")
    await contact(gql, "New", "Member", parentId=club)
    assert [r["processId"] for r in (await _runs(gql, club))["processes"]] == ["p"]
