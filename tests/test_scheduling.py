"""Planned work: scheduling, changing against a version, completing and cancelling, each
in the activity's history; bad plans refused with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from client import GraphQL
from factories import contact, org, user

FIELDS = """id type status version summary body occurredAt startsAt endsAt timeZone dueAt
location recurrence assigneeIds assignees { username } subjectIds
attendees { partyId response party { displayName } }"""
SCHEDULE = f"""
mutation($input: ScheduleActivityInput!) {{ scheduleActivity(input: $input) {{ {FIELDS} }} }}"""
UPDATE = f"""
mutation($id: ID!, $input: UpdateActivityInput!, $v: Int) {{
  updateActivity(id: $id, input: $input, expectedVersion: $v) {{ {FIELDS} }}
}}"""
COMPLETE = f"""mutation($id: ID!, $v: Int) {{
  completeActivity(id: $id, expectedVersion: $v) {{ {FIELDS} }}
}}"""
CANCEL = f"mutation($id: ID!) {{ cancelActivity(id: $id) {{ {FIELDS} }} }}"
HISTORY = """
query($id: ID!) { node(id: $id) { ... on Activity {
  history { edges { node { kind fields { field before after } } } }
} } }"""
TIMELINE = "query($id: ID!) { party(id: $id) { timeline { edges { node { id status } } } } }"


async def schedule(gql: GraphQL, **input: Any) -> dict[str, Any]:
    return (await gql(SCHEDULE, {"input": {"type": "MEETING", "summary": "Review", **input}}))[
        "scheduleActivity"
    ]


async def test_schedule_update_complete_each_in_the_history(gql: GraphQL) -> None:
    client = await org(gql, "Acme")
    jana = await contact(gql, "Jana", "Petersen")
    anna = await user(gql, "anna")
    made = await schedule(
        gql,
        subjectIds=[client],
        startsAt="2030-03-04T09:00:00+01:00",
        endsAt="2030-03-04T10:00:00+01:00",
        timeZone="Europe/Berlin",
        location="Acme, room 2",
        assigneeIds=[anna],
        attendees=[{"partyId": jana, "response": "TENTATIVE"}, {"partyId": anna}],
    )
    assert made["status"] == "PLANNED" and made["version"] == 1
    assert made["startsAt"] == made["occurredAt"] == "2030-03-04T08:00:00.000000+00:00"
    assert made["endsAt"] == "2030-03-04T09:00:00.000000+00:00"
    assert (made["timeZone"], made["location"]) == ("Europe/Berlin", "Acme, room 2")
    assert made["assignees"] == [{"username": "anna"}]
    assert made["attendees"] == [
        {"partyId": jana, "response": "TENTATIVE", "party": {"displayName": "Jana Petersen"}},
        {"partyId": anna, "response": "NEEDS_ACTION", "party": {"displayName": "Anna"}},
    ]

    moved = (
        await gql(
            UPDATE,
            {
                "id": made["id"],
                "v": 1,
                "input": {"startsAt": "2030-03-05T09:00:00+01:00", "endsAt": None, "body": "b"},
            },
        )
    )["updateActivity"]
    assert moved["version"] == 2 and moved["endsAt"] is None and moved["body"] == "b"
    assert moved["occurredAt"] == "2030-03-05T08:00:00.000000+00:00"
    assert moved["location"] == "Acme, room 2"  # left out: kept

    stale = await gql.error(UPDATE, {"id": made["id"], "v": 1, "input": {"summary": "lost"}})
    assert stale["extensions"]["code"] == "CONFLICT"
    done = (await gql(COMPLETE, {"id": made["id"], "v": 2}))["completeActivity"]
    assert (done["status"], done["version"], done["summary"]) == ("DONE", 3, "Review")
    assert done["occurredAt"] == moved["startsAt"]  # an appointment happened at its start

    again = await gql.error(COMPLETE, {"id": made["id"]})
    assert again["extensions"]["code"] == "BAD_USER_INPUT"
    history = (await gql(HISTORY, {"id": made["id"]}))["node"]["history"]["edges"]
    kinds = [e["node"]["kind"] for e in history]
    assert kinds == ["ACTIVITY_COMPLETED", "ACTIVITY_UPDATED", "ACTIVITY_SCHEDULED"]
    updated = {f["field"]: f for f in history[1]["node"]["fields"]}
    assert updated["endsAt"]["before"] == "2030-03-04T09:00:00.000000+00:00"
    assert updated["endsAt"]["after"] is None
    assert updated["version"]["before"] == 1 and updated["version"]["after"] == 2
    assert "location" not in updated
    timeline = (await gql(TIMELINE, {"id": client}))["party"]["timeline"]["edges"]
    assert [e["node"]["status"] for e in timeline] == ["DONE"]


async def test_a_cancelled_task_is_kept_and_cannot_be_completed(gql: GraphQL) -> None:
    client = await org(gql, "Acme")
    task = await schedule(gql, type="TASK", subjectIds=[client], dueAt="2030-01-10T17:00:00Z")
    assert (task["dueAt"], task["startsAt"]) == ("2030-01-10T17:00:00.000000+00:00", None)
    cancelled = (await gql(CANCEL, {"id": task["id"]}))["cancelActivity"]
    assert (cancelled["status"], cancelled["version"]) == ("CANCELLED", 2)
    refused = await gql.error(COMPLETE, {"id": task["id"]})
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert "CANCELLED" in refused["message"]
    changed = await gql.error(UPDATE, {"id": task["id"], "input": {"summary": "x"}})
    assert changed["extensions"]["code"] == "BAD_USER_INPUT"
    timeline = (await gql(TIMELINE, {"id": client}))["party"]["timeline"]["edges"]
    assert [e["node"]["status"] for e in timeline] == ["CANCELLED"]


@pytest.mark.parametrize(
    ("plan", "says"),
    [
        ({"startsAt": "2030-01-01T10:00:00Z", "endsAt": "2030-01-01T09:00:00Z"}, "endsAt"),
        ({"startsAt": "2030-01-01T10:00:00Z", "timeZone": "Mars/Olympus"}, "IANA"),
        ({"startsAt": "2030-01-01T10:00:00Z", "recurrence": "FREQ=SOMETIMES"}, "DAILY"),
        ({"startsAt": "2030-01-01T10:00:00Z", "recurrence": "FREQ=HOURLY"}, "DAILY"),
        ({"startsAt": "2030-01-01T10:00:00Z", "recurrence": "FREQ=DAILY;COUNT=x"}, "RRULE"),
        ({"startsAt": "2030-01-01T10:00:00Z", "recurrence": "FREQ=DAILY;COUNT=5000"}, "1000"),
        # rules that would never occur: dateutil would step to the year 9999
        ({"startsAt": "2030-01-01T10:00:00Z", "recurrence": "FREQ=DAILY;BYMONTH=13"}, "month"),
        (
            {
                "startsAt": "2030-01-01T10:00:00Z",
                "recurrence": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
            },
            "none of its months",
        ),
        ({"startsAt": "2030-01-01T10:00:00Z", "recurrence": "FREQ=DAILY;INTERVAL=0"}, "INTERVAL"),
        ({"dueAt": "2030-01-01T10:00:00Z", "recurrence": "FREQ=DAILY"}, "startsAt"),
        ({"location": "nowhere"}, "needs a time"),
        ({"dueAt": "2030-01-01T10:00:00Z", "assigneeIds": ["CONTACT"]}, "not a USER"),
    ],
)
async def test_bad_plans_are_refused_with_nothing_written(
    gql: GraphQL, plan: dict[str, Any], says: str
) -> None:
    client = await org(gql, "Acme")
    if plan.get("assigneeIds") == ["CONTACT"]:
        plan = {**plan, "assigneeIds": [await contact(gql, "Jana", "Petersen")]}
    error = await gql.error(
        SCHEDULE, {"input": {"type": "MEETING", "summary": "x", "subjectIds": [client], **plan}}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert says in error["message"]
    assert (await gql(TIMELINE, {"id": client}))["party"]["timeline"]["edges"] == []


MERGE = """
mutation($s: ID!, $m: [ID!]!) { mergeParties(survivorId: $s, mergedIds: $m) { survivor { id } } }"""
AGENDA = """
query($id: ID!) { party(id: $id) { ... on User {
  agenda(from: "2030-01-01T00:00:00Z", to: "2030-02-01T00:00:00Z", first: 40) {
    edges { node { activity { summary authorId } } }
  }
} } }"""


async def test_a_merged_users_plans_move_to_the_survivors_agenda(gql: GraphQL) -> None:
    client = await org(gql, "Acme")
    ann, twin = await user(gql, "ann"), await user(gql, "ann.twin")
    await gql(
        'mutation($u: ID!, $s: ID!) { recordActivity(input: {type: MEETING, summary: "Kickoff", '
        'authorId: $u, subjectIds: [$s], occurredAt: "2030-01-10T10:00:00Z"}) { id } }',
        {"u": twin, "s": client},
    )
    await gql(MERGE, {"s": ann, "m": [twin]})
    edges = (await gql(AGENDA, {"id": ann}))["party"]["agenda"]["edges"]
    assert [e["node"]["activity"] for e in edges] == [{"summary": "Kickoff", "authorId": ann}]


async def test_a_window_far_past_a_series_start_is_refused(gql: GraphQL) -> None:
    """A daily series is stepped through from its start: decades later is LIMIT_EXCEEDED."""
    client = await org(gql, "Acme")
    anna = await user(gql, "anna")
    await schedule(
        gql,
        subjectIds=[client],
        assigneeIds=[anna],
        startsAt="2030-01-01T08:00:00Z",
        recurrence="FREQ=DAILY",
    )
    far = AGENDA.replace("2030-01-01", "2060-01-01").replace("2030-02-01", "2060-02-01")
    error = await gql.error(far, {"id": anna})
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    edges = (await gql(AGENDA, {"id": anna}))["party"]["agenda"]["edges"]
    assert len(edges) == 31  # every day of January 2030


async def test_bad_changes_are_refused_with_nothing_written(gql: GraphQL) -> None:
    client = await org(gql, "Acme")
    made = await schedule(
        gql, subjectIds=[client], startsAt="2030-01-01T10:00:00Z", endsAt="2030-01-01T11:00:00Z"
    )
    for change, code in (
        ({"endsAt": "2030-01-01T09:00:00Z"}, "BAD_USER_INPUT"),
        ({"timeZone": "Europe/Atlantis"}, "BAD_USER_INPUT"),
        ({"recurrence": "FREQ=MINUTELY"}, "BAD_USER_INPUT"),
        ({"startsAt": None}, "BAD_USER_INPUT"),  # no time left
        ({"summary": " "}, "BAD_USER_INPUT"),
    ):
        error = await gql.error(UPDATE, {"id": made["id"], "input": change})
        assert error["extensions"]["code"] == code, (change, error)
    unknown = await gql.error(UPDATE, {"id": "no-such-activity", "input": {"location": "x"}})
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    history = (await gql(HISTORY, {"id": made["id"]}))["node"]["history"]["edges"]
    assert [e["node"]["kind"] for e in history] == ["ACTIVITY_SCHEDULED"]


async def test_a_changed_activity_is_found_by_its_new_words_only(gql: GraphQL) -> None:
    """Search indexes an activity's words again when it changes, in the same write."""
    client = await org(gql, "Acme")
    made = await schedule(gql, subjectIds=[client], startsAt="2030-03-04T09:00:00Z")
    await gql(UPDATE, {"id": made["id"], "input": {"summary": "Budget", "body": "forecast"}})
    found = """query($s: String!, $id: ID!) {
      activities(search: $s) { edges { node { id } } }
      party(id: $id) { timeline(search: $s) { edges { node { id } } } }
    }"""
    for words, expected in (("review", []), ("budget", [made["id"]]), ("forecast", [made["id"]])):
        data = await gql(found, {"s": words, "id": client})
        assert [e["node"]["id"] for e in data["activities"]["edges"]] == expected, words
        assert [e["node"]["id"] for e in data["party"]["timeline"]["edges"]] == expected, words
