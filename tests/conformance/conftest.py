"""The store under test, opened on each backend (see the root conftest), and switches
that force each store's alternative plans."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contactgraph.graph.backends import open_store
from contactgraph.graph.neo4j import timelines as neo4j_timelines
from contactgraph.graph.sqlite import timelines as sqlite_timelines
from contactgraph.graph.store import GraphStore


@pytest.fixture
async def store(graph_url: str) -> AsyncIterator[GraphStore]:
    opened = open_store(graph_url, create=True)
    await opened.start()
    yield opened
    await opened.close()


@pytest.fixture(params=["merge", "scan"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both roll-up plans of each store; the scan normally waits for big subtrees, and
    here runs whenever a party has anything below it."""
    if request.param == "scan":
        monkeypatch.setattr(sqlite_timelines, "SCAN_COST_RATIO", 0)
        monkeypatch.setattr(neo4j_timelines, "SCAN_FROM_MEMBERS", 1)
    return request.param
