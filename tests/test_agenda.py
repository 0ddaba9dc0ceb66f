"""The shared agenda: several users' and a team's work in one window, recurring
appointments expanded at the window's edges and across a daylight-saving change,
overlaps flagged, pages by cursor, scope and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from access import bearer
from client import GraphQL, serve
from factories import contact, link, org, user
from test_round_trips import round_trips
from test_scheduling import CANCEL, schedule

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

AGENDA = """
query($users: [ID!], $team: ID, $from: DateTime!, $to: DateTime!, $first: Int,
      $after: String, $statuses: [ActivityStatus!], $types: [ActivityType!]) {
  agenda(userIds: $users, teamId: $team, from: $from, to: $to, first: $first, after: $after,
         statuses: $statuses, types: $types) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      startsAt endsAt userIds conflict conflictsWith
      activity { id summary status subjects { id } }
    } }
  }
}"""
USER_AGENDA = """
query($id: ID!, $from: DateTime!, $to: DateTime!) {
  party(id: $id) { ... on User { agenda(from: $from, to: $to) {
    edges { node { startsAt activity { summary } } }
  } } }
}"""
MARCH = {"from": "2030-03-01T00:00:00Z", "to": "2030-04-15T00:00:00Z"}
Ids = dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_graph_url: str) -> AsyncIterator[tuple[GraphQL, Ids]]:
    """A sales team of two users at the home organization, one user outside it, and their
    plans with a client, read (never written) by every test."""
    async for http in serve(Settings(create=True, graph_url=module_graph_url, rate_limit=0)):
        gql = GraphQL(http)
        yield gql, await _plans(gql)


async def _plans(gql: GraphQL) -> Ids:
    home = await org(gql, "Home GmbH", categoryId="home-organization")
    team = await org(gql, "Sales", unitType="TEAM", parentId=home)
    anna, ben, carl = [await user(gql, n) for n in ("anna", "ben", "carl")]
    ids = {"home": home, "team": team, "anna": anna, "ben": ben, "carl": carl}
    await link(gql, "EMPLOYS", team, anna)
    await link(gql, "MEMBER_OF", ben, team)
    client = ids["client"] = await org(gql, "Acme")
    jana = await contact(gql, "Jana", "Petersen")
    berlin = {"timeZone": "Europe/Berlin", "subjectIds": [client]}
    # Mondays 09:00 in Berlin: 08:00Z in March, 07:00Z once summer time starts (30 March)
    weekly = await schedule(
        gql,
        summary="weekly",
        startsAt="2030-03-04T09:00:00+01:00",
        endsAt="2030-03-04T10:00:00+01:00",
        recurrence="FREQ=WEEKLY;COUNT=6",
        assigneeIds=[anna],
        **berlin,
    )
    ids["weekly"] = weekly["id"]
    clash = await schedule(
        gql,
        summary="clash",
        startsAt="2030-03-11T08:30:00Z",
        endsAt="2030-03-11T09:30:00Z",
        assigneeIds=[ben],
        attendees=[{"partyId": anna, "response": "ACCEPTED"}, {"partyId": jana}],
        subjectIds=[client],
    )
    ids["clash"] = clash["id"]
    await schedule(
        gql,
        type="TASK",
        summary="offer",
        dueAt="2030-03-12T17:00:00Z",
        assigneeIds=[ben],
        subjectIds=[client],
    )
    await schedule(
        gql,
        summary="carl's",
        startsAt="2030-03-11T08:00:00Z",
        endsAt="2030-03-11T09:00:00Z",
        assigneeIds=[carl],
        subjectIds=[client],
    )
    called_off = await schedule(
        gql,
        summary="called off",
        startsAt="2030-03-18T08:00:00Z",
        endsAt="2030-03-18T09:00:00Z",
        assigneeIds=[anna],
        subjectIds=[client],
    )
    await gql(CANCEL, {"id": called_off["id"]})
    await schedule(
        gql,
        summary="declined",
        startsAt="2030-03-25T08:00:00Z",
        endsAt="2030-03-25T08:30:00Z",
        attendees=[{"partyId": anna, "response": "DECLINED"}],
        subjectIds=[client],
    )
    await schedule(
        gql,
        summary="internal",
        startsAt="2030-04-02T12:00:00Z",
        endsAt="2030-04-02T13:00:00Z",
        assigneeIds=[ben],
        subjectIds=[team],
    )
    return ids


def rows(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["activity"]["summary"], e["node"]["startsAt"]) for e in page["edges"]]


def at(day: str, hour: str) -> str:
    return f"2030-{day}T{hour}:00:00.000000+00:00"


async def test_a_team_agenda_merges_its_users_in_time_order(world: tuple[GraphQL, Ids]) -> None:
    gql, ids = world
    page = (await gql(AGENDA, {"team": ids["team"], **MARCH}))["agenda"]
    assert rows(page) == [
        ("weekly", at("03-04", "08")),
        ("weekly", at("03-11", "08")),
        ("clash", "2030-03-11T08:30:00.000000+00:00"),
        ("offer", at("03-12", "17")),
        ("weekly", at("03-18", "08")),
        ("weekly", at("03-25", "08")),
        ("declined", at("03-25", "08")),
        ("weekly", at("04-01", "07")),  # 09:00 in Berlin, summer time
        ("internal", at("04-02", "12")),
        ("weekly", at("04-08", "07")),
    ]
    nodes = [e["node"] for e in page["edges"]]
    assert nodes[2]["userIds"] == [ids["ben"], ids["anna"]]  # assignee, then attendee
    assert nodes[3]["endsAt"] == nodes[3]["startsAt"]  # a task has no duration
    # anna's weekly and the clash she accepted overlap; what she declined or was called off
    # takes none of her time
    assert [n["conflictsWith"] for n in nodes[1:3]] == [[ids["clash"]], [ids["weekly"]]]
    assert [n["conflict"] for n in nodes] == [False, True, True] + [False] * 7


async def test_users_and_a_team_together_each_entry_once(world: tuple[GraphQL, Ids]) -> None:
    gql, ids = world
    page = (
        await gql(
            AGENDA,
            {
                "team": ids["team"],
                "users": [ids["carl"], ids["anna"]],
                "types": ["MEETING"],
                "from": "2030-03-11T00:00:00Z",
                "to": "2030-03-12T00:00:00Z",
            },
        )
    )["agenda"]
    assert rows(page) == [  # ties by activity id: the older first
        ("weekly", at("03-11", "08")),
        ("carl's", at("03-11", "08")),
        ("clash", "2030-03-11T08:30:00.000000+00:00"),
    ]
    carl = page["edges"][1]["node"]
    assert (carl["userIds"], carl["conflict"]) == ([ids["carl"]], False)  # not anna's meeting


async def test_window_edges_and_pages(world: tuple[GraphQL, Ids]) -> None:
    """An occurrence under way at the window's start is in it; one starting at its end is
    not. Pages by cursor hold each entry once."""
    gql, ids = world
    window = {"users": [ids["anna"]], "from": "2030-03-11T08:59:00Z", "to": "2030-04-01T07:00:00Z"}
    whole = rows((await gql(AGENDA, window))["agenda"])
    assert whole == [
        ("weekly", at("03-11", "08")),
        ("clash", "2030-03-11T08:30:00.000000+00:00"),
        ("weekly", at("03-18", "08")),
        ("weekly", at("03-25", "08")),
        ("declined", at("03-25", "08")),
    ]
    paged, after = [], None
    while True:
        page = (await gql(AGENDA, {**window, "first": 2, "after": after}))["agenda"]
        paged += rows(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert paged == whole
    cancelled = await gql(AGENDA, {**window, "statuses": ["CANCELLED"]})
    assert rows(cancelled["agenda"]) == [("called off", at("03-18", "08"))]


async def test_a_users_own_agenda(world: tuple[GraphQL, Ids]) -> None:
    gql, ids = world
    found = await gql(USER_AGENDA, {"id": ids["ben"], **MARCH})
    summaries = [e["node"]["activity"]["summary"] for e in found["party"]["agenda"]["edges"]]
    assert summaries == ["clash", "offer", "internal"]


async def test_costs_the_same_calls_however_many_entries(world: tuple[GraphQL, Ids]) -> None:
    gql, ids = world
    day = {"from": "2030-03-04T00:00:00Z", "to": "2030-03-05T00:00:00Z"}
    one, small = await round_trips(gql, AGENDA, {"team": ids["team"], **day})
    many, large = await round_trips(gql, AGENDA, {"team": ids["team"], **MARCH})
    assert len(small["agenda"]["edges"]) == 1 and len(large["agenda"]["edges"]) == 10
    assert one == many <= 7


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        ({"from": "2030-01-01T00:00:00Z", "to": "2031-06-01T00:00:00Z"}, "LIMIT_EXCEEDED", "366"),
        ({"from": "2030-02-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, "BAD_USER_INPUT", "later"),
        ({"team": "client"}, "BAD_USER_INPUT", "home organization"),
        ({"users": ["client"]}, "BAD_USER_INPUT", "not a USER"),
        ({"users": []}, "BAD_USER_INPUT", "userIds"),
        ({"users": ["nobody"]}, "NOT_FOUND", "nobody"),
        ({"after": "bm90IGEgY3Vyc29y"}, "BAD_USER_INPUT", "cursor"),
        ({"first": 100000}, "LIMIT_EXCEEDED", "first"),
    ],
)
async def test_bad_input(
    world: tuple[GraphQL, Ids], args: dict[str, Any], code: str, says: str
) -> None:
    gql, ids = world
    named = {
        k: ids.get(v, v)
        if isinstance(v, str)
        else [ids.get(x, x) for x in v]
        if isinstance(v, list)
        else v
        for k, v in args.items()
    }
    variables = {"users": [ids["anna"]], **MARCH, **named}
    error = await gql.error(AGENDA, variables)
    assert error["extensions"]["code"] == code, error
    assert says in error["message"]


async def test_a_scoped_reader_sees_only_what_is_inside(world: tuple[GraphQL, Ids]) -> None:
    """A reader scoped to the home organization reads its users' agendas without the
    client's activities; a user outside the scope is NOT_FOUND."""
    gql, ids = world
    reader = await user(gql, "home-reader")
    await gql(
        'mutation($u: ID!, $s: ID!) { grantRole(userId: $u, role: "reader", scopeId: $s) { id } }',
        {"u": reader, "s": ids["home"]},
    )
    made = await gql(
        'mutation($u: ID!) { createApiToken(name: "t", userId: $u) { secret } }', {"u": reader}
    )
    scoped = GraphQL(gql.http)
    headers = bearer(made["createApiToken"]["secret"])
    response = await scoped.http.post(
        "/graphql",
        json={"query": AGENDA, "variables": {"team": ids["team"], **MARCH}},
        headers=headers,
    )
    assert rows(response.json()["data"]["agenda"]) == [("internal", at("04-02", "12"))]
    outside = await scoped.http.post(
        "/graphql",
        json={"query": AGENDA, "variables": {"users": [ids["carl"]], **MARCH}},
        headers=headers,
    )
    assert outside.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
