"""A real uvicorn server on a loopback socket, and GraphQL-over-WebSocket clients of both
protocols built on the `websockets` library, as third-party dashboards connect."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import uvicorn
from access import admin_secret, bearer, with_demo_token
from websockets.asyncio.client import ClientConnection, connect

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.graph.times import utcnow
from contactgraph.websocket import server_options

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]


# the administrator's token of each running server, by host:port
SECRETS: dict[str, str] = {}


def client_for(address: str, **options: Any) -> httpx.AsyncClient:
    """An HTTP client of the server at address, signed in as its administrator."""
    return httpx.AsyncClient(
        base_url=f"http://{address}", headers=bearer(SECRETS[address]), **options
    )


class ManualClock:
    """The time an app's overdue watch goes by, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self._now = utcnow()
        self._moved = asyncio.Event()  # set when the time moves on, then replaced
        self._asleep = 0  # sleepers waiting for a time still to come, since it last moved
        self._fell_asleep = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, instant: datetime) -> None:
        while self._now < instant:
            moved = self._moved
            self._asleep += 1
            self._fell_asleep.set()
            try:
                await moved.wait()
            except asyncio.CancelledError:
                if moved is self._moved:
                    self._asleep -= 1
                raise

    def advance(self, by: timedelta) -> None:
        self._now += by
        self._asleep = 0
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def settled(self, watches: int = 1) -> None:
        """Until that many watches (one per app) sleep again: each has told of what fell
        due by now."""
        async with asyncio.timeout(10):
            while self._asleep < watches:
                self._fell_asleep.clear()
                await self._fell_asleep.wait()


@asynccontextmanager
async def live_server(settings: Settings, clock: ManualClock | None = None) -> AsyncIterator[str]:
    """Serve the app with uvicorn on a free port, with an administrator whose token is in
    SECRETS; yields host:port."""
    settings = with_demo_token(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    app = create_app(settings, clock)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **server_options(settings))
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    address = f"{host}:{port}"
    SECRETS[address] = settings.demo_token or await admin_secret(app.state.store)
    try:
        yield address
    finally:
        SECRETS.pop(address, None)
        server.should_exit = True
        await task
        sock.close()


class Subscriber:
    """One WebSocket connection speaking graphql-transport-ws or the legacy graphql-ws."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._ids = 0

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, address: str, protocol: str, secret: str | None = None, **options: Any
    ) -> AsyncIterator[Subscriber]:
        """Signed in with `secret` (the server's administrator by default) in the
        connection_init payload; `options` go to websockets' connect (and on to asyncio's
        create_connection)."""
        url = f"ws://{address}/graphql"
        payload = bearer(secret or SECRETS[address])
        async with connect(url, subprotocols=[protocol], **options) as ws:
            assert ws.subprotocol == protocol
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            subscriber = cls(ws, protocol)
            assert (await subscriber.receive())["type"] == "connection_ack"
            yield subscriber

    async def receive(self) -> dict[str, Any]:
        """The next message that is not a keep-alive; ten seconds of silence fail."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if message["type"] not in ("ka", "ping", "pong"):
                return message

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        op = str(self._ids)
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": op, "type": kind, "payload": payload}))
        return op

    async def next(self, op: str) -> dict[str, Any]:
        """The payload of the operation's next result ({data} or {errors})."""
        message = await self.receive()
        assert message.get("id") == op, message
        if message["type"] in ("next", "data"):
            return message["payload"]
        if message["type"] == "error":
            errors = message["payload"]
            return {"errors": errors if isinstance(errors, list) else [errors]}
        raise AssertionError(f"expected a result, got {message}")

    async def completed(self, op: str) -> None:
        message = await self.receive()
        assert message == {"id": op, "type": "complete"}, message

    async def stop(self, op: str) -> None:
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        await self.ws.send(json.dumps({"id": op, "type": kind}))


async def subscribed(http: httpx.AsyncClient, count: int) -> None:
    """Wait until the server `http` talks to holds `count` live subscriptions (its
    /healthz says so): a subscription is live some time after it was sent."""
    for _ in range(500):
        if (await http.get("/healthz")).json()["subscribers"] == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the server never held {count} subscriptions")


def small_buffer_socket(address: str) -> socket.socket:
    """A connected socket with a small receive buffer, for a client that stops reading:
    the server's sends then block after a few megabytes instead of dozens."""
    host, port = address.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32_768)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    return sock
