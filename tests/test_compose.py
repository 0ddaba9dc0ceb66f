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


def test_replicas_wait_for_the_schema_and_the_broker_and_are_wired_by_environment() -> None:
    services = COMPOSE["services"]
    setup, server = services["setup"], services["contactgraph"]
    assert setup["build"] == server["build"] == "."
    assert setup["command"] == ["contactgraph", "migrate"]
    assert setup["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert server["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert server["depends_on"]["redis"]["condition"] == "service_healthy"
    assert server["deploy"]["replicas"] == 2
    env = server["environment"]
    assert env["CONTACTGRAPH_GRAPH"] == "bolt://neo4j:7687"
    assert env["CONTACTGRAPH_EVENTS"] == "redis://redis:6379"
    assert set(env) <= known_envvars(), set(env) - known_envvars()
    assert set(setup["environment"]) <= known_envvars()
    # one password for both services
    neo4j_auth = services["neo4j"]["environment"]["NEO4J_AUTH"]
    password = re.search(r"\$\{(\w+)", neo4j_auth).group(1)
    assert env["CONTACTGRAPH_NEO4J_PASSWORD"].startswith("${" + password)
    assert env["CONTACTGRAPH_HOST"] == "0.0.0.0"
    assert "ports" not in server  # replicas are reached through the proxy only


def test_the_proxy_balances_http_and_websockets_over_the_replicas() -> None:
    proxy = COMPOSE["services"]["proxy"]
    assert proxy["depends_on"]["contactgraph"]["condition"] == "service_healthy"
    source, target = proxy["volumes"][0].split(":")[:2]
    assert target == "/etc/nginx/nginx.conf"
    conf = (ROOT / source).read_text()
    server_port = COMPOSE["services"]["contactgraph"]["environment"]["CONTACTGRAPH_PORT"]
    assert f"server contactgraph:{server_port}" in conf
    assert "proxy_set_header Upgrade $http_upgrade" in conf
    assert "proxy_http_version 1.1" in conf
    listen = re.search(r"listen (\d+);", conf).group(1)
    assert proxy["ports"][0].endswith(f":{listen}")
    redis = COMPOSE["services"]["redis"]
    assert redis["image"].startswith("redis:7") and "redis-cli" in redis["healthcheck"]["test"]


def test_dockerfile_installs_the_package_and_serves() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.11" in dockerfile
    assert "pip install --no-cache-dir ." in dockerfile
    assert 'CMD ["contactgraph", "serve"]' in dockerfile
    assert "/readyz" in dockerfile  # the healthcheck asks the store, not just the process
