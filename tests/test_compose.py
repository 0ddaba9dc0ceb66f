"""compose.yaml and the Dockerfile, checked in their structure (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from contactgraph.cli import main

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def known_envvars() -> set[str]:
    """Every CONTACTGRAPH_* variable the CLI reads, plus the Neo4j credentials."""
    names = {"CONTACTGRAPH_NEO4J_USER", "CONTACTGRAPH_NEO4J_PASSWORD"}
    for command in main.commands.values():
        names |= {p.envvar for p in command.params if isinstance(p.envvar, str)}
    return names


def test_neo4j_service_is_community_5_26_with_auth_a_volume_and_a_healthcheck() -> None:
    neo4j = COMPOSE["services"]["neo4j"]
    assert neo4j["image"] == "neo4j:5.26-community"
    assert neo4j["environment"]["NEO4J_AUTH"].startswith("neo4j/${NEO4J_PASSWORD")
    volume, target = neo4j["volumes"][0].split(":")
    assert target == "/data" and volume in COMPOSE["volumes"]
    check = neo4j["healthcheck"]
    assert "cypher-shell" in " ".join(check["test"]) and check["retries"] > 1
    assert "7687:7687" in neo4j["ports"][0]


def test_server_waits_for_a_healthy_neo4j_and_is_wired_by_environment() -> None:
    server = COMPOSE["services"]["contactgraph"]
    assert server["build"] == "."
    assert server["depends_on"]["neo4j"]["condition"] == "service_healthy"
    env = server["environment"]
    assert env["CONTACTGRAPH_GRAPH"] == "bolt://neo4j:7687"
    assert set(env) <= known_envvars(), set(env) - known_envvars()
    # one password for both services
    neo4j_auth = COMPOSE["services"]["neo4j"]["environment"]["NEO4J_AUTH"]
    password = re.search(r"\$\{(\w+)", neo4j_auth).group(1)
    assert env["CONTACTGRAPH_NEO4J_PASSWORD"].startswith("${" + password)
    assert env["CONTACTGRAPH_HOST"] == "0.0.0.0"
    assert server["ports"][0].endswith(f":{env['CONTACTGRAPH_PORT']}")


def test_dockerfile_installs_the_package_and_serves() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.11" in dockerfile
    assert "pip install --no-cache-dir ." in dockerfile
    assert 'CMD ["contactgraph", "serve"]' in dockerfile
    assert "/readyz" in dockerfile  # the healthcheck asks the store, not just the process
