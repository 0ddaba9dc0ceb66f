"""OpenTelemetry spans with tracing on: the app in-process (the SDK's in-memory exporter
can only be reached from the process that serves), set up before the app is built as a
program embedding it would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from client import serve
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contactgraph.config import Settings

QUERY = "query Traced { parties(first: 3) { edges { node { id } } } }"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()


async def client(graph_url: str, tracing: bool) -> AsyncIterator[httpx.AsyncClient]:
    async for http in serve(Settings(create=True, graph_url=graph_url, tracing=tracing)):
        yield http


async def test_an_operation_and_its_store_calls_are_spans_of_one_trace(
    graph_url: str, exporter: InMemorySpanExporter
) -> None:
    async for http in client(graph_url, tracing=True):
        exporter.clear()
        answer = await http.post("/graphql", json={"query": QUERY})
        assert "errors" not in answer.json()
    spans = exporter.get_finished_spans()
    [operation] = [span for span in spans if span.name == "GraphQL Query: Traced"]
    [store] = [span for span in spans if span.name == "store list_parties"]
    assert store.attributes is not None
    assert store.attributes["db.system"] == ("sqlite" if "sqlite" in graph_url else "neo4j")
    assert store.context is not None and operation.context is not None
    assert store.context.trace_id == operation.context.trace_id


async def test_no_spans_unless_tracing_is_asked_for(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    async for http in client(f"sqlite:///{tmp_path / 'g.db'}", tracing=False):
        exporter.clear()
        answer = await http.post("/graphql", json={"query": QUERY})
        assert "errors" not in answer.json()
    assert exporter.get_finished_spans() == ()


def test_tracing_without_the_packages_stops_the_server_with_one_line(tmp_path: Path) -> None:
    """The CLI in a Python where OpenTelemetry cannot be imported (as without the extra)."""
    hide = "import sys; sys.modules['opentelemetry'] = None; from contactgraph.cli import main; "
    graph = f"sqlite:///{tmp_path / 'g.db'}"
    served = subprocess.run(
        [sys.executable, "-c", hide + "main()", "serve", "--graph", graph, "--create", "--tracing"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 1
    assert "--tracing needs the OpenTelemetry packages" in served.stderr
    assert "pip install 'contactgraph[tracing]'" in served.stderr
    assert "Traceback" not in served.stderr
