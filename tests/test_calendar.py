"""iCalendar feeds of a user's and a team's agenda, read as a calendar application
reads them (a read-only token in the URL) and parsed back with the icalendar library."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import link, org, user
from icalendar import Calendar
from test_scheduling import CANCEL, COMPLETE, schedule

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = """
mutation($u: ID!, $r: Boolean) {
  createApiToken(name: "calendar", userId: $u, readOnly: $r) { secret token { readOnly } }
}"""
Ids = dict[str, str]
BERLIN = ZoneInfo("Europe/Berlin")


def soon(days: int, hour: int) -> datetime:
    """A wall-clock hour in Berlin some days from now: the feed's window is around now."""
    day = datetime.now(BERLIN) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_graph_url: str) -> AsyncIterator[tuple[GraphQL, httpx.AsyncClient, Ids]]:
    async for http in serve(Settings(create=True, graph_url=module_graph_url, rate_limit=0)):
        gql = GraphQL(http)
        bare = httpx.AsyncClient(transport=http._transport, base_url="http://localhost")
        async with bare:
            yield gql, bare, await _plans(gql)


async def _plans(gql: GraphQL) -> Ids:
    home = await org(gql, "Home GmbH", categoryId="home-organization")
    team = await org(gql, "Sales", unitType="TEAM", parentId=home)
    anna, ben = await user(gql, "anna"), await user(gql, "ben")
    await link(gql, "EMPLOYS", team, anna)
    await link(gql, "EMPLOYS", team, ben)
    await gql('mutation($u: ID!) { grantRole(userId: $u, role: "editor") { id } }', {"u": anna})
    client = await org(gql, "Acme")
    ids = {"team": team, "anna": anna, "ben": ben, "client": client}
    weekly = await schedule(
        gql,
        summary="Weekly review",
        subjectIds=[client],
        assigneeIds=[anna],
        startsAt=soon(2, 9).isoformat(),
        endsAt=soon(2, 10).isoformat(),
        timeZone="Europe/Berlin",
        recurrence="FREQ=WEEKLY;COUNT=4",
        location="Room 2",
        body="Agenda: open offers; next steps",
    )
    ids["weekly"] = weekly["id"]
    task = await schedule(
        gql,
        type="TASK",
        summary="Send offer",
        subjectIds=[client],
        assigneeIds=[ben],
        dueAt=(datetime.now(UTC) + timedelta(days=5)).isoformat(),
    )
    ids["task"] = task["id"]
    done = await schedule(
        gql,
        type="TASK",
        summary="Call back",
        subjectIds=[client],
        assigneeIds=[ben],
        dueAt=(datetime.now(UTC) - timedelta(days=1)).isoformat(),
    )
    await gql(COMPLETE, {"id": done["id"]})
    off = await schedule(
        gql,
        summary="Called off",
        subjectIds=[client],
        assigneeIds=[anna],
        startsAt=soon(3, 14).isoformat(),
    )
    await gql(CANCEL, {"id": off["id"]})
    await schedule(
        gql,
        summary="Too far",
        subjectIds=[client],
        assigneeIds=[anna],
        startsAt=soon(400, 9).isoformat(),
    )
    made = await gql(TOKEN, {"u": anna, "r": True})
    assert made["createApiToken"]["token"]["readOnly"] is True
    ids["token"] = made["createApiToken"]["secret"]
    ids["full"] = (await gql(TOKEN, {"u": anna, "r": False}))["createApiToken"]["secret"]
    return ids


def components(body: bytes, kind: str) -> dict[str, object]:
    calendar = Calendar.from_ical(body)
    return {str(c["summary"]): c for c in calendar.walk(kind)}


async def test_a_users_feed_parses_back(world: tuple[GraphQL, httpx.AsyncClient, Ids]) -> None:
    _, bare, ids = world
    response = await bare.get(f"/calendar/{ids['anna']}.ics", params={"token": ids["token"]})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    events = components(response.content, "VEVENT")
    assert set(events) == {"Weekly review", "Called off"}
    weekly = events["Weekly review"]
    assert str(weekly["uid"]) == f"{ids['weekly']}@contactgraph"
    start = weekly.decoded("dtstart")
    assert start == soon(2, 9) and str(start.tzinfo) == "Europe/Berlin"
    assert weekly.decoded("dtend") - start == timedelta(hours=1)
    assert weekly["rrule"] == {"FREQ": ["WEEKLY"], "COUNT": [4]}
    assert (str(weekly["location"]), str(weekly["status"])) == ("Room 2", "CONFIRMED")
    assert str(weekly["description"]) == "Agenda: open offers; next steps"
    assert str(events["Called off"]["status"]) == "CANCELLED"
    assert components(response.content, "VTODO") == {}  # the tasks are ben's


async def test_a_teams_feed_holds_its_users_tasks(
    world: tuple[GraphQL, httpx.AsyncClient, Ids],
) -> None:
    _, bare, ids = world
    response = await bare.get(f"/calendar/team/{ids['team']}.ics", params={"token": ids["token"]})
    assert response.status_code == 200, response.text
    todos = components(response.content, "VTODO")
    assert {k: str(v["status"]) for k, v in todos.items()} == {
        "Send offer": "NEEDS-ACTION",
        "Call back": "COMPLETED",
    }
    assert set(components(response.content, "VEVENT")) == {"Weekly review", "Called off"}


async def test_the_header_works_too(world: tuple[GraphQL, httpx.AsyncClient, Ids]) -> None:
    _, bare, ids = world
    headers = {"Authorization": f"Bearer {ids['full']}"}
    response = await bare.get(f"/calendar/{ids['anna']}.ics", headers=headers)
    assert response.status_code == 200
    assert "Weekly review" in components(response.content, "VEVENT")


@pytest.mark.parametrize(
    ("path", "token", "status", "code"),
    [
        ("/calendar/{anna}.ics", "full", 403, "FORBIDDEN"),  # a full token in a URL
        ("/calendar/{anna}.ics", None, 401, "UNAUTHENTICATED"),
        ("/calendar/{anna}.ics", "cg_not-a-token", 401, "UNAUTHENTICATED"),
        ("/calendar/nobody.ics", "token", 404, "NOT_FOUND"),
        ("/calendar/{client}.ics", "token", 400, "BAD_USER_INPUT"),  # not a user
        ("/calendar/team/{client}.ics", "token", 400, "BAD_USER_INPUT"),  # not a team
        ("/calendar/{anna}", "token", 404, "NOT_FOUND"),
    ],
)
async def test_refused(
    world: tuple[GraphQL, httpx.AsyncClient, Ids],
    path: str,
    token: str | None,
    status: int,
    code: str,
) -> None:
    _, bare, ids = world
    params = {} if token is None else {"token": ids.get(token, token)}
    response = await bare.get(path.format(**ids), params=params)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert "Traceback" not in response.text


async def test_a_read_only_token_cannot_write(
    world: tuple[GraphQL, httpx.AsyncClient, Ids],
) -> None:
    """anna may edit; her calendar token may only read."""
    _, bare, ids = world
    headers = {"Authorization": f"Bearer {ids['token']}"}
    mutation = (
        'mutation($id: ID!) { updateActivity(id: $id, input: {location: "HQ"}) { location } }'
    )
    answer = await bare.post(
        "/graphql", json={"query": mutation, "variables": {"id": ids["task"]}}, headers=headers
    )
    assert answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    read = await bare.post(
        "/graphql",
        json={
            "query": "query($id: ID!) { node(id: $id) { id } }",
            "variables": {"id": ids["task"]},
        },
        headers=headers,
    )
    assert read.json()["data"]["node"] == {"id": ids["task"]}
    full = {"Authorization": f"Bearer {ids['full']}"}
    done = await bare.post(
        "/graphql", json={"query": mutation, "variables": {"id": ids["task"]}}, headers=full
    )
    assert done.json()["data"]["updateActivity"] == {"location": "HQ"}
