"""Live feeds across server processes through a real Redis (tools/redis-local): two
`contactgraph serve` processes on one Neo4j, and a broker outage that a server lives
through without a restart."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cable import Cable
from client import GraphQL
from factories import org, record, user
from live import (
    LEGACY_WS,
    TRANSPORT_WS,
    ManualClock,
    Subscriber,
    client_for,
    live_server,
    subscribed,
)
from test_cli import run
from test_neo4j_server import DEMO_TOKEN, serve, stop
from test_worklist_live import FEED as WORKLIST
from test_worklist_live import change, clients_of, signed

from contactgraph.config import Settings

FEED = "subscription($id: ID!) { activityAdded(subjectId: $id) { summary } }"
RECORD = "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }"
SIGNED_IN = {"Authorization": f"Bearer {DEMO_TOKEN}"}


async def ask(http: httpx.AsyncClient, base: str, query: str, **variables: Any) -> Any:
    answer = await http.post(f"{base}/graphql", json={"query": query, "variables": variables})
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


async def ready(http: httpx.AsyncClient, base: str = "") -> httpx.Response:
    """/readyz once it says ready, within 10 s."""
    for _ in range(100):
        response = await http.get(f"{base}/readyz")
        if response.status_code == 200:
            return response
        await asyncio.sleep(0.1)
    raise AssertionError(f"never ready: {response.text}")


async def summaries(sub: Subscriber, op: str, count: int) -> list[str]:
    return [(await sub.next(op))["data"]["activityAdded"]["summary"] for _ in range(count)]


async def test_a_subscriber_on_one_process_hears_what_another_records_in_order(
    neo4j_url: str, redis_url: str
) -> None:
    assert run("seed", "--demo", "--graph", neo4j_url).returncode == 0
    one, base_one = serve(neo4j_url, "--demo", "--events", redis_url)
    two, base_two = serve(neo4j_url, "--demo", "--events", redis_url)
    try:
        async with httpx.AsyncClient(headers=SIGNED_IN, timeout=30) as http:
            found = await ask(
                http,
                base_one,
                '{ parties(search: "Nordwind Logistics AG", first: 1) '
                "{ edges { node { id } } } viewer { id } }",
            )
            company = found["parties"]["edges"][0]["node"]["id"]
            author = found["viewer"]["id"]
            address = {base: base.removeprefix("http://") for base in (base_one, base_two)}
            async with (
                Subscriber.connect(address[base_one], TRANSPORT_WS, DEMO_TOKEN) as on_one,
                Subscriber.connect(address[base_two], LEGACY_WS, DEMO_TOKEN) as on_two,
            ):
                op_one = await on_one.subscribe(FEED, {"id": company})
                op_two = await on_two.subscribe(FEED, {"id": company})
                for base in (base_one, base_two):
                    await subscribed(httpx.AsyncClient(base_url=base), 1)

                # written through both processes, mostly the other one, without waiting
                recorded: list[tuple[str, float]] = []
                for number in range(12):
                    through = base_one if number % 3 == 2 else base_two
                    activity = {"type": "NOTE", "summary": f"event {number}", "authorId": author}
                    await ask(http, through, RECORD, i={**activity, "subjectIds": [company]})
                    recorded.append((f"event {number}", time.monotonic()))
                heard = await summaries(on_one, op_one, len(recorded))
                last_heard = time.monotonic()
                assert heard == [summary for summary, _ in recorded]
                assert await summaries(on_two, op_two, len(recorded)) == heard
                # the last one arrived well within a second of its write
                assert last_heard - recorded[-1][1] < 1.0
    finally:
        outputs = [stop(process) for process in (one, two)]
    for output in outputs:
        assert "Traceback" not in output, output


async def test_a_broker_outage_closes_feeds_with_a_code_and_heals_without_a_restart(
    redis_url: str, tmp_path: Path
) -> None:
    """The server reaches Redis over a line the test cuts (connections closed, new ones
    refused, as when Redis stops) and mends."""
    with Cable.to(redis_url) as cable:
        settings = Settings(
            create=True,
            graph_url=f"sqlite:///{tmp_path / 'graph.db'}",
            events_url=f"redis://127.0.0.1:{cable.port}{urlsplit(redis_url).path}",
        )
        async with live_server(settings) as address, client_for(address, timeout=30) as http:
            gql = GraphQL(http)
            await ready(http)
            company = await org(gql, "Acme")
            admin = (await gql("{ viewer { id } }"))["viewer"]["id"]
            async with Subscriber.connect(address, TRANSPORT_WS) as sub:
                op = await sub.subscribe(FEED, {"id": company})
                await subscribed(http, 1)
                await record(gql, admin, [company], "2025-01-01T10:00:00Z", summary="before")
                assert await summaries(sub, op, 1) == ["before"]

                cable.cut()
                [error] = (await sub.next(op))["errors"]
                assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
                assert "event broker" in error["message"]
                await sub.completed(op)
                unready = await http.get("/readyz")
                assert unready.status_code == 503 and "event broker" in unready.json()["reason"]
                refused = await sub.subscribe(FEED, {"id": company})
                [error] = (await sub.next(refused))["errors"]
                assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
                await sub.completed(refused)
                # writes go on: the graph has them, no feed does
                await record(gql, admin, [company], "2025-01-01T11:00:00Z", summary="during")

                cable.mend()
                await ready(http)
                again = await sub.subscribe(FEED, {"id": company})
                await subscribed(http, 1)
                await record(gql, admin, [company], "2025-01-01T12:00:00Z", summary="after")
                assert await summaries(sub, again, 1) == ["after"]


def test_events_takes_only_a_redis_url(tmp_path: Path) -> None:
    graph = f"sqlite:///{tmp_path / 'g.db'}"
    served = run("serve", "--graph", graph, "--create", "--events", "nats://127.0.0.1:4222")
    assert served.returncode != 0
    assert "--events takes a Redis URL" in served.stderr
    assert "Traceback" not in served.stderr


async def pinned(base: str, taken: set[int]) -> tuple[httpx.AsyncClient, int]:
    """A client kept on one connection to a `serve --workers` process not in `taken`
    (the kernel hands each new connection to one of them), and that process's id."""
    for _ in range(200):
        http = httpx.AsyncClient(base_url=base, headers=SIGNED_IN, timeout=30)
        process = (await http.get("/healthz")).json()["process"]
        if process not in taken:
            return http, process
        await http.aclose()
        await asyncio.sleep(0.05)
    raise AssertionError(f"no process other than {taken} answered")


async def test_serve_workers_runs_processes_on_one_port_that_share_live_feeds(
    tmp_path: Path, redis_url: str
) -> None:
    """Two workers of one `serve` (the embedded store, the demo): each answers on the one
    port, the demo is loaded once, and a subscriber hears what either records."""
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    server, base = serve(url, "--create", "--demo", "--events", redis_url, "--workers", "2")
    try:
        first, one = await pinned(base, set())
        second, two = await pinned(base, {one})
        for worker in (one, two):  # each a child of the one `serve`
            status = await asyncio.to_thread(Path(f"/proc/{worker}/status").read_text)
            assert f"\nPPid:\t{server.pid}\n" in status
        found = await ask(
            first,
            "",
            '{ parties(search: "Nordwind Logistics AG", first: 5) { totalCount '
            "edges { node { id } } } viewer { id } }",
        )
        assert found["parties"]["totalCount"] == 1  # not loaded by each worker
        company = found["parties"]["edges"][0]["node"]["id"]
        author = found["viewer"]["id"]
        async with Subscriber.connect(
            base.removeprefix("http://"), TRANSPORT_WS, DEMO_TOKEN
        ) as sub:
            op = await sub.subscribe(FEED, {"id": company})
            for _ in range(500):  # live on whichever process holds the socket
                held = [(await c.get("/healthz")).json()["subscribers"] for c in (first, second)]
                if sum(held) == 1:
                    break
                await asyncio.sleep(0.01)
            assert sum(held) == 1
            for number, through in enumerate((first, second, second, first)):
                activity = {"type": "NOTE", "summary": f"event {number}", "authorId": author}
                await ask(through, "", RECORD, i={**activity, "subjectIds": [company]})
            # one of the two wrote through a process the subscriber is not on
            assert await summaries(sub, op, 4) == [f"event {n}" for n in range(4)]
        await first.aclose()
        await second.aclose()
    finally:
        output = stop(server)
    assert "Traceback" not in output, output


async def test_worklist_changes_cross_processes_and_overdue_is_told_once(
    graph_url: str, redis_url: str
) -> None:
    """Two app instances on one graph and one Redis, their overdue watches on one clock:
    a step opened through one reaches a subscriber on the other, and when it falls due
    one of the two claims it, so it is told once."""
    clock = ManualClock()
    settings = Settings(create=True, graph_url=graph_url, events_url=redis_url)
    async with (
        live_server(settings, clock) as one,
        live_server(settings, clock) as two,
        client_for(one, timeout=30) as http_one,
        client_for(two, timeout=30) as http_two,
    ):
        gql = GraphQL(http_one)
        await ready(http_one)
        await ready(http_two)
        manager = await user(gql, "bea")
        [party] = await clients_of(gql, "broker-follow", manager)
        async with Subscriber.connect(two, TRANSPORT_WS) as sub:
            op = await sub.subscribe(WORKLIST, {"u": manager})
            await subscribed(http_two, 1)
            await signed(gql, manager, party)  # through the other process
            assert (await change(sub, op))["change"] == "OPENED"

            clock.advance(timedelta(days=15))
            assert (await change(sub, op))["change"] == "OVERDUE"
            await clock.settled(watches=2)  # both looked: the other found it claimed
            await record(gql, manager, [party], "2025-03-02T10:00:00Z")  # the CALL
            assert (await change(sub, op))["change"] == "DONE"
