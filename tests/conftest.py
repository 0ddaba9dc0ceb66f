"""Fixtures: a real store file per test, the app in-process, and a GraphQL helper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from client import GraphQL, serve

from contactgraph.config import Settings

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def graph_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty graph on each backend."""
    return f"sqlite:///{tmp_path / 'graph.db'}"


@pytest.fixture
async def http(graph_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve(Settings(graph_url=graph_url)):
        yield client


@pytest.fixture
async def gql(http: httpx.AsyncClient) -> GraphQL:
    return GraphQL(http)


@pytest.fixture
async def demo(graph_url: str) -> AsyncIterator[GraphQL]:
    """A client on a graph holding the demo dataset."""
    async for client in serve(Settings(graph_url=graph_url, demo=True)):
        yield GraphQL(client)
