"""Every example in the README, run as a reader would run it, top to bottom, against a
server holding the demo: GraphQL documents over HTTP (subscriptions over WebSocket), shell
blocks as bash scripts in a working directory of their own (on the embedded store, whose
file is the default `./contactgraph.db`). An example must answer without errors and show
something: no field of its answer is null and no list is empty, so a date that shows
nothing on some days fails here before it fails a reader."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, OperationType, parse, print_ast
from graphs import wipe
from live import SECRETS, TRANSPORT_WS, Subscriber, client_for, live_server, subscribed

from contactgraph.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PLACEHOLDER = re.compile(r"<(id of [^<>]+|one year ago|today|a week from today)>")
SYNTHETIC = re.compile(r"--synthetic (\d+)")
SYNTHETIC_HERE = 2000  # parties a synthetic seed of the README makes here, at most

# shell blocks a test cannot run as written, by their first line, and why
NOT_RUN = {
    "python3 -m venv .venv": "installs the package and serves until stopped",
    "tools/test": "runs this suite",
    "NEO4J_PASSWORD=choose-one docker compose": "needs a Docker engine (tests/test_compose.py)",
    'eval "$(tools/neo4j-local/start': "serves Neo4j until stopped (tests/test_neo4j_server.py)",
    "(cd tools/web && npm install": "rebuilds the committed web bundles from the npm registry",
    'export SCRAPE_TOKEN="$(openssl': "serves until stopped (tests/test_metrics.py scrapes so)",
    "OTEL_EXPORTER_OTLP_ENDPOINT=": "serves until stopped (tests/test_tracing.py traces so)",
    ".venv/bin/contactgraph export --format graphml": "needs the id of a party of the reader's "
    "graph (tests/test_subgraph_export.py runs these on the demo)",
}


@dataclass(frozen=True)
class Example:
    line: int
    language: str
    text: str


def examples() -> list[Example]:
    found = []
    readme = README.read_text()
    for match in FENCE.finditer(readme):
        line = readme.count("\n", 0, match.start()) + 1
        found.append(Example(line, match.group(1), match.group(2)))
    return found


def operations(example: Example) -> Iterator[tuple[OperationType, str]]:
    """Each operation of a GraphQL block; a text block that is not GraphQL fails here."""
    for definition in parse(example.text).definitions:
        assert isinstance(definition, OperationDefinitionNode), example.line
        yield definition.operation, print_ast(definition)


# the write that makes each subscription's first event, where the README shows it: a call
# on a unit below, and the document that does the open withdrawal step
CAUSES = {
    "activityAdded": 'mutation { recordActivity(input: {type: CALL, summary: "Fleet renewal", '
    'subjectIds: ["<id of Fleet Management>"]}) { id } }',
    "worklistChanged": "mutation { recordActivity(input: {type: DOCUMENT, summary: "
    '"Received the signed withdrawal-notice", subjectIds: ["<id of Sofia Marino>"]}) { id } }',
}
# fields whose null says something: a relationship with no `until` is still open
NULL_SAYS = {"until"}
# answers that hold both of these must show a difference between them
CONTRASTS = [("today", "lastYear")]


def blank(value: Any, path: str = "data", listed: bool = False) -> list[str]:
    """The paths of an answer that show nothing: nulls and empty lists, outside lists (an
    item of a list may lack what another has, as an edge without a role)."""
    if value is None or value == []:
        return [] if listed or path.rpartition(".")[2] in NULL_SAYS else [path]
    if isinstance(value, dict):
        same = [
            f"{path}: {a} = {b}" for a, b in CONTRASTS if a in value and value.get(b) == value[a]
        ]
        return same + [
            p for key, item in value.items() for p in blank(item, f"{path}.{key}", listed)
        ]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in blank(item, f"{path}[{i}]", True)]
    return []


class Reader:
    """Someone following the README against one server."""

    def __init__(self, address: str, http: httpx.AsyncClient) -> None:
        self.address = address
        self.http = http
        self.ids: dict[str, str] = {}

    async def ask(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        body = {"query": document, "variables": variables or {}}
        answer = (await self.http.post("/graphql", json=body)).json()
        assert "errors" not in answer, (document, answer["errors"])
        return answer["data"]

    async def fill(self, text: str) -> str:
        """The text with each placeholder replaced as the README says to."""
        for placeholder in set(PLACEHOLDER.findall(text)):
            text = text.replace(f"<{placeholder}>", await self.value(placeholder))
        return text

    async def value(self, placeholder: str) -> str:
        if placeholder == "one year ago":
            return (datetime.now(UTC) - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if placeholder in ("today", "a week from today"):
            days = 0 if placeholder == "today" else 7
            return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT00:00:00Z")
        name = placeholder.removeprefix("id of ")
        if name.startswith("the pipeline "):
            data = await self.ask("{ pipelines { id name } }")
            [found] = [p["id"] for p in data["pipelines"] if f"the pipeline {p['name']}" == name]
            return str(found)
        if name not in self.ids:
            data = await self.ask(
                "query ($name: String!) { parties(search: $name, first: 10)"
                " { edges { node { id displayName } } } }",
                {"name": name},
            )
            named = [
                e["node"] for e in data["parties"]["edges"] if e["node"]["displayName"] == name
            ]
            assert len(named) == 1, (name, data)
            self.ids[name] = named[0]["id"]
        return self.ids[name]

    async def run_graphql(self, example: Example) -> None:
        for kind, document in operations(example):
            document = await self.fill(document)
            if kind is OperationType.SUBSCRIPTION:
                data = await self.subscribe(document)
            else:
                data = await self.ask(document)
            # a write's answer may say it did nothing of a kind (no grants moved): only
            # its result must be there; a read must show something everywhere
            if kind is OperationType.MUTATION:
                assert None not in data.values(), (example.line, data)
            else:
                assert not blank(data), (example.line, blank(data), data)

    async def subscribe(self, document: str) -> dict[str, Any]:
        """The subscription's first event, caused by the write CAUSES names for its field."""
        [cause] = [write for field, write in CAUSES.items() if f"{field}(" in document]
        async with Subscriber.connect(self.address, TRANSPORT_WS) as subscriber:
            await subscribed(self.http, 0)  # the feed of an example before is gone
            op = await subscriber.subscribe(document)
            await subscribed(self.http, 1)  # live before the write
            await self.ask(await self.fill(cause))
            answer = await subscriber.next(op)
        assert "errors" not in answer, answer
        return answer["data"]

    def run_shell(self, example: Example, workdir: Path) -> None:
        script = example.text.replace("localhost:8000", f"localhost:{self.address.split(':')[1]}")
        # the reader's Neo4j is the suite's: the blocks back up and restore an empty one
        script = script.replace("bolt://localhost:7687", os.environ.get("NEO4J_URI", "-"))
        # a smaller synthetic graph: its size changes only how long the seed takes (the
        # generator's graph at size is tests/test_synthetic.py's)
        script = SYNTHETIC.sub(
            lambda m: f"--synthetic {min(int(m.group(1)), SYNTHETIC_HERE)}", script
        )
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "TOKEN": SECRETS[self.address],
            "CI": "true",
        }
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (example.line, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, (example.line, result.stderr)
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                answer = json.loads(line)
                assert "errors" not in answer and not blank(answer["data"]), (example.line, line)


def runnable_shell(example: Example) -> bool:
    first = example.text.lstrip().splitlines()[0]
    return not any(first.startswith(prefix) for prefix in NOT_RUN)


def test_the_examples_cover_the_readme() -> None:
    """Every block is GraphQL, a shell script run here or one listed with why not, or
    what a program prints (json: a log line) or a picture (unlabelled: the source
    layout); every placeholder is one the reader is told how to fill."""
    kinds = {example.language for example in examples()}
    assert kinds <= {"graphql", "text", "sh", "json", ""}, kinds
    skipped = [e for e in examples() if e.language == "sh" and not runnable_shell(e)]
    assert len(skipped) == len(NOT_RUN)
    # a server runs until stopped: such a block cannot run here and must say why
    serving = [e.line for e in examples() if "contactgraph serve" in e.text]
    assert all(not runnable_shell(e) for e in examples() if e.line in serving), serving
    for example in examples():
        if example.language in ("graphql", "text"):
            assert list(operations(example)), example.line
        for placeholder in re.findall(r"<[^<>\s][^<>]*>", example.text):
            if example.language in ("graphql", "text"):
                assert PLACEHOLDER.fullmatch(placeholder), (example.line, placeholder)


async def test_every_readme_example_runs(
    graph_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    embedded = graph_url.startswith("sqlite")
    if embedded:  # the shell blocks find the graph where a reader's would be
        wipe(request.getfixturevalue("neo4j_driver"))  # and an empty Neo4j for theirs
        (tmp_path / ".venv").symlink_to(Path(sys.prefix))
        graph_url = f"sqlite:///{tmp_path / 'contactgraph.db'}"
    settings = Settings(create=True, graph_url=graph_url, demo=True)
    async with live_server(settings) as address, client_for(address, timeout=60) as http:
        reader = Reader(address, http)
        ran = 0
        for example in examples():
            if example.language in ("graphql", "text"):
                await reader.run_graphql(example)
            elif example.language == "sh" and embedded and runnable_shell(example):
                await asyncio.to_thread(reader.run_shell, example, tmp_path)
            else:
                continue
            ran += 1
    assert ran >= 15 if embedded else ran >= 10
    if embedded:  # what the shell blocks made is where they said
        made = set(await asyncio.to_thread(os.listdir, tmp_path))
        assert "big.db" in made and any(name.startswith("graph-") for name in made), made


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell blocks read CONTACTGRAPH_* like a reader's shell would: start from none."""
    for name in list(os.environ):
        if name.startswith("CONTACTGRAPH_") and not name.startswith("CONTACTGRAPH_REQUIRE_"):
            monkeypatch.delenv(name)


def test_the_documentation_points_only_into_the_repository() -> None:
    root = README.parent
    pages = [README, *sorted((root / "docs").glob("*.md")), root / "CHANGELOG.md"]
    named = set()
    for page in pages:
        text = page.read_text()
        assert "../" not in text, page
        named |= set(re.findall(r"`((?:docs/)?[\w.-]+\.md|LICENSE)`", text))
        named |= set(re.findall(r"\]\((?!https?:)([^)\s]+)\)", text))  # links and pictures
    assert {"docs/architecture.md", "CHANGELOG.md", "LICENSE"} <= named
    missing = [name for name in named if not (root / name).exists()]
    assert not missing, missing
