"""Live activity feeds over WebSocket, against a real uvicorn server, on both protocols and
both backends: what reaches whom, when the subtree is read, and cleanup."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from client import GraphQL
from factories import contact, link, org, record, user
from live import (
    LEGACY_WS,
    PROTOCOLS,
    TRANSPORT_WS,
    Subscriber,
    client_for,
    live_server,
    small_buffer_socket,
    subscribed,
)
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from contactgraph.config import Settings
from contactgraph.graph.identity import SCOPE_DEPTH

FEED = """
subscription($id: ID!, $all: Boolean! = false, $types: [ActivityType!]) {
  activityAdded(subjectId: $id, includeDescendants: $all, types: $types) {
    summary type sourceId source { displayName } author { username } subjects { id }
  }
}"""


@pytest.fixture
async def address(graph_url: str) -> AsyncIterator[str]:
    async with live_server(Settings(create=True, graph_url=graph_url)) as served:
        yield served


@pytest.fixture
async def gql(address: str) -> AsyncIterator[GraphQL]:
    async with client_for(address, timeout=30) as http:
        yield GraphQL(http)


async def summaries_until(sub: Subscriber, op: str, last: str) -> list[str]:
    """Every summary the operation receives up to and including `last`."""
    seen: list[str] = []
    while not seen or seen[-1] != last:
        payload = await sub.next(op)
        assert "errors" not in payload, payload
        seen.append(payload["data"]["activityAdded"]["summary"])
    return seen


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_each_subscriber_gets_what_concerns_it_and_nothing_else(
    address: str, gql: GraphQL, protocol: str
) -> None:
    anna = await user(gql, "anna")
    company = await org(gql, "Nordlicht GmbH")
    sales = await org(gql, "Sales")
    await link(gql, "PART_OF", sales, company)
    jana = await contact(gql, "Jana", "Petersen")
    await link(gql, "EMPLOYS", sales, jana)
    outsider = await contact(gql, "Olaf", "Outside")

    async with (
        Subscriber.connect(address, protocol) as rollup,
        Subscriber.connect(address, protocol) as own,
    ):
        all_below = await rollup.subscribe(FEED, {"id": company, "all": True})
        only_own = await own.subscribe(FEED, {"id": company})
        meetings = await own.subscribe(FEED, {"id": sales, "all": True, "types": ["MEETING"]})
        await subscribed(gql.http, 3)

        await record(gql, anna, [jana], "2025-01-01T10:00:00Z", summary="jana")
        await record(gql, anna, [outsider], "2025-01-02T10:00:00Z", summary="outsider")
        await record(gql, anna, [sales], "2025-01-03T10:00:00Z", summary="sales", type="MEETING")
        failed = await gql.error(
            "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
            {"i": {"type": "CALL", "summary": "x", "authorId": anna, "subjectIds": ["nope"]}},
        )
        assert failed["extensions"]["code"] == "NOT_FOUND"
        await record(gql, anna, [outsider, company], "2025-01-04T10:00:00Z", summary="last")

        first = await rollup.next(all_below)
        assert first["data"]["activityAdded"] == {
            "summary": "jana",
            "type": "CALL",
            "sourceId": jana,
            "source": {"displayName": "Jana Petersen"},
            "author": {"username": "anna"},
            "subjects": [{"id": jana}],
        }
        assert await summaries_until(rollup, all_below, "last") == ["sales", "last"]
        # one connection, two operations: their messages interleave in publishing order
        received: dict[str, list[str]] = {only_own: [], meetings: []}
        while "last" not in received[only_own]:
            message = await own.receive()
            received[message["id"]].append(message["payload"]["data"]["activityAdded"]["summary"])
        assert received == {only_own: ["last"], meetings: ["sales"]}

        await rollup.stop(all_below)
        if protocol == LEGACY_WS:
            await rollup.completed(all_below)
        await subscribed(gql.http, 2)


async def test_the_subtree_is_read_when_each_activity_is_recorded(
    address: str, gql: GraphQL
) -> None:
    anna = await user(gql, "anna")
    hoa = await org(gql, "Owners' association Lindenhof")
    owner = await contact(gql, "Otto", "Owner")
    async with Subscriber.connect(address, TRANSPORT_WS) as sub:
        op = await sub.subscribe(FEED, {"id": hoa, "all": True})
        await subscribed(gql.http, 1)
        await record(gql, anna, [owner], "2025-01-01T10:00:00Z", summary="before joining")
        membership = await link(gql, "MEMBER_OF", owner, hoa)
        await record(gql, anna, [owner], "2024-01-01T10:00:00Z", summary="member, backdated")
        await gql("mutation($id: ID!) { unlink(id: $id) { until } }", {"id": membership["id"]})
        await record(gql, anna, [owner], "2025-01-02T10:00:00Z", summary="after leaving")
        await record(gql, anna, [hoa], "2025-01-03T10:00:00Z", summary="hoa")
        assert await summaries_until(sub, op, "hoa") == ["member, backdated", "hoa"]


async def test_bad_subscriptions_get_coded_errors(address: str, gql: GraphQL) -> None:
    async with Subscriber.connect(address, TRANSPORT_WS) as sub:
        unknown = await sub.subscribe(FEED, {"id": "no-such-party"})
        payload = await sub.next(unknown)
        assert payload["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        await sub.completed(unknown)
        invalid = await sub.subscribe("subscription { activityAdded { nope } }")
        payload = await sub.next(invalid)
        assert payload["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    await subscribed(gql.http, 0)


async def test_disconnected_subscribers_are_released(address: str, gql: GraphQL) -> None:
    company = await org(gql, "Acme")
    for protocol in PROTOCOLS:
        async with (
            Subscriber.connect(address, protocol) as a,
            Subscriber.connect(address, protocol) as b,
        ):
            await a.subscribe(FEED, {"id": company})
            await b.subscribe(FEED, {"id": company, "all": True})
            await b.subscribe(FEED, {"id": company, "types": ["CALL"]})
            await subscribed(gql.http, 3)
        await subscribed(gql.http, 0)  # the connections dropped without a word


async def test_a_subscriber_that_stops_reading_is_dropped_without_holding_up_others(
    graph_url: str,
) -> None:
    # big events that do not compress fill the socket buffers after a few dozen
    body = secrets.token_urlsafe(150_000)
    settings = Settings(create=True, graph_url=graph_url, subscriber_backlog=4)
    async with (
        live_server(settings) as address,
        client_for(address, timeout=30) as http,
    ):
        gql = GraphQL(http)
        anna = await user(gql, "anna")
        company = await org(gql, "Acme")
        feed = "subscription($id: ID!) { activityAdded(subjectId: $id) { summary body } }"
        async with (
            Subscriber.connect(
                address, TRANSPORT_WS, sock=small_buffer_socket(address), max_queue=1
            ) as slow,
            Subscriber.connect(address, TRANSPORT_WS) as fast,
        ):
            slow_op = await slow.subscribe(feed, {"id": company})
            fast_op = await fast.subscribe(feed, {"id": company})
            await subscribed(gql.http, 2)
            sent = 0
            while (await http.get("/healthz")).json()["subscribers"] == 2:
                assert sent < 300, "the slow subscriber was never dropped"
                await record(
                    gql, anna, [company], "2025-01-01T10:00:00Z", summary=f"{sent}", body=body
                )
                sent += 1
                payload = await fast.next(fast_op)
                assert payload["data"]["activityAdded"]["summary"] == str(sent - 1)
            await subscribed(gql.http, 1)
            await record(gql, anna, [company], "2025-01-01T10:00:00Z", summary="after", body="")
            assert (await fast.next(fast_op))["data"]["activityAdded"]["summary"] == "after"

            # the slow one reads what got through, then is told why it was closed
            while (payload := await slow.next(slow_op)).get("data"):
                assert payload["data"]["activityAdded"]["body"] == body
            assert payload["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
            assert "fell more than 4 events behind" in payload["errors"][0]["message"]
            await slow.completed(slow_op)


async def test_pages_from_other_origins_may_not_connect(address: str) -> None:
    """A browser page elsewhere would act with the user's cookies: its handshake is refused."""
    url = f"ws://{address}/graphql"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, subprotocols=[TRANSPORT_WS], origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    same = f"http://{address}"
    async with connect(url, subprotocols=[TRANSPORT_WS], origin=same) as ws:
        assert ws.subprotocol == TRANSPORT_WS


async def test_activities_made_with_a_new_party_are_published(address: str, gql: GraphQL) -> None:
    company = await org(gql, "Nordlicht GmbH")
    async with Subscriber.connect(address, TRANSPORT_WS) as sub:
        op = await sub.subscribe(FEED, {"id": company, "all": True})
        await subscribed(gql.http, 1)
        await gql(
            'mutation($c: ID!) { createContact(input: {lastName: "X", parentId: $c, '
            'activities: [{type: CALL, summary: "welcome call"}]}) { id } }',
            {"c": company},
        )
        assert await summaries_until(sub, op, "welcome call") == ["welcome call"]


@pytest.mark.parametrize("max_depth", [SCOPE_DEPTH, SCOPE_DEPTH + 1], ids=["closure", "walk"])
async def test_an_activity_reaches_each_party_above_its_subjects_as_they_stand_now(
    graph_url: str, max_depth: int
) -> None:
    """The parties an event reaches are read with the write, from the closure, when the
    depth ceiling is within the closure's; walked up after it when deeper: the same feeds
    hear of it either way, each with the subject that brought it there."""
    settings = Settings(create=True, graph_url=graph_url, max_depth=max_depth)
    async with live_server(settings) as address, client_for(address, timeout=30) as http:
        await _reaches_above(address, GraphQL(http))


async def _reaches_above(address: str, gql: GraphQL) -> None:
    anna = await user(gql, "anna")
    group = await org(gql, "Lindenhof Gruppe")
    east, west, former = [await org(gql, name) for name in ("East", "West", "Former")]
    for unit in (east, west):
        await link(gql, "PART_OF", unit, group)
    jana = await contact(gql, "Jana", "Petersen")  # under two parents
    olaf = await contact(gql, "Olaf", "Olsen")
    for unit in (east, west):
        await link(gql, "MEMBER_OF", jana, unit)
    await link(gql, "MEMBER_OF", olaf, west)
    left = await link(gql, "MEMBER_OF", jana, former, since="2020-01-01T00:00:00Z")
    await gql(
        "mutation($id: ID!, $until: DateTime) { unlink(id: $id, until: $until) { until } }",
        {"id": left["id"], "until": "2024-06-01T00:00:00Z"},
    )
    async with Subscriber.connect(address, TRANSPORT_WS) as sub:
        ops = {await sub.subscribe(FEED, {"id": p, "all": True}): p for p in (group, east, west)}
        ops[await sub.subscribe(FEED, {"id": former, "all": True})] = former
        await subscribed(gql.http, 4)
        await record(gql, anna, [jana], "2025-01-01T10:00:00Z", summary="jana")
        await record(gql, anna, [olaf, jana], "2025-01-02T10:00:00Z", summary="both")
        await record(gql, anna, [group, east, west, former], "2025-01-03T10:00:00Z", summary="end")
        heard: dict[str, list[tuple[str, str, str]]] = {p: [] for p in ops.values()}
        while any(not got or got[-1][0] != "end" for got in heard.values()):
            message = await sub.receive()
            event = message["payload"]["data"]["activityAdded"]
            source = (event["summary"], event["sourceId"], event["source"]["displayName"])
            heard[ops[message["id"]]].append(source)
    jana_s, olaf_s = (jana, "Jana Petersen"), (olaf, "Olaf Olsen")
    assert heard == {
        group: [("jana", *jana_s), ("both", *olaf_s), ("end", group, "Lindenhof Gruppe")],
        east: [("jana", *jana_s), ("both", *jana_s), ("end", east, "East")],
        west: [("jana", *jana_s), ("both", *olaf_s), ("end", west, "West")],
        former: [("end", former, "Former")],
    }
