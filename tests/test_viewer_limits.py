"""Limits per viewer, on top of those per request: how often one credential may ask, over
HTTP and WebSocket alike, and how many live feeds one user may hold, however many sockets
and tokens they use. The store plays no part here, so these run on the embedded one."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from access import bearer, token_for, user_token
from client import GraphQL
from factories import org, record, user
from live import (
    LEGACY_WS,
    PROTOCOLS,
    TRANSPORT_WS,
    ManualClock,
    Subscriber,
    client_for,
    live_server,
    small_buffer_socket,
)

from contactgraph.access.rate import RateLimiter
from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.store import GraphStore

VIEWER = "{ viewer { username } }"
FEED = "subscription($id: ID!) { activityAdded(subjectId: $id) { summary } }"
PER_VIEWER = "--max-subscriptions-per-viewer"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(create=True, graph_url=f"sqlite:///{tmp_path / 'graph.db'}")


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[GraphStore]:
    """The graph the app serves, opened beside it as an operator's tools open it."""
    opened = open_store(settings.graph_url, create=True)
    await opened.start()
    yield opened
    await opened.close()


async def app_client(
    settings: Settings, clock: ManualClock | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app in-process, sending no credential unless told; rate budgets
    refill by `clock` when one is given, so a slow machine cannot refill them early."""
    app = create_app(settings, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


async def ask(http: httpx.AsyncClient, secret: str, query: str = VIEWER) -> httpx.Response:
    return await http.post("/graphql", json={"query": query}, headers=bearer(secret))


def rate_limited(response: httpx.Response) -> int:
    """The seconds a 429 says to wait, checked against its error."""
    assert response.status_code == 429, response.text
    wait = response.headers["retry-after"]
    assert wait.isdigit() and int(wait) >= 1
    body = response.json()
    [error] = body["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": int(wait)}
    assert "--rate-limit" in error["message"] and "data" not in body
    return int(wait)


async def errors_of(sub: Subscriber, op: str) -> list[dict[str, Any]]:
    """The errors an operation was refused with: an `error` message, or a result with
    errors that its `complete` follows."""
    message = await sub.receive()
    assert message.get("id") == op, message
    if message["type"] == "error":
        payload = message["payload"]
        return payload if isinstance(payload, list) else [payload]
    assert message["type"] in ("next", "data") and message["payload"]["errors"], message
    await sub.completed(op)
    return list(message["payload"]["errors"])


async def test_a_credential_past_its_rate_gets_429_with_retry_after(
    settings: Settings, store: GraphStore
) -> None:
    anna_id, first = await user_token(store, "anna", "reader")
    second = await token_for(store, anna_id)
    _, bert = await user_token(store, "bert", "reader")
    clock = ManualClock()
    async for http in app_client(replace(settings, rate_limit=30, rate_burst=3), clock):
        for _ in range(3):
            assert (await ask(http, first)).status_code == 200
        wait = rate_limited(await ask(http, first))
        assert wait == 2  # a request every two seconds
        # refused before the body is read: a limited client costs no parsing
        junk = await http.post(
            "/graphql",
            content=b"{" * 100_000,
            headers={**bearer(first), "content-type": "application/json"},
        )
        rate_limited(junk)
        rate_limited(await http.get("/graphql", params={"query": VIEWER}, headers=bearer(first)))
        # each token has its own budget, as has each other user
        assert (await ask(http, second)).status_code == 200
        assert (await ask(http, bert)).status_code == 200
        clock.advance(timedelta(seconds=wait))
        assert (await ask(http, first)).json() == {"data": {"viewer": {"username": "anna"}}}
        rate_limited(await ask(http, first))


async def test_a_viewer_signed_in_without_a_token_is_counted_as_its_user(
    settings: Settings,
) -> None:
    limited = replace(settings, rate_limit=60, rate_burst=2, insecure_anonymous_admin=True)
    async for http in app_client(limited, ManualClock()):
        for _ in range(2):
            assert (await http.post("/graphql", json={"query": VIEWER})).status_code == 200
        rate_limited(await http.post("/graphql", json={"query": VIEWER}))


async def test_a_rate_limit_of_zero_is_none(settings: Settings, store: GraphStore) -> None:
    _, secret = await user_token(store, "anna", "reader")
    async for http in app_client(replace(settings, rate_limit=0, rate_burst=1)):
        for _ in range(50):
            assert (await ask(http, secret)).status_code == 200


async def test_the_limiter_forgets_idle_viewers() -> None:
    """Memory stays bounded: a bucket full again is dropped, and never more than the cap
    are kept, so a client with many tokens cannot grow the server."""
    now = 0.0
    limiter = RateLimiter(60, 5, max_keys=1000, clock=lambda: now)
    for n in range(500):
        assert limiter.take(f"token:{n}") == 0
    assert limiter.tracked == 500
    now += 0.5  # one a second: each bucket is half a request short of full still
    assert limiter.take("token:x") == 0
    assert limiter.tracked == 501
    now += 0.5  # full again: nothing is lost by forgetting them
    assert limiter.take("token:y") == 0
    assert limiter.tracked == 2  # token:x, half a request short, and token:y
    for n in range(5000):
        limiter.take(f"token:{n}")
    assert limiter.tracked == 1000
    # a key that is limited is remembered until its bucket is full again
    now += 100
    for _ in range(5):
        assert limiter.take("busy") == 0
    assert limiter.take("busy") == 1
    now += 0.5
    assert limiter.take("busy") == 1
    assert limiter.take("other") == 0 and limiter.tracked == 2


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_each_operation_on_a_socket_counts_against_the_rate(
    settings: Settings, protocol: str
) -> None:
    """HTTP requests and WebSocket operations of one token share its budget; an operation
    past it is refused alone, and the socket stays open."""
    clock = ManualClock()
    async with (
        live_server(replace(settings, rate_limit=60, rate_burst=3), clock) as address,
        client_for(address) as http,
    ):
        assert (await http.post("/graphql", json={"query": VIEWER})).status_code == 200
        async with Subscriber.connect(address, protocol) as sub:  # connecting costs nothing
            for _ in range(2):  # each runs, and is refused by the resolver
                [error] = await errors_of(sub, await sub.subscribe(FEED, {"id": "nobody"}))
                assert error["extensions"]["code"] == "NOT_FOUND"
            [error] = await errors_of(sub, await sub.subscribe(FEED, {"id": "nobody"}))
            assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 1}
            assert "--rate-limit" in error["message"]
            rate_limited(await http.post("/graphql", json={"query": VIEWER}))
            clock.advance(timedelta(seconds=1))
            [error] = await errors_of(sub, await sub.subscribe(FEED, {"id": "nobody"}))
            assert error["extensions"]["code"] == "NOT_FOUND"


async def live_feeds(http: httpx.AsyncClient, count: int) -> None:
    """Wait until the server holds `count` live feeds (its /healthz says so), for 5 s."""
    for _ in range(250):
        if (await http.get("/healthz")).json()["subscribers"] == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the server never held {count} feeds")


async def refused_per_viewer(sub: Subscriber, party: str) -> None:
    [error] = await errors_of(sub, await sub.subscribe(FEED, {"id": party}))
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert PER_VIEWER in error["message"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_user_holds_a_bounded_number_of_feeds_over_all_sockets_and_tokens(
    settings: Settings, store: GraphStore, protocol: str
) -> None:
    anna_id, first = await user_token(store, "anna", "reader")
    second = await token_for(store, anna_id)
    async with (
        live_server(replace(settings, max_subscriptions_per_viewer=2)) as address,
        client_for(address) as http,
    ):
        party = await org(GraphQL(http), "Watched GmbH")
        async with (
            Subscriber.connect(address, protocol, first) as one,
            Subscriber.connect(address, protocol, second) as other,
        ):
            # a refused subscription holds nothing
            unknown = await one.subscribe(FEED, {"id": "no-such-party"})
            [error] = await errors_of(one, unknown)
            assert error["extensions"]["code"] == "NOT_FOUND"
            kept = await one.subscribe(FEED, {"id": party})
            await other.subscribe(FEED, {"id": party})
            await live_feeds(http, 2)
            await refused_per_viewer(other, party)  # another token, another socket: one user
            await refused_per_viewer(one, party)
            # another user is not held back by anna
            async with Subscriber.connect(address, protocol) as admin:
                await admin.subscribe(FEED, {"id": party})
                await live_feeds(http, 3)
            await live_feeds(http, 2)
            # a feed the client ends is given back
            await one.stop(kept)
            if protocol == LEGACY_WS:  # the legacy protocol confirms the stop
                await one.completed(kept)
            await live_feeds(http, 1)
            await other.subscribe(FEED, {"id": party})
            await live_feeds(http, 2)
            await refused_per_viewer(one, party)
        # so are the feeds of a socket that drops
        await live_feeds(http, 0)
        async with Subscriber.connect(address, protocol, first) as again:
            await again.subscribe(FEED, {"id": party})
            await again.subscribe(FEED, {"id": party})
            await live_feeds(http, 2)
            await refused_per_viewer(again, party)


async def test_a_feed_the_server_ends_is_given_back(settings: Settings) -> None:
    """A subscriber too slow to keep up is dropped with an error; its feed no longer
    counts against its user."""
    body = secrets.token_urlsafe(150_000)  # big events that do not compress fill buffers
    settings = replace(settings, subscriber_backlog=4, max_subscriptions_per_viewer=2)
    async with live_server(settings) as address, client_for(address, timeout=30) as http:
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
            await fast.subscribe(feed, {"id": company})
            await live_feeds(http, 2)
            await refused_per_viewer(fast, company)
            sent = 0
            while (await http.get("/healthz")).json()["subscribers"] == 2:
                assert sent < 300, "the slow subscriber was never dropped"
                await record(gql, anna, [company], "2025-01-01T10:00:00Z", summary="x", body=body)
                sent += 1
                assert (await fast.receive())["type"] == "next"
            # the dropped feed ends once the slow client reads what got through, and is told
            while (payload := await slow.next(slow_op)).get("data"):
                pass
            assert payload["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
            await slow.completed(slow_op)
            await fast.subscribe(feed, {"id": company})  # it was given back
            await live_feeds(http, 2)
