"""Signing in, over HTTP and WebSocket, on both stores: API tokens, OpenID Connect JWTs from
a real issuer on loopback, and every way a credential can be missing or wrong."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from access import bearer, token_for, user_token
from client import GraphQL
from live import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, Subscriber, live_server
from oidc_issuer import AUDIENCE, Issuer
from test_cli import CLI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from contactgraph.access.credentials import secret_hash
from contactgraph.app import create_app
from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.model import LegalForm, PartyKind
from contactgraph.graph.records import new_party
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow

VIEWER = "{ viewer { id username } }"
REFUSED = {"code": "UNAUTHENTICATED"}


@pytest.fixture
async def store(graph_url: str) -> AsyncIterator[GraphStore]:
    """The graph the app serves, opened beside it as an operator's tools open it."""
    opened = open_store(graph_url, create=True)
    await opened.start()
    yield opened
    await opened.close()


async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


@pytest.fixture
async def anonymous(graph_url: str, store: GraphStore) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app that sends no credential unless told; credentials are checked
    afresh on every request (no cache), as the refusal tests need."""
    async for http in app_client(Settings(graph_url=graph_url, auth_cache_seconds=0)):
        yield http


async def ask(http: httpx.AsyncClient, secret: str | None, query: str = VIEWER) -> httpx.Response:
    headers = bearer(secret) if secret else {}
    return await http.post("/graphql", json={"query": query}, headers=headers)


def refused(response: httpx.Response) -> str:
    """The message of a 401 that says nothing about why."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    [error] = response.json()["errors"]
    assert error["extensions"] == REFUSED
    assert "data" not in response.json()
    return str(error["message"])


async def test_a_token_signs_its_user_in(anonymous: httpx.AsyncClient, store: GraphStore) -> None:
    user_id, secret = await user_token(store, "anna", "reader")
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = await anonymous.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": f"{scheme} {secret}"}
        )
        assert response.json() == {"data": {"viewer": {"id": user_id, "username": "anna"}}}


async def test_every_bad_credential_is_refused_alike(
    anonymous: httpx.AsyncClient, store: GraphStore
) -> None:
    user_id, secret = await user_token(store, "anna", "admin")
    expired = await token_for(store, user_id, timedelta(microseconds=1))
    revoked = await token_for(store, user_id)
    found = await store.token_by_hash(secret_hash(revoked))
    assert found is not None and found.user_id == user_id
    await store.revoke_token(found.id, utcnow())
    archived_id, archived = await user_token(store, "gone", "admin")
    await store.archive_party(archived_id, utcnow())
    await asyncio.sleep(0.01)
    messages = {
        refused(await ask(anonymous, None)),
        refused(await ask(anonymous, "cgt_" + "x" * 43)),
        refused(await ask(anonymous, "not-a-token")),
        refused(await ask(anonymous, expired)),
        refused(await ask(anonymous, revoked)),
        refused(await ask(anonymous, archived)),
        refused(
            await anonymous.post(
                "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Basic {secret}"}
            )
        ),
        refused(await anonymous.get("/graphql", params={"query": VIEWER})),
    }
    assert len(messages) == 1  # nothing tells a prober which check failed
    assert (await ask(anonymous, secret)).status_code == 200


async def test_tokens_made_and_revoked_through_the_api(graph_url: str, store: GraphStore) -> None:
    """Revoked through the API, a token stops at once even where credentials are cached."""
    _, admin = await user_token(store, "admin", "admin")
    bert_id, bert = await user_token(store, "bert", "reader")
    async for http in app_client(Settings(graph_url=graph_url)):
        made = await ask(
            http,
            bert,
            'mutation { createApiToken(name: "laptop") { secret token { id userId name '
            "expiresAt revokedAt } } }",
        )
        created = made.json()["data"]["createApiToken"]
        assert created["token"]["userId"] == bert_id and created["token"]["name"] == "laptop"
        assert created["secret"].startswith("cgt_") and created["token"]["revokedAt"] is None
        second = created["secret"]
        assert (await ask(http, second)).json()["data"]["viewer"]["username"] == "bert"
        listed = await ask(http, bert, "{ apiTokens { id name } }")
        assert [t["name"] for t in listed.json()["data"]["apiTokens"]] == ["test", "laptop"]
        # a reader may not list or revoke anyone else's tokens; the admin may
        admin_user = await store.user_by_username("admin")
        assert admin_user is not None
        others = await ask(http, bert, f'{{ apiTokens(userId: "{admin_user.id}") {{ id }} }}')
        assert others.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        revoke = f'mutation {{ revokeApiToken(id: "{created["token"]["id"]}") {{ revokedAt }} }}'
        ended = await ask(http, admin, revoke)
        assert ended.json()["data"]["revokeApiToken"]["revokedAt"] is not None
        refused(await ask(http, second))
        assert (await ask(http, bert)).status_code == 200


async def test_cli_users_and_tokens_sign_in(graph_url: str, store: GraphStore) -> None:
    """The operator's way: `user create`, `token create` (the secret alone on stdout),
    `token list`, `token revoke`, against a graph a server is serving."""
    graph = ["--graph", graph_url]

    def cli(*args: str) -> str:
        done = subprocess.run([*CLI, *args, *graph], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    user_id = cli("user", "create", "ops", "--role", "admin", "--role", "fiscal").strip()
    secret = cli("token", "create", "--user", "ops", "--expires", "2w", "--name", "ci")
    assert secret.endswith("\n") and secret.count("\n") == 1 and secret.startswith("cgt_")
    secret = secret.strip()
    [line] = cli("token", "list", "--user", "ops").splitlines()
    token_id, owner, name, _created, expires, revoked = line.split("\t")
    assert (owner, name, revoked) == ("ops", "ci", "-") and expires != "-"
    async for http in app_client(Settings(graph_url=graph_url, auth_cache_seconds=0)):
        assert (await ask(http, secret)).json()["data"]["viewer"]["id"] == user_id
        assert "revoked" in cli("token", "revoke", token_id)
        refused(await ask(http, secret))
    taken = subprocess.run(  # noqa: ASYNC221 - the CLI as a user runs it, one at a time
        [*CLI, "user", "create", "ops", "--role", "reader", *graph], capture_output=True, text=True
    )
    assert taken.returncode != 0 and "taken" in taken.stderr and "Traceback" not in taken.stderr
    unknown = subprocess.run(  # noqa: ASYNC221
        [*CLI, "user", "create", "x1", "--role", "owner", *graph], capture_output=True, text=True
    )
    assert unknown.returncode != 0 and "owner" in unknown.stderr
    assert await store.user_by_username("x1") is None
    bad = subprocess.run(  # noqa: ASYNC221
        [*CLI, "token", "create", "--user", "ops", "--expires", "soon", *graph],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "--expires" in bad.stderr


async def test_cli_makes_scoped_users(graph_url: str, store: GraphStore) -> None:
    """`user create --scope PARTY_ID [--portfolio]`: every role granted within that scope."""
    unit = new_party(PartyKind.ORGANIZATION, name="Sales", legal_form=LegalForm.LEGAL_PERSON)
    await store.create_party(unit)
    graph = ["--graph", graph_url]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args, *graph], capture_output=True, text=True, timeout=60)

    made = cli("user", "create", "sam", "--role", "reader", "--role", "editor", "--scope", unit.id)
    assert made.returncode == 0, made.stderr
    team = cli("user", "create", "pia", "--role", "reader", "--scope", unit.id, "--portfolio")
    assert team.returncode == 0, team.stderr
    held = await store.grants([made.stdout.strip(), team.stdout.strip()])
    assert sorted((g.role, g.scope_id, g.scope_kind.value) for g in held[made.stdout.strip()]) == [
        ("editor", unit.id, "SUBTREE"),
        ("reader", unit.id, "SUBTREE"),
    ]
    [portfolio] = held[team.stdout.strip()]
    assert (portfolio.scope_id, portfolio.scope_kind.value) == (unit.id, "PORTFOLIO")
    lost = cli("user", "create", "ida", "--role", "reader", "--portfolio")
    assert lost.returncode == 2 and "--scope" in lost.stderr
    nowhere = cli("user", "create", "ida", "--role", "reader", "--scope", "no-such-party")
    assert nowhere.returncode != 0 and "no-such-party" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    assert await store.user_by_username("ida") is None


async def test_websockets_sign_in_by_payload_or_upgrade_header(
    graph_url: str, store: GraphStore
) -> None:
    _, secret = await user_token(store, "anna", "reader")
    async with live_server(Settings(graph_url=graph_url)) as address:
        url = f"ws://{address}/graphql"
        for protocol in PROTOCOLS:
            async with Subscriber.connect(address, protocol, secret) as by_payload:
                assert by_payload.ws.subprotocol == protocol
            # the key of the payload in any case
            async with connect(url, subprotocols=[protocol]) as ws:
                init = {"type": "connection_init", "payload": {"authorization": f"Bearer {secret}"}}
                await ws.send(json.dumps(init))
                assert '"connection_ack"' in await ws.recv()
            # or the upgrade request's header, with an empty payload
            async with connect(
                url, subprotocols=[protocol], additional_headers=bearer(secret)
            ) as ws:
                await ws.send('{"type": "connection_init", "payload": {}}')
                assert '"connection_ack"' in await ws.recv()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_websockets_without_a_valid_credential_are_closed_4401(
    graph_url: str, store: GraphStore, protocol: str
) -> None:
    await user_token(store, "anna", "reader")
    async with live_server(Settings(graph_url=graph_url)) as address:
        url = f"ws://{address}/graphql"
        for payload in ("{}", '{"Authorization": "Bearer cgt_nope"}', '{"Authorization": 5}'):
            async with connect(url, subprotocols=[protocol]) as ws:
                await ws.send('{"type": "connection_init", "payload": ' + payload + "}")
                if protocol == LEGACY_WS:
                    error = await ws.recv()
                    assert '"connection_error"' in error and "UNAUTHENTICATED" in error
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
                assert "credential" in closed.value.rcvd.reason
        # a subscription sent without connection_init gets no data either
        async with connect(url, subprotocols=[TRANSPORT_WS]) as ws:
            subscribe = {"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { id } }"}}
            await ws.send(json.dumps(subscribe))
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_jwts_of_the_configured_issuer_sign_users_in(
    graph_url: str, store: GraphStore
) -> None:
    alice_id, _ = await user_token(store, "alice", "reader")
    async with Issuer() as issuer:
        settings = Settings(
            graph_url=graph_url,
            auth_cache_seconds=0,
            oidc_issuer=issuer.issuer,
            oidc_audience=AUDIENCE,
        )
        async for http in app_client(settings):
            for alg in ("RS256", "ES256"):
                token = issuer.sign(issuer.claims("alice"), alg=alg)
                assert (await ask(http, token)).json()["data"]["viewer"]["id"] == alice_id
            now = int(utcnow().timestamp())
            messages = {
                refused(await ask(http, issuer.sign(issuer.claims("alice", exp=now - 3600)))),
                refused(await ask(http, issuer.sign(issuer.claims("alice", aud="someone-else")))),
                refused(
                    await ask(http, issuer.sign(issuer.claims("alice", iss="https://x.example")))
                ),
                refused(await ask(http, issuer.sign(issuer.claims("nobody")))),  # unknown user
                refused(await ask(http, issuer.sign(issuer.claims(None)))),  # no username claim
            }
            assert len(messages) == 1
            assert await store.user_by_username("nobody") is None
        # with --oidc-create-users an unknown user is made, with no roles
        async for http in app_client(replace(settings, oidc_create_users=True)):
            made = await ask(http, issuer.sign(issuer.claims("newcomer")))
            assert made.json()["data"]["viewer"]["username"] == "newcomer"
            newcomer = issuer.sign(issuer.claims("newcomer"))
            reads = await ask(http, newcomer, "{ parties { totalCount } }")
            assert reads.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_anonymous_request_costs_no_parsing(anonymous: httpx.AsyncClient) -> None:
    """The credential is checked before the body is read: an anonymous 10 KB or
    malformed body gets the same 401."""
    junk = await anonymous.post(
        "/graphql", content=b"{" * 10_000, headers={"content-type": "application/json"}
    )
    refused(junk)
    data = GraphQL(anonymous)
    assert (await data.raw(VIEWER)).status_code == 401
