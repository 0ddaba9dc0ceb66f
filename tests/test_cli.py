"""The `contactgraph` command as a user runs it: a subprocess, a real uvicorn, real files."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contactgraph.config import FLAGS, default_hosts

# the console script pip installed next to this interpreter, as a user runs it
CLI = [str(Path(sys.executable).with_name("contactgraph"))]
README = Path(__file__).resolve().parents[1] / "README.md"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


DEMO_TOKEN = "cgt_demo-token-of-the-cli-tests"
SIGNED_IN = {"Authorization": f"Bearer {DEMO_TOKEN}"}


@dataclass
class Served:
    """A running `contactgraph serve`: its address, and once it stopped, what it printed."""

    url: str
    output: str = ""


@contextmanager
def serving(database: Path, *flags: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`contactgraph serve FLAGS` on a free port, its graph in `database` and configured
    through the environment, until it is stopped with SIGTERM and found to stop cleanly."""
    port = free_port()
    environment = {
        **os.environ,
        "CONTACTGRAPH_GRAPH": f"sqlite:///{database}",
        "CONTACTGRAPH_CREATE": "1",
        "CONTACTGRAPH_PORT": str(port),
        **(env or {}),
    }
    process = subprocess.Popen(
        [*CLI, "serve", *flags],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"server did not become ready: {process.communicate()[0]}")
    try:
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        served.output, _ = process.communicate(timeout=15)
    # uvicorn shuts down cleanly, then re-raises the signal it was stopped with
    assert process.returncode in (0, -signal.SIGTERM), served.output
    assert "Application shutdown complete" in served.output
    assert "Traceback" not in served.output


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`contactgraph serve --demo` on a free port."""
    env = {"CONTACTGRAPH_DEMO_TOKEN": DEMO_TOKEN}
    with serving(tmp_path / "served.db", "--demo", env=env) as served:
        yield served.url
    assert f"demo administrator (anna.keller): Authorization: Bearer {DEMO_TOKEN}" in served.output


def test_help_explains_every_command() -> None:
    top = run("--help")
    assert top.returncode == 0
    assert "serve" in top.stdout and "seed" in top.stdout
    serve_help = run("serve", "--help").stdout
    for flag in (
        "--graph",
        "--host",
        "--port",
        "--demo",
        "CONTACTGRAPH_GRAPH",
        "CONTACTGRAPH_PORT",
    ):
        assert flag in serve_help
    seed_help = run("seed", "--help").stdout
    for flag in ("--demo", "--synthetic", "--seed", "CONTACTGRAPH_SEED_SYNTHETIC"):
        assert flag in seed_help


def test_every_setting_is_a_documented_serve_flag() -> None:
    serve_help = run("serve", "--help").stdout
    readme = README.read_text()
    for setting in FLAGS:
        flag = "--" + setting.name.replace("_", "-")
        assert flag in serve_help and f"CONTACTGRAPH_{setting.name.upper()}" in serve_help
        assert f"`{flag}" in readme, flag


def test_serve_answers_graphql_over_a_real_socket(server: str) -> None:
    query = """{ parties(search: "Nordwind Logistics AG", first: 1) { edges { node {
        displayName children { displayName }
        timeline(first: 3) { edges { node { summary } } } } } } }"""
    anonymous = httpx.post(f"{server}/graphql", json={"query": query}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    response = httpx.post(f"{server}/graphql", json={"query": query}, headers=SIGNED_IN, timeout=10)
    assert response.status_code == 200
    [edge] = response.json()["data"]["parties"]["edges"]
    assert edge["node"]["displayName"] == "Nordwind Logistics AG"
    assert [c["displayName"] for c in edge["node"]["children"]] == [
        "Nordwind Hamburg",
        "Nordwind Munich",
    ]
    assert len(edge["node"]["timeline"]["edges"]) == 3
    created = httpx.post(
        f"{server}/graphql",
        json={"query": 'mutation { createContact(input: {lastName: "Socket"}) { displayName } }'},
        headers=SIGNED_IN,
        timeout=10,
    )
    assert created.json() == {"data": {"createContact": {"displayName": "Socket"}}}


def test_the_demo_page_signs_its_visitor_in(server: str) -> None:
    """On loopback the GraphiQL page carries the demo token: the README's first command
    opens a page that works without pasting anything (tests/browser: that it sends it)."""
    page = httpx.get(f"{server}/graphql", headers={"accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    config = re.search(r'id="page-config">(.*?)</script>', page.text)
    assert config is not None, page.text
    assert json.loads(config[1])["headers"] == SIGNED_IN


def test_seed_demo_then_refuse_a_second_seed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = run("seed", "--demo", "--graph", url)
    assert first.returncode == 0, first.stderr
    assert "seeded 41 parties, 51 relationships, 314 activities" in first.stdout
    again = run("seed", "--demo", "--graph", url)
    assert again.returncode != 0
    assert "already holds parties" in again.stderr


def test_seed_synthetic_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'synthetic.db'}"
    result = run(
        "seed",
        env={"CONTACTGRAPH_GRAPH": url, "CONTACTGRAPH_SEED_SYNTHETIC": "1200", "CI": "true"},
    )
    assert result.returncode == 0, result.stderr
    assert "seeded 1200 parties" in result.stdout


def test_seed_needs_exactly_one_source(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run("seed", "--graph", url).returncode == 2
    assert run("seed", "--demo", "--synthetic", "5", "--graph", url).returncode == 2


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://localhost/db", "unsupported graph URL"),
        ("sqlite:////no/such/directory/graph.db", "does not exist"),
        ("sqlite:///", "sqlite:///relative/path.db"),
    ],
)
def test_serve_refuses_a_graph_it_cannot_open(url: str, message: str) -> None:
    result = run("serve", "--graph", url, "--port", str(free_port()))
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("these are not the pages you are looking for\n" * 200)
    result = run("serve", "--graph", f"sqlite:///{junk}", "--port", str(free_port()))
    assert result.returncode != 0
    assert "not a usable database" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_workers_without_a_shared_event_bus(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    port = str(free_port())
    result = run("serve", "--graph", url, "--create", "--port", port, "--workers", "2")
    assert result.returncode == 2
    assert "--workers" in result.stderr and "--events redis://" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "graph.db").exists()  # refused before anything was opened


def test_the_hosts_answered_by_default_follow_the_bound_address() -> None:
    assert set(default_hosts("127.0.0.1")) == {"localhost", "127.0.0.1", "[::1]"}
    assert "10.1.2.3" in default_hosts("10.1.2.3")
    assert "[fd00::5]" in default_hosts("fd00::5")
    everywhere = default_hosts("0.0.0.0")
    assert socket.gethostname().lower() in everywhere and "localhost" in everywhere
