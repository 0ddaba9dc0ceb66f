"""Equal subscriptions share one execution and one encoded result (fanout.py), and only
those: different variables, a different reach, or a personal field read by different
users each run their own. Against a real uvicorn server, both protocols in one broadcast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from access import token_for, user_token
from client import GraphQL
from factories import org, record, user
from live import LEGACY_WS, TRANSPORT_WS, Subscriber, client_for, live_server

from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.store import GraphStore

FEED = "subscription($id: ID!) { activityAdded(subjectId: $id) { summary subjects { id } } }"
PERSONAL = """subscription($id: ID!) {
  activityAdded(subjectId: $id) { summary author { username grants { role } } }
}"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(create=True, graph_url=f"sqlite:///{tmp_path / 'graph.db'}")


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[GraphStore]:
    opened = open_store(settings.graph_url, create=True)
    await opened.start()
    yield opened
    await opened.close()


async def health(http: httpx.AsyncClient, subscribers: int, executions: int) -> None:
    """Wait until /healthz counts that many live subscribers sharing that many executions."""
    want = {"status": "ok", "subscribers": subscribers, "executions": executions}
    for _ in range(250):
        if want.items() <= (body := (await http.get("/healthz")).json()).items():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {want}, the server says {body}")


async def raw_next(sub: Subscriber, op: str) -> str:
    """The next result's frame exactly as sent, without its protocol's envelope."""
    while True:
        frame = str(await asyncio.wait_for(sub.ws.recv(), 10))
        if '"type":"ka"' not in frame:
            break
    head = f'{{"id":"{op}","type":"next",' if sub.protocol == TRANSPORT_WS else ""
    head = head or f'{{"type":"data","id":"{op}",'
    assert frame.startswith(head), frame
    return frame[len(head) :]


async def test_equal_subscriptions_share_one_execution_on_both_protocols(
    settings: Settings,
) -> None:
    async with live_server(settings) as address, client_for(address) as http:
        gql = GraphQL(http)
        acme, other = await org(gql, "Acme"), await org(gql, "Other")
        admin = (await gql("{ viewer { id } }"))["viewer"]["id"]
        async with (
            Subscriber.connect(address, TRANSPORT_WS) as one,
            Subscriber.connect(address, TRANSPORT_WS) as two,
            Subscriber.connect(address, LEGACY_WS) as legacy,
        ):
            ops = [await sub.subscribe(FEED, {"id": acme}) for sub in (one, two, legacy)]
            await health(http, 3, 1)
            elsewhere = await two.subscribe(FEED, {"id": other})  # other variables
            await health(http, 4, 2)

            await record(gql, admin, [acme], "2025-01-01T10:00:00Z", summary="shared")
            listeners = zip((one, two, legacy), ops, strict=True)
            frames = [await raw_next(sub, op) for sub, op in listeners]
            assert len(set(frames)) == 1 and '"summary":"shared"' in frames[0]
            await record(gql, admin, [other], "2025-01-01T11:00:00Z", summary="apart")
            assert (await two.next(elsewhere))["data"]["activityAdded"]["summary"] == "apart"

            # a listener leaving stops nothing the others share; the last one stops it
            await one.stop(ops[0])
            await health(http, 3, 2)
            await legacy.stop(ops[2])
            await legacy.completed(ops[2])  # the legacy protocol confirms a stop
            await two.stop(ops[1])
            await health(http, 1, 1)
        await health(http, 0, 0)


async def personal_result(sub: Subscriber, op: str) -> dict[str, Any]:
    """The operation's next result, past the shared feed's on the same socket."""
    while (message := await sub.receive())["id"] != op:
        pass
    payload: dict[str, Any] = message["payload"]
    return payload


async def test_readers_share_only_what_reads_alike_for_them(
    settings: Settings, store: GraphStore
) -> None:
    """Two readers share a feed of what both may read alike; a feed reading a user's
    grants (a user reads their own only) runs once per reader, and the administrator,
    reading more, has an execution of their own."""
    anna, anna_secret = await user_token(store, "anna", "reader")
    _, ben_secret = await user_token(store, "ben", "reader")
    async with live_server(settings) as address, client_for(address) as http:
        gql = GraphQL(http)
        acme = await org(gql, "Acme")
        async with (
            Subscriber.connect(address, TRANSPORT_WS, anna_secret) as as_anna,
            Subscriber.connect(address, TRANSPORT_WS, ben_secret) as as_ben,
            Subscriber.connect(address, TRANSPORT_WS) as as_admin,
        ):
            await as_anna.subscribe(FEED, {"id": acme})
            await as_ben.subscribe(FEED, {"id": acme})
            await health(http, 2, 1)
            await as_admin.subscribe(FEED, {"id": acme})
            await health(http, 3, 2)
            anna_op = await as_anna.subscribe(PERSONAL, {"id": acme})
            ben_op = await as_ben.subscribe(PERSONAL, {"id": acme})
            await health(http, 5, 4)

            await record(gql, anna, [acme], "2025-01-01T10:00:00Z", summary="anna's")
            mine, theirs = [
                await personal_result(sub, op) for sub, op in ((as_anna, anna_op), (as_ben, ben_op))
            ]
            assert "errors" not in mine
            assert mine["data"]["activityAdded"]["author"]["grants"] == [{"role": "reader"}]
            assert theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert theirs["errors"][0]["path"] == ["activityAdded", "author", "grants"]


async def test_caps_count_listeners_not_executions(settings: Settings, store: GraphStore) -> None:
    """Sharing an execution does not let a user hold more feeds than their cap, nor the
    server more than its own."""
    anna, first = await user_token(store, "anna", "reader")
    second = await token_for(store, anna)
    capped = Settings(
        create=True,
        graph_url=settings.graph_url,
        max_subscriptions_per_viewer=2,
        max_subscriptions=3,
    )
    async with live_server(capped) as address, client_for(address) as http:
        acme = await org(GraphQL(http), "Acme")
        async with (
            Subscriber.connect(address, TRANSPORT_WS, first) as one,
            Subscriber.connect(address, TRANSPORT_WS, second) as two,
            Subscriber.connect(address, TRANSPORT_WS) as admin,
        ):
            await one.subscribe(FEED, {"id": acme})
            await two.subscribe(FEED, {"id": acme})
            await health(http, 2, 1)
            refused = await two.subscribe(FEED, {"id": acme})
            payload = await two.next(refused)
            assert payload["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
            assert "--max-subscriptions-per-viewer" in payload["errors"][0]["message"]
            await two.completed(refused)
            await admin.subscribe(FEED, {"id": acme})  # reads more than anna: its own
            await health(http, 3, 2)
            full = await admin.subscribe(FEED, {"id": acme})
            payload = await admin.next(full)
            assert "--max-subscriptions)" in payload["errors"][0]["message"]
            await health(http, 3, 2)


async def test_executions_of_one_event_share_loaders_only_between_viewers_who_read_alike(
    settings: Settings, store: GraphStore
) -> None:
    """An admin's execution and a reader's run on the same event: what the admin read of
    the author's history (its role entries, which others may not see) must not be what
    the reader's execution reads."""
    _, anna_secret = await user_token(store, "anna", "reader")
    history = """subscription($id: ID!) {
      activityAdded(subjectId: $id) { author { history(first: 50) { edges { node { kind } } } } }
    }"""
    async with live_server(settings) as address, client_for(address) as http:
        gql = GraphQL(http)
        acme = await org(gql, "Acme")
        ben_id = await user(gql, "ben")
        await gql(f'mutation {{ grantRole(userId: "{ben_id}", role: "editor") {{ id }} }}')
        async with (
            Subscriber.connect(address, TRANSPORT_WS) as as_admin,
            Subscriber.connect(address, TRANSPORT_WS, anna_secret) as as_anna,
        ):
            admin_op = await as_admin.subscribe(history, {"id": acme})
            anna_op = await as_anna.subscribe(history, {"id": acme})
            await health(http, 2, 2)
            await record(gql, ben_id, [acme], "2025-01-01T10:00:00Z", summary="ben's")

            def kinds(payload: dict[str, Any]) -> set[str]:
                edges = payload["data"]["activityAdded"]["author"]["history"]["edges"]
                return {edge["node"]["kind"] for edge in edges}

            assert "ROLE_GRANTED" in kinds(await as_admin.next(admin_op))
            assert "ROLE_GRANTED" not in kinds(await as_anna.next(anna_op))
