"""Request ids and the server's log lines: JSON or text, each carrying its request's id."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from test_cli import run
from test_neo4j_server import DEMO_TOKEN, serve, stop

SERVER_MADE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
QUERY = {"query": "query Logged { viewer { id } }"}
ECHOED = ("contactgraph serving ", "demo administrator ")  # the CLI's own words, not logs


async def test_the_request_id_round_trips_and_a_hostile_one_is_replaced(
    http: httpx.AsyncClient,
) -> None:
    sane = "import-42/row:7"
    for method, path in (("POST", "/graphql"), ("GET", "/healthz"), ("GET", "/nowhere")):
        response = await http.request(
            method, path, json=QUERY if method == "POST" else None, headers={"X-Request-Id": sane}
        )
        assert response.headers["x-request-id"] == sane, path
    refused = await http.post(
        "/graphql", json=QUERY, headers={"X-Request-Id": sane, "Authorization": "Bearer no"}
    )
    assert refused.status_code == 401 and refused.headers["x-request-id"] == sane

    made = set()
    for hostile in ("a" * 129, "evil\x7fid", "tab\there", 'quote"d', "new\\nline", ""):
        response = await http.post("/graphql", json=QUERY, headers={"X-Request-Id": hostile})
        assert response.status_code == 200
        echoed = response.headers["x-request-id"]
        assert SERVER_MADE.fullmatch(echoed), (hostile, echoed)
        made.add(echoed)
    assert len(made) == 6  # one of its own for each


def log_lines(output: str) -> list[dict[str, object]]:
    """Every line the server wrote, each a JSON object (the CLI's own words aside)."""
    lines = [line for line in output.splitlines() if line and not line.startswith(ECHOED)]
    return [json.loads(line) for line in lines]


async def test_json_log_lines_carry_the_request_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTGRAPH_LOG_FORMAT", "json")  # as the flag's variable
    server, base = serve(f"sqlite:///{tmp_path / 'g.db'}", "--create", "--demo")
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            answered = await http.post(
                "/graphql",
                json=QUERY,
                headers={"X-Request-Id": "trace-me-42", "Authorization": f"Bearer {DEMO_TOKEN}"},
            )
            assert "errors" not in answered.json()
            refused = await http.post(
                "/graphql",
                json=QUERY,
                headers={"X-Request-Id": "refused-7", "Authorization": "Bearer cgt_unknown"},
            )
            assert refused.status_code == 401
    finally:
        output = stop(server)
    lines = log_lines(output)
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    [access] = [line for line in lines if line["request_id"] == "trace-me-42"]
    assert access["logger"] == "contactgraph.access" and access["level"] == "INFO"
    assert access["status"] == 200 and access["transport"] == "http"
    assert access["operation"] == "Logged" and access["outcome"] == "ok"
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] > 0
    # every line written while the refused request was handled carries its id
    refusal = [line for line in lines if line["request_id"] == "refused-7"]
    assert [line["logger"] for line in refusal] == ["contactgraph.access", "contactgraph.access"]
    assert "refused a token" in str(refusal[0]["message"])
    assert refusal[1]["outcome"] == "UNAUTHENTICATED" and refusal[1]["status"] == 401
    started = [line for line in lines if "startup complete" in str(line["message"])]
    assert started and started[0]["request_id"] is None  # outside any request


async def test_text_log_lines_carry_the_request_id(tmp_path: Path) -> None:
    server, base = serve(f"sqlite:///{tmp_path / 'g.db'}", "--create", "--demo")
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            headers = {"X-Request-Id": "plain-1", "Authorization": f"Bearer {DEMO_TOKEN}"}
            await http.post("/graphql", json=QUERY, headers=headers)
    finally:
        output = stop(server)
    [access] = [line for line in output.splitlines() if "[plain-1]" in line]
    assert " INFO contactgraph.access [plain-1] POST /graphql 200 Logged ok " in access


def test_log_format_takes_only_text_or_json(tmp_path: Path) -> None:
    served = run("serve", "--graph", f"sqlite:///{tmp_path / 'g.db'}", "--log-format", "xml")
    assert served.returncode == 2
    assert "--log-format" in served.stderr and "'text', 'json'" in served.stderr
    assert "Traceback" not in served.stderr
