"""/metrics: what it counts, who may read it, and its sums over `serve --workers`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from access import admin_secret, bearer, user_token
from live import TRANSPORT_WS, Subscriber, client_for, live_server, subscribed
from prometheus_client.parser import text_string_to_metric_families
from test_broker import pinned
from test_cli import run
from test_logs import log_lines
from test_neo4j_server import serve, stop

from contactgraph.app import create_app
from contactgraph.config import Settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SCRAPE_TOKEN = "scrape-0123456789abcdef"
FEED = "subscription($id: ID!) { activityAdded(subjectId: $id) { summary } }"


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of a metric's samples that carry these labels (and any others)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def operations(samples: Samples, operation: str, outcome: str, transport: str = "http") -> float:
    labels = {"transport": transport, "operation": operation, "outcome": outcome}
    count = value(samples, "contactgraph_graphql_operations_total", **labels)
    # every operation counted is timed too
    assert value(samples, "contactgraph_graphql_operation_seconds_count", **labels) == count
    return count


def kind(graph_url: str) -> str:
    return "sqlite" if graph_url.startswith("sqlite") else "neo4j"


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, str, str]]:
    """The app in-process, a client without credentials, an admin's and a reader's secret."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        store = app.state.store
        admin = await admin_secret(store)
        _, reader = await user_token(store, "rita", "reader")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http, admin, reader


async def test_operations_are_counted_by_name_and_outcome(
    http: httpx.AsyncClient, graph_url: str
) -> None:
    before = await scrape(http)
    ok = await http.post(
        "/graphql", json={"query": "query Counted { parties(first: 1) { totalCount } }"}
    )
    assert ok.status_code == 200 and "errors" not in ok.json()
    bad = await http.post(
        "/graphql", json={"query": "query CountedBad { parties(first: -1) { totalCount } }"}
    )
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    refused = await http.post(
        "/graphql",
        json={"query": "query CountedRefused { viewer { id } }"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert refused.status_code == 401
    after = await scrape(http)

    def moved(operation: str, outcome: str) -> float:
        return operations(after, operation, outcome) - operations(before, operation, outcome)

    assert moved("Counted", "ok") == 1
    assert moved("CountedBad", "BAD_USER_INPUT") == 1
    # refused before its body was read: its name is not known
    assert moved("unknown", "UNAUTHENTICATED") == 1
    trips = "contactgraph_store_round_trips_total"
    labels = {"store": kind(graph_url), "method": "list_parties"}
    # one read: the bad page size was refused before reaching the store
    assert value(after, trips, **labels) - value(before, trips, **labels) == 1
    assert value(after, "process_resident_memory_bytes") > 0  # the standard process metrics


async def test_an_operation_name_is_a_label_only_when_safe_and_among_the_first_hundred(
    http: httpx.AsyncClient,
) -> None:
    before = await scrape(http)
    names = [f"Name{n}" for n in range(101)]
    for name in names:
        await http.post("/graphql", json={"query": f"query {name} {{ viewer {{ id }} }}"})
    hostile = "query X { viewer { id } }"
    await http.post("/graphql", json={"query": hostile, "operationName": "x" * 65})
    await http.post("/graphql", json={"query": hostile, "operationName": 'a b{c="d"}'})
    after = await scrape(http)

    def moved(operation: str, outcome: str) -> float:
        return operations(after, operation, outcome) - operations(before, operation, outcome)

    assert all(moved(name, "ok") == 1 for name in names[:100])
    assert moved(names[100], "ok") == 0
    # the 101st name, and the two names no document holds (refused, not executed)
    assert moved("other", "ok") == 1
    assert moved("other", "BAD_REQUEST") == 2
    assert not any(name.startswith("a b") or "x" * 65 in str(labels) for name, labels in after)


async def test_metrics_need_an_administrator_or_the_scrape_token(graph_url: str) -> None:
    settings = Settings(create=True, graph_url=graph_url, metrics_token=SCRAPE_TOKEN)
    async with app_client(settings) as (http, admin, reader):
        anonymous = await http.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        wrong = await http.get("/metrics", headers=bearer("scrape-not-the-token-at-all"))
        assert wrong.status_code == 401
        refused = await http.get("/metrics", headers=bearer(reader))
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "contactgraph_" not in refused.text
        for secret in (admin, SCRAPE_TOKEN):
            samples = await scrape(http, **bearer(secret))
            assert ("contactgraph_active_subscriptions", frozenset()) in samples


async def test_without_a_scrape_token_only_administrators_read_metrics(tmp_path: Path) -> None:
    settings = Settings(create=True, graph_url=f"sqlite:///{tmp_path / 'g.db'}")
    async with app_client(settings) as (http, admin, reader):
        assert (
            await http.get("/metrics", headers=bearer("anything-at-all-long"))
        ).status_code == 401
        assert (await http.get("/metrics", headers=bearer(reader))).status_code == 403
        assert (await http.get("/metrics", headers=bearer(admin))).status_code == 200


def test_a_short_scrape_token_is_refused(tmp_path: Path) -> None:
    graph = f"sqlite:///{tmp_path / 'g.db'}"
    served = run("serve", "--graph", graph, "--create", "--metrics-token", "short")
    assert served.returncode != 0
    assert "--metrics-token" in served.stderr and "at least 16" in served.stderr
    assert "Traceback" not in served.stderr


async def test_a_subscription_raises_the_gauge_and_websocket_operations_count(
    graph_url: str,
) -> None:
    gauge = "contactgraph_active_subscriptions"
    settings = Settings(create=True, graph_url=graph_url)
    async with live_server(settings) as address, client_for(address, timeout=30) as http:
        created = await http.post(
            "/graphql",
            json={"query": 'mutation { createOrganization(input: {name: "Acme"}) { id } }'},
        )
        company = created.json()["data"]["createOrganization"]["id"]
        before = await scrape(http)
        assert value(before, gauge) == 0
        async with Subscriber.connect(address, TRANSPORT_WS) as sub:
            await sub.subscribe(FEED, {"id": company})  # open until the client leaves
            await subscribed(http, 1)
            assert value(await scrape(http), gauge) == 1
            query = await sub.subscribe("query OverSocket { viewer { id } }")
            assert "errors" not in await sub.next(query)
            await sub.completed(query)
        await subscribed(http, 0)  # the client left: its socket closed
        after = await scrape(http)
        assert value(after, gauge) == 0
        assert (
            operations(after, "OverSocket", "ok", "websocket")
            - operations(before, "OverSocket", "ok", "websocket")
            == 1
        )
        for queue in ("feed", "listener"):
            assert value(after, "contactgraph_event_queue_depth", queue=queue) == 0


async def test_serve_workers_sum_their_metrics(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers of one `serve --demo` on loopback (where /metrics is open): whichever is
    scraped counts the operations both answered, from files in a private directory of
    the server's temporary one, which is gone once it stops; both log JSON lines."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    flags = ("--create", "--demo", "--events", redis_url, "--workers", "2", "--log-format", "json")
    server, base = serve(url, *flags)
    try:
        [shared] = temporary.iterdir()
        assert shared.name.startswith("contactgraph-metrics-")
        first, one = await pinned(base, set())
        second, two = await pinned(base, {one})
        assert one != two
        for through, times in ((first, 3), (second, 2)):
            for _ in range(times):
                answer = await through.post(
                    "/graphql", json={"query": "query Summed { viewer { id } }"}
                )
                assert "errors" not in answer.json()
        anonymous = httpx.AsyncClient(base_url=base)
        for _ in range(20):  # connections land on either worker: each sums both
            samples = await scrape(anonymous)
            assert operations(samples, "Summed", "ok") == 5
        assert {path.suffix for path in shared.iterdir()} == {".db"}
        memory = {
            dict(labels)["pid"]: used
            for (name, labels), used in samples.items()
            if name == "process_resident_memory_bytes"
        }
        assert set(memory) == {str(one), str(two)} and min(memory.values()) > 0
        await asyncio.gather(first.aclose(), second.aclose(), anonymous.aclose())
    finally:
        output = stop(server)
    assert "Traceback" not in output, output
    assert list(temporary.iterdir()) == []
    summed = [line for line in log_lines(output) if line.get("operation") == "Summed"]
    assert len(summed) == 5 and all(line["outcome"] == "ok" for line in summed)


def test_a_short_scrape_token_from_the_environment_is_refused(tmp_path: Path) -> None:
    graph = f"sqlite:///{tmp_path / 'g.db'}"
    served = run("serve", "--graph", graph, "--create", env={"CONTACTGRAPH_METRICS_TOKEN": "x"})
    assert served.returncode != 0
    assert "--metrics-token" in served.stderr and "Traceback" not in served.stderr
