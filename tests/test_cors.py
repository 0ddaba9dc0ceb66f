"""Browser pages on other origins: allowed by `--cors-origin` only, over HTTP (CORS) and on
the WebSocket handshake, which browsers do not guard with CORS. The store plays no part
here, so these run on the embedded one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from access import bearer
from live import PROTOCOLS, SECRETS, live_server
from test_cli import free_port, run
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.graph.errors import ConfigError
from contactgraph.origins import parse_origins

APP = "https://app.example"
ELSEWHERE = "https://x.example"
VIEWER = {"query": "{ viewer { username } }"}
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(create=True, graph_url=f"sqlite:///{tmp_path / 'graph.db'}")


@pytest.fixture
async def address(settings: Settings) -> AsyncIterator[str]:
    async with live_server(replace(settings, cors_origins=(APP, "http://localhost:3000"))) as a:
        yield a


def no_cors(response: httpx.Response) -> None:
    assert not [h for h in response.headers if h.startswith("access-control-")], response.headers


async def test_pages_on_an_allowed_origin_may_call_the_api(address: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        preflight = await http.options("/graphql", headers={"Origin": APP, **PREFLIGHT})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == APP
        allowed = {
            h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")
        }
        assert {"authorization", "content-type"} <= allowed
        assert {"GET", "POST"} <= set(preflight.headers["access-control-allow-methods"].split(", "))
        signed_in = {"Origin": APP, **bearer(SECRETS[address])}
        answer = await http.post("/graphql", json=VIEWER, headers=signed_in)
        assert answer.json() == {"data": {"viewer": {"username": "admin"}}}
        assert answer.headers["access-control-allow-origin"] == APP
        assert answer.headers["access-control-expose-headers"] == "Retry-After"
        # an origin is compared as browsers send it: the port is part of it
        other_port = await http.options(
            "/graphql", headers={"Origin": "http://localhost:3001", **PREFLIGHT}
        )
        assert "access-control-allow-origin" not in other_port.headers


async def test_pages_on_other_origins_get_no_cors_headers(address: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        preflight = await http.options("/graphql", headers={"Origin": ELSEWHERE, **PREFLIGHT})
        assert preflight.status_code == 400  # the browser sends nothing after it
        assert "access-control-allow-origin" not in preflight.headers
        answer = await http.post(
            "/graphql", json=VIEWER, headers={"Origin": ELSEWHERE, **bearer(SECRETS[address])}
        )
        assert "access-control-allow-origin" not in answer.headers  # the browser hides it


async def test_without_the_flag_no_page_elsewhere_may_read(settings: Settings) -> None:
    async with (
        live_server(settings) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        no_cors(await http.options("/graphql", headers={"Origin": APP, **PREFLIGHT}))
        answer = await http.post(
            "/graphql", json=VIEWER, headers={"Origin": APP, **bearer(SECRETS[address])}
        )
        assert answer.status_code == 200
        no_cors(answer)
        # nor open a WebSocket
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://{address}/graphql", subprotocols=PROTOCOLS, origin=APP):
                pass
        assert refused.value.response.status_code == 403


async def signs_in(address: str, protocol: str, **options: object) -> None:
    async with connect(f"ws://{address}/graphql", subprotocols=[protocol], **options) as ws:
        init = {"type": "connection_init", "payload": bearer(SECRETS[address])}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_websockets_from_allowed_origins_no_origin_or_the_servers_own(
    address: str, protocol: str
) -> None:
    await signs_in(address, protocol, origin=APP)
    await signs_in(address, protocol, origin="http://localhost:3000")
    await signs_in(address, protocol)  # no Origin: not a browser
    await signs_in(address, protocol, origin=f"http://{address}")  # GraphiQL, served here


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_websockets_from_other_origins_are_refused_naming_the_flag(
    address: str, protocol: str
) -> None:
    for origin in (ELSEWHERE, "http://localhost:3001", "null"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://{address}/graphql", subprotocols=[protocol], origin=origin):
                pass
        response = refused.value.response
        assert response.status_code == 403
        [error] = json.loads(response.body)["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN"}
        assert "--cors-origin" in error["message"]
    assert (
        error["message"] == "origin 'null' is not allowed: --cors-origin names the origins that are"
    )
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://{address}/graphql", subprotocols=[protocol], origin=ELSEWHERE):
            pass
    [error] = json.loads(refused.value.response.body)["errors"]
    assert error["message"] == (
        f"origin {ELSEWHERE} is not allowed: start the server with --cors-origin {ELSEWHERE}"
    )


def test_origins_are_read_as_browsers_send_them() -> None:
    assert parse_origins(["HTTPS://App.Example:443", "http://localhost:3000/"]) == (
        APP,
        "http://localhost:3000",
    )
    # the environment variable's value: several, comma- or space-separated
    assert parse_origins([f"{APP}, http://[::1]:8080 {APP}"]) == (APP, "http://[::1]:8080")
    for bad in ("*", "app.example", "https://app.example/path", "null"):
        with pytest.raises(ValueError):
            parse_origins([bad])
    with pytest.raises(ConfigError, match="--cors-origin"):
        create_app(Settings(cors_origins=("https://app.example/graphql",)))


def test_serve_refuses_an_origin_that_is_not_one(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    result = run(
        "serve",
        "--graph",
        f"sqlite:///{db}",
        "--create",
        "--port",
        str(free_port()),
        "--cors-origin",
        "*",
    )
    assert result.returncode == 2
    assert "--cors-origin" in result.stderr and "'*'" in result.stderr
    assert "Traceback" not in result.stderr and not db.exists()
