"""WebSocket bounds, against a real uvicorn server: sockets that never initialise, greedy
sockets, too many feeds, oversized messages and clients that stop answering pings. The
store plays no part here, so these run on the embedded one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from client import GraphQL
from factories import org
from live import PROTOCOLS, Subscriber, client_for, live_server
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from contactgraph.config import Settings

FEED = "subscription($id: ID!) { activityAdded(subjectId: $id) { summary } }"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        create=True,
        graph_url=f"sqlite:///{tmp_path / 'graph.db'}",
        max_operations_per_socket=2,
        max_subscriptions=3,
        ws_init_timeout=0.3,
        ws_ping_interval=0.3,
        max_message_bytes=4096,
    )


@pytest.fixture
async def address(settings: Settings) -> AsyncIterator[str]:
    async with live_server(settings) as served:
        yield served


async def _party(address: str) -> str:
    async with client_for(address) as http:
        return await org(GraphQL(http), "Watched GmbH")


async def feeds_reach(address: str, count: int) -> None:
    """Wait until the server holds `count` live feeds (its /healthz says so), for 5 s."""
    async with client_for(address) as http:
        for _ in range(250):
            if (await http.get("/healthz")).json()["subscribers"] == count:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"the server never held {count} feeds")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_socket_that_never_initialises_is_closed(address: str, protocol: str) -> None:
    async with connect(f"ws://{address}/graphql", subprotocols=[protocol]) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_socket_runs_a_bounded_number_of_operations(address: str, protocol: str) -> None:
    party = await _party(address)
    async with Subscriber.connect(address, protocol) as sub:
        await sub.subscribe(FEED, {"id": party})
        await sub.subscribe(FEED, {"id": party})
        third = await sub.subscribe(FEED, {"id": party})
        refused = await sub.next(third)
        (error,) = refused["errors"]
        assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": 2}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_server_holds_a_bounded_number_of_feeds(address: str, protocol: str) -> None:
    party = await _party(address)
    async with (
        Subscriber.connect(address, protocol) as first,
        Subscriber.connect(address, protocol) as second,
    ):
        await first.subscribe(FEED, {"id": party})
        await first.subscribe(FEED, {"id": party})
        await second.subscribe(FEED, {"id": party})
        await feeds_reach(address, 3)
        fourth = await second.subscribe(FEED, {"id": party})
        refused = await second.next(fourth)
        (error,) = refused["errors"]
        assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
        assert "--max-subscriptions" in error["message"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_oversized_message_closes_the_socket(address: str, protocol: str) -> None:
    async with Subscriber.connect(address, protocol) as sub:
        await sub.ws.send(json.dumps({"id": "1", "type": "x", "payload": "y" * 10_000}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # keep-alives may come first
                await asyncio.wait_for(sub.ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_stops_answering_pings_is_dropped(address: str, protocol: str) -> None:
    party = await _party(address)
    async with Subscriber.connect(address, protocol, ping_interval=None) as sub:
        await sub.subscribe(FEED, {"id": party})
        await feeds_reach(address, 1)
        sub.ws.transport.pause_reading()  # pings go unread and unanswered from here
        await feeds_reach(address, 0)
        sub.ws.transport.resume_reading()  # and the client learns its socket is gone


async def test_hosts_other_than_the_allowed_ones_are_refused(address: str) -> None:
    """A DNS-rebinding page reaches the server by its own name: the Host header tells."""
    host, port = address.split(":")
    async with client_for(address) as http:
        query = {"query": "{ categories { id } }"}
        assert (await http.post("/graphql", json=query)).status_code == 200
        rebound = await http.post("/graphql", json=query, headers={"Host": "rebind.example"})
        assert rebound.status_code == 400
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"ws://rebind.example:{port}/graphql",
            subprotocols=[PROTOCOLS[0]],
            host=host,
            port=int(port),
        ):
            pass
    assert refused.value.response.status_code == 400
