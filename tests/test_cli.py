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
from concurrent.futures import ThreadPoolExecutor
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
NARROW = {"COLUMNS": "80"}


@dataclass
class Served:
    """A running `contactgraph serve`: its address, and once it stopped, what it printed."""

    url: str
    output: str = ""


@contextmanager
def serving(graph: Path | str, *flags: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`contactgraph serve FLAGS` on a free port, its graph in `graph` (an embedded
    database's file, or a graph URL) and configured through the environment, until it is
    stopped with SIGTERM and found to stop cleanly."""
    port = free_port()
    environment = {
        **os.environ,
        "CONTACTGRAPH_GRAPH": graph if isinstance(graph, str) else f"sqlite:///{graph}",
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
    for flag in ("--demo", "--synthetic", "--seed", "CONTACTGRAPH_SYNTHETIC"):
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
    assert "seeded 41 parties, 51 relationships, 324 activities" in first.stdout
    again = run("seed", "--demo", "--graph", url)
    assert again.returncode != 0
    assert "already holds parties" in again.stderr


def test_seed_synthetic_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'synthetic.db'}"
    result = run(
        "seed",
        env={"CONTACTGRAPH_GRAPH": url, "CONTACTGRAPH_SYNTHETIC": "1200", "CI": "true"},
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


def test_a_database_path_the_user_may_not_write_says_so() -> None:
    # even root may not make a file in sysfs: the one refusal every machine gives
    result = run("serve", "--graph", "sqlite:////sys/contactgraph.db", "--create")
    assert result.returncode == 1
    assert "cannot open '/sys/contactgraph.db': permission denied" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_names_the_port_it_bound_and_refuses_one_in_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    process = subprocess.Popen(
        [*CLI, "serve", "--graph", url, "--create", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        banner = next(line for line in process.stderr if "contactgraph serving" in line)
        address = banner.split(" at ")[1].strip().removesuffix("/graphql")
        port = int(address.rsplit(":", 1)[1])
        assert port != 0
        # the port is bound before the banner: a client that reads it can connect at once
        health = httpx.get(f"{address}/healthz", timeout=30).json()
        assert health["process"] == process.pid
        taken = run("serve", "--graph", url, "--port", str(port))
        assert taken.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in taken.stderr
        assert "contactgraph serving" not in taken.stderr and "Traceback" not in taken.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)


def _narrow_helps() -> dict[tuple[str, ...], str]:
    """Every command's and subcommand's help at 80 columns, found from the help listings
    as a user finds them; one level's are asked at once, each a process of its own."""
    helps: dict[tuple[str, ...], str] = {}
    level: list[tuple[str, ...]] = [()]
    with ThreadPoolExecutor() as pool:
        while level:
            texts = list(pool.map(lambda path: run(*path, "--help", env=NARROW).stdout, level))
            helps |= dict(zip(level, texts, strict=True))
            level = [
                (*path, line.split()[0])
                for path, text in zip(level, texts, strict=True)
                for line in text.partition("\nCommands:\n")[2].splitlines()
                if line.strip()
            ]
    return helps


def _option_entries(help_text: str) -> list[str]:
    """Each option's entry of a help text on one line, however it was wrapped."""
    entries: list[str] = []
    for line in help_text.splitlines():
        if line.startswith("  -"):
            entries.append(line)
        elif entries and line.startswith("   "):
            entries[-1] += " " + line
    return [" ".join(entry.split()) for entry in entries]


def test_help_is_never_cut_and_one_option_has_one_environment_variable() -> None:
    seen: dict[str, str] = {}
    for command, narrow in _narrow_helps().items():
        cut = [line for line in narrow.splitlines()[1:] if line.rstrip().endswith("...")]
        assert not cut, (command, cut)
        for entry in _option_entries(narrow):
            if "[env var: " not in entry:
                continue
            option = entry.split()[0].rstrip(",")
            variable = entry.split("[env var: ")[1].split(";")[0].split("]")[0]
            # CONTACTGRAPH_ and the option's name; a repeatable option's in the plural
            expected = "CONTACTGRAPH_" + option[2:].replace("-", "_").upper()
            assert variable in (expected, expected + "S"), (command, option, variable)
            assert seen.setdefault(option, variable) == variable, (command, option)
    assert seen["--demo"] == "CONTACTGRAPH_DEMO" and seen["--graph"] == "CONTACTGRAPH_GRAPH"


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
