"""Fixtures: a fresh graph per test on every backend, the app in-process, a GraphQL helper.

Neo4j tests use the server NEO4J_URI names (tools/neo4j-local/start prints it).
Without one they skip, unless CONTACTGRAPH_REQUIRE_NEO4J=1 (as in CI): then
they fail, as does any Neo4j test that cannot reach it. The event broker's tests
use the Redis REDIS_URL names (tools/redis-local/start), and skip or fail the
same way by CONTACTGRAPH_REQUIRE_REDIS. Under `pytest -n N` each test process takes
servers of its own (workers.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from client import GraphQL, serve
from graphs import BACKENDS, wipe
from neo4j import Driver, GraphDatabase
from workers import claim_servers

from contactgraph.config import Settings


def pytest_configure(config: pytest.Config) -> None:
    claim_servers()


@pytest.fixture(scope="session")
def neo4j_driver() -> Iterator[Driver]:
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        if os.environ.get("CONTACTGRAPH_REQUIRE_NEO4J") == "1":
            pytest.fail("CONTACTGRAPH_REQUIRE_NEO4J=1 but NEO4J_URI is not set")
        pytest.skip("NEO4J_URI is not set: run tools/neo4j-local/start and export what it prints")
    auth = (os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""))
    with GraphDatabase.driver(uri, auth=auth) as driver:
        driver.verify_connectivity()
        yield driver


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        if os.environ.get("CONTACTGRAPH_REQUIRE_REDIS") == "1":
            pytest.fail("CONTACTGRAPH_REQUIRE_REDIS=1 but REDIS_URL is not set")
        pytest.skip("REDIS_URL is not set: run tools/redis-local/start and export what it prints")
    return url


@pytest.fixture
def neo4j_url(neo4j_driver: Driver) -> str:
    """The shared Neo4j, emptied for this test."""
    wipe(neo4j_driver)
    return os.environ["NEO4J_URI"]


@pytest.fixture(scope="module", params=BACKENDS)
def module_graph_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A graph on each backend that one module's tests share: built once, read (or written
    in ways the next test does not mind) by each."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('module') / 'graph.db'}"
    wipe(request.getfixturevalue("neo4j_driver"))
    return os.environ["NEO4J_URI"]


@pytest.fixture(params=BACKENDS)
def graph_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty graph on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'graph.db'}"
    return request.getfixturevalue("neo4j_url")


@pytest.fixture
async def http(graph_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve(Settings(create=True, graph_url=graph_url)):
        yield client


@pytest.fixture
async def gql(http: httpx.AsyncClient) -> GraphQL:
    return GraphQL(http)


@pytest.fixture
async def demo(graph_url: str) -> AsyncIterator[GraphQL]:
    """A client on a graph holding the demo dataset."""
    async for client in serve(Settings(create=True, graph_url=graph_url, demo=True)):
        yield GraphQL(client)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_demo(module_graph_url: str) -> AsyncIterator[GraphQL]:
    """The demo on each backend, seeded once for a module whose tests only read it (they
    run in the module's event loop: `pytest.mark.asyncio(loop_scope="module")`)."""
    async for client in serve(Settings(create=True, graph_url=module_graph_url, demo=True)):
        yield GraphQL(client)
