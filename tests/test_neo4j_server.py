"""contactgraph on Neo4j as an operator runs it: seed, migrate, serve, and survive an outage."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cable import Cable
from test_cli import CLI, free_port, run

ROOT = Path(__file__).resolve().parents[1]
NEO4J_LOCAL = ROOT / "tools" / "neo4j-local"
TREE = """{ parties(search: "Nordwind", filter: {kinds: [ORGANIZATION]}, first: 20) {
  totalCount edges { node { displayName children { displayName }
  timeline(first: 3) { edges { node { type summary author { username } } } } } } } }"""


DEMO_TOKEN = "cgt_demo-token-of-the-neo4j-tests"


def post(base: str, query: str, timeout: float = 30, status: int = 200) -> dict:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
        timeout=timeout,
    )
    assert response.status_code == status, response.text
    return response.json()


def wait_ready(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{base} was not ready within {seconds} s")


def serve(url: str, *flags: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--graph", url, "--port", str(port), *flags],
        env={**os.environ, "CONTACTGRAPH_DEMO_TOKEN": DEMO_TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_ready(base)
    return process, base


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output


def test_migrate_seed_and_serve_the_demo_like_the_embedded_store(
    neo4j_url: str, tmp_path: Path
) -> None:
    assert run("migrate", "--graph", neo4j_url).returncode == 0
    assert run("migrate", "--graph", neo4j_url).returncode == 0  # idempotent
    seeded = run("seed", "--demo", "--graph", neo4j_url)
    assert seeded.returncode == 0, seeded.stderr
    assert "seeded 41 parties, 51 relationships, 324 activities" in seeded.stdout
    sqlite_url = f"sqlite:///{tmp_path / 'twin.db'}"

    answers = []
    for url in (neo4j_url, sqlite_url):
        process, base = serve(url, "--demo", "--create")  # the twin is a new file
        try:
            answers.append(post(base, TREE))
        finally:
            stop(process)
    on_neo4j, on_sqlite = answers
    assert on_neo4j["data"]["parties"]["totalCount"] == 3
    # the demo's dates are relative to the moment it loads, so compare everything else
    assert on_neo4j == on_sqlite


def test_seed_synthetic_into_neo4j(neo4j_url: str) -> None:
    result = run("seed", "--synthetic", "1500", "--batch-size", "500", "--graph", neo4j_url)
    assert result.returncode == 0, result.stderr
    assert "seeded 1500 parties" in result.stdout


def test_wrong_credentials_stop_the_server_with_one_line(neo4j_url: str) -> None:
    result = run(
        "serve",
        "--graph",
        neo4j_url,
        "--port",
        str(free_port()),
        env={"CONTACTGRAPH_NEO4J_PASSWORD": "not-the-password"},
    )
    assert result.returncode != 0
    assert "cannot use Neo4j" in result.stderr
    assert "Traceback" not in result.stderr


@contextlib.contextmanager
def through_cable(neo4j_url: str, *flags: str) -> Iterator[tuple[Cable, str]]:
    """The demo served over a line to Neo4j the test may cut: the cable and the server's
    address; every request checks its token in the store, so a read comes first."""
    assert run("seed", "--demo", "--graph", neo4j_url).returncode == 0
    with Cable.to(neo4j_url) as cable:
        url = f"bolt://127.0.0.1:{cable.port}"
        process, base = serve(url, "--demo", "--auth-cache-seconds", "0", *flags)
        try:
            assert post(base, TREE)["data"]["parties"]["totalCount"] == 3
            yield cable, base
        finally:
            output = stop(process)
    assert "Traceback" not in output


def test_an_outage_is_reported_promptly_and_healed_without_a_restart(neo4j_url: str) -> None:
    """The server reaches Neo4j over a line the test cuts (every connection closed, new
    ones refused, as when Neo4j stops) and mends."""
    with through_cable(neo4j_url) as (cable, base):
        cable.cut()

        started = time.monotonic()
        ready = httpx.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        body = post(base, TREE, status=503)
        elapsed = time.monotonic() - started
        assert "data" not in body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "Traceback" not in str(body)
        assert elapsed < 15, f"an outage took {elapsed:.1f} s to report"

        cable.mend()
        wait_ready(base)
        assert post(base, TREE)["data"]["parties"]["totalCount"] == 3


def test_a_read_whose_connection_drops_is_tried_again_on_another(neo4j_url: str) -> None:
    """Neo4j, or a firewall between, may drop a pooled connection as a statement is on its
    way: a read then runs again on another connection (as the driver's managed
    transactions do) instead of answering SERVICE_UNAVAILABLE."""
    with through_cable(neo4j_url) as (cable, base):
        cable.drop_next()
        body = post(base, TREE)
        assert cable.dropped == 1
        assert "errors" not in body, body
        assert body["data"]["parties"]["totalCount"] == 3


def test_a_neo4j_that_stops_answering_times_requests_out_and_is_used_again(
    neo4j_url: str,
) -> None:
    """A statement whose answer never comes ends at the request's deadline (the driver's
    socket waits are the server's own, graph/neo4j/socket_waits.py), and the connection it
    held is not used again: once Neo4j answers, so does the server."""
    with through_cable(neo4j_url, "--request-timeout", "1") as (cable, base):
        cable.hold()
        started = time.monotonic()
        response = httpx.post(
            f"{base}/graphql",
            json={"query": TREE},
            headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
            timeout=30,
        )
        elapsed = time.monotonic() - started
        body = response.json()
        assert "data" not in body or body["data"] is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["TIMEOUT"], body
        assert elapsed < 5, f"a request held by Neo4j took {elapsed:.1f} s to end"
        cable.release()
        assert post(base, TREE)["data"]["parties"]["totalCount"] == 3
