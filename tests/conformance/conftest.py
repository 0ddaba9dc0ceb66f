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


@pytest.fixture(params=["merge", "scan", "probe"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every roll-up plan of each store; the scan normally waits for big subtrees, and
    here runs whenever a party has anything below it. On Neo4j the scan tests subjects
    against the members' list, and the probe (for the largest) against the closure."""
    if request.param != "merge":
        monkeypatch.setattr(sqlite_timelines, "SCAN_COST_RATIO", 0)
        monkeypatch.setattr(neo4j_timelines, "SCAN_COST_RATIO", 0)
    if request.param == "probe":
        monkeypatch.setattr(neo4j_timelines, "MEMBERS_LISTED", 1)
    return request.param


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The embedded store has one scan: its probe runs would repeat the scan's."""
    repeated = [
        item
        for item in items
        if (spec := getattr(item, "callspec", None)) is not None
        and spec.params.get("plan") == "probe"
        and "sqlite" in spec.id
    ]
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = [item for item in items if item not in repeated]
