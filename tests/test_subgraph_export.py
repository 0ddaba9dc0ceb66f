"""`contactgraph export --format graphml|gexf` as an analyst runs it on the demo: the file
networkx reads back holds the parties and edges GraphQL answers for the same root and
date, and bad input is refused with a clear message and nothing written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import networkx as nx
from client import GraphQL
from test_cli import run
from test_demo import find

DESCENDANTS = """query($id: ID!, $asOf: DateTime) { party(id: $id) {
  descendants(asOf: $asOf, first: 500) { totalCount edges { node { party { id } } } } } }"""
NETWORK = """query($id: ID!) { party(id: $id) {
  network(depth: 2, limit: 1000) { truncated nodes { id } edges { id type } } } }"""


async def _export(graph_url: str, tmp_path: Path, name: str, *args: str) -> nx.MultiDiGraph:
    path = tmp_path / name
    done = await asyncio.to_thread(run, "export", "--graph", graph_url, *args, str(path))
    assert done.returncode == 0, done.stderr
    read = nx.read_gexf if name.endswith(".gexf") else nx.read_graphml
    graph: nx.MultiDiGraph = read(path)
    return graph


def _edge_types(graph: nx.MultiDiGraph) -> dict[str, str]:
    """Each edge's relationship type, by id: GEXF names it relationship_type (its edges have
    a `type` of their own), GraphML type; both label the edge with it."""
    found = {}
    for _, _, data in graph.edges(data=True):
        found[data["id"]] = data.get("relationship_type", data.get("type"))
        assert data["label"] == found[data["id"]]
    return found


async def test_descendants_export_as_graphql_answers_now_and_a_year_ago(
    demo: GraphQL, graph_url: str, tmp_path: Path
) -> None:
    company = await find(demo, "Nordwind Logistics AG")
    procurement, hamburg, munich = [
        await find(demo, name) for name in ("Procurement", "Nordwind Hamburg", "Nordwind Munich")
    ]
    year_ago = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    for as_of, parent in ((None, munich), (year_ago, hamburg)):
        args = ["--format", "graphml", "--root", company] + (["--as-of", as_of] if as_of else [])
        graph = await _export(graph_url, tmp_path, f"tree-{as_of}.graphml", *args)
        answer = await demo(DESCENDANTS, {"id": company, "asOf": as_of and f"{as_of}T00:00:00Z"})
        below = answer["party"]["descendants"]
        assert graph.number_of_nodes() == below["totalCount"] + 1  # and the root
        assert set(graph.nodes) == {company} | {e["node"]["party"]["id"] for e in below["edges"]}
        assert graph.number_of_edges() == below["totalCount"]  # each by the edge it came by
        assert set(_edge_types(graph).values()) == {"PART_OF", "EMPLOYS"}
        [(_, up, data)] = graph.out_edges(procurement, data=True)
        assert up == parent and data["type"] == "PART_OF"
        assert graph.nodes[company]["kind"] == "ORGANIZATION"
        assert graph.nodes[company]["unit_type"] == "COMPANY"
        assert graph.nodes[company]["tags"] == "key-account;logistics"
        assert graph.nodes[procurement]["name"] == "Procurement"


async def test_network_export_as_graphql_answers(
    demo: GraphQL, graph_url: str, tmp_path: Path
) -> None:
    miriam = await find(demo, "Miriam Brandt")
    answer = (await demo(NETWORK, {"id": miriam}))["party"]["network"]
    assert not answer["truncated"]
    expected = {edge["id"]: edge["type"] for edge in answer["edges"]}
    for name in ("network.graphml", "network.gexf"):
        file_format = name.split(".")[1]
        args = ["--format", file_format, "--root", miriam, "--walk", "network", "--depth", "2"]
        graph = await _export(graph_url, tmp_path, name, *args)
        assert set(graph.nodes) == {node["id"] for node in answer["nodes"]}
        assert _edge_types(graph) == expected
        assert {"EMPLOYS", "REPORTS_TO", "PART_OF"} <= set(expected.values())
        assert graph.nodes[miriam]["kind"] == "CONTACT"


def _refused(graph_url: str, tmp_path: Path, *args: str) -> str:
    out = tmp_path / "refused.graphml"
    done = run("export", "--graph", graph_url, *args, str(out))
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    assert not out.exists() and not list(tmp_path.glob("refused.graphml*"))
    return done.stderr


async def test_bad_subgraph_exports_are_refused_and_write_nothing(
    demo: GraphQL, graph_url: str, tmp_path: Path
) -> None:
    company = await find(demo, "Nordwind Logistics AG")
    graphml = ["--format", "graphml"]
    cases: list[tuple[list[str], str]] = [
        ([*graphml, "--root", "no-such-party"], "party no-such-party does not exist"),
        ([*graphml, "--root", company, "--depth", "65"], "65 is not in the range 1<=x<=64"),
        ([*graphml, "--root", company, "--as-of", "2025-13-01"], "'2025-13-01' is neither"),
        ([*graphml, "--root", company, "--as-of", "2025-01-01T00:00"], "is neither a date"),
        ([*graphml, "--root", company, "--types", "LOVES"], "LOVES is not a relationship type"),
        (graphml, "--format graphml needs --root"),
        (["--root", company], "--root is for --format graphml or gexf"),
        (
            [*graphml, "--root", company, "--walk", "network", "--limit", "3"],
            "holds more than 3 parties",
        ),
    ]
    for args, message in cases:
        stderr: Any = await asyncio.to_thread(_refused, graph_url, tmp_path, *args)
        assert message in stderr, (args, stderr)
