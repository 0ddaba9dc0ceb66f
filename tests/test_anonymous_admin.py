"""`serve --insecure-anonymous-admin`: on loopback, a request without any credential acts
as the administrator `anonymous-admin`, over HTTP and WebSocket; one with a bad credential
is still refused; elsewhere the server does not start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from access import bearer, user_token
from live import LEGACY_WS, PROTOCOLS, Subscriber, live_server
from test_cli import CLI, free_port, run
from test_viewer_limits import live_feeds
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.store import GraphStore

VIEWER = {"query": "{ viewer { id username grants { role } } }"}
CREATE = 'mutation { createOrganization(input: {name: "Try"}) { id } }'
FEED = "subscription($id: ID!) { activityAdded(subjectId: $id) { summary author { username } } }"
RECORD = """mutation($subject: ID!) {
  recordActivity(input: {type: NOTE, occurredAt: "2025-01-01T10:00:00Z", summary: "tried",
    subjectIds: [$subject]}) { author { username } recordedBy { username } } }"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(create=True, graph_url=f"sqlite:///{tmp_path / 'graph.db'}")


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[GraphStore]:
    opened = open_store(settings.graph_url, create=True)
    await opened.start()
    yield opened
    await opened.close()


async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app in-process, sending no credential unless told."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


def unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_without_the_flag_no_credential_is_401(settings: Settings) -> None:
    async for http in app_client(settings):
        unauthenticated(await http.post("/graphql", json=VIEWER))


async def test_no_credential_acts_as_the_anonymous_administrator(
    settings: Settings, store: GraphStore
) -> None:
    _, anna = await user_token(store, "anna", "reader")
    async for http in app_client(replace(settings, insecure_anonymous_admin=True)):
        viewer = (await http.post("/graphql", json=VIEWER)).json()["data"]["viewer"]
        assert viewer["username"] == "anonymous-admin"
        assert viewer["grants"] == [{"role": "admin"}]
        # it writes, as a real user: what it records has an author
        made = await http.post("/graphql", json={"query": CREATE})
        subject = made.json()["data"]["createOrganization"]["id"]
        recorded = await http.post(
            "/graphql", json={"query": RECORD, "variables": {"subject": subject}}
        )
        assert recorded.json()["data"]["recordActivity"] == {
            "author": {"username": "anonymous-admin"},
            "recordedBy": {"username": "anonymous-admin"},
        }
        # a credential, good or bad, is what it is
        signed_in = await http.post("/graphql", json=VIEWER, headers=bearer(anna))
        assert signed_in.json()["data"]["viewer"]["username"] == "anna"
        unauthenticated(await http.post("/graphql", json=VIEWER, headers=bearer("cgt_" + "x" * 43)))
        unauthenticated(await http.post("/graphql", json=VIEWER, headers={"Authorization": ""}))
        unauthenticated(
            await http.post("/graphql", json=VIEWER, headers={"Authorization": "Basic x"})
        )
    # started again, the server finds the same user rather than making another
    async for http in app_client(replace(settings, insecure_anonymous_admin=True)):
        again = (await http.post("/graphql", json=VIEWER)).json()["data"]["viewer"]
        assert again == viewer
    # and without the flag, that user is nobody's to act as
    async for http in app_client(settings):
        unauthenticated(await http.post("/graphql", json=VIEWER))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_websocket_without_a_credential_acts_as_the_anonymous_administrator(
    settings: Settings, protocol: str
) -> None:
    async with (
        live_server(replace(settings, insecure_anonymous_admin=True)) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        url = f"ws://{address}/graphql"
        made = await http.post("/graphql", json={"query": CREATE})
        subject = made.json()["data"]["createOrganization"]["id"]
        for init in ({"type": "connection_init", "payload": {}}, {"type": "connection_init"}):
            async with connect(url, subprotocols=[protocol]) as ws:
                await ws.send(json.dumps(init))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                feed = Subscriber(ws, protocol)
                op = await feed.subscribe(FEED, {"id": subject})
                await live_feeds(http, 1)
                await http.post(
                    "/graphql", json={"query": RECORD, "variables": {"subject": subject}}
                )
                event = (await feed.next(op))["data"]["activityAdded"]
                assert event == {"summary": "tried", "author": {"username": "anonymous-admin"}}
            await live_feeds(http, 0)
        for payload in ({"Authorization": "Bearer cgt_nope"}, {"Authorization": 5}):
            async with connect(url, subprotocols=[protocol]) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
                if protocol == LEGACY_WS:
                    assert "UNAUTHENTICATED" in await ws.recv()
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_serve_refuses_the_flag_off_loopback(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    for host in ("0.0.0.0", "192.0.2.10"):
        result = run(
            "serve",
            "--host",
            host,
            "--insecure-anonymous-admin",
            "--graph",
            f"sqlite:///{db}",
            "--create",
            "--port",
            str(free_port()),
        )
        assert result.returncode == 2, result.stderr
        assert "--insecure-anonymous-admin" in result.stderr and "loopback" in result.stderr
        assert "serving" not in result.stderr and "Traceback" not in result.stderr
        assert not db.exists()  # it stopped before opening anything
    rebinding = run(
        "serve", "--insecure-anonymous-admin", "--allowed-host", "*", "--graph", f"sqlite:///{db}"
    )
    assert rebinding.returncode == 2 and "--allowed-host" in rebinding.stderr


def test_serve_on_loopback_warns_and_lets_anonymous_requests_in(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CONTACTGRAPH_GRAPH": f"sqlite:///{tmp_path / 'anonymous.db'}",
        "CONTACTGRAPH_CREATE": "1",
        "CONTACTGRAPH_INSECURE_ANONYMOUS_ADMIN": "1",
    }
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        answer = httpx.post(f"{base}/graphql", json=VIEWER, timeout=10)
        assert answer.json()["data"]["viewer"]["username"] == "anonymous-admin"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert "WARNING" in output and "--insecure-anonymous-admin" in output, output
    assert "Traceback" not in output
