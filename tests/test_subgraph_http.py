"""GET /export/graphml and /export/gexf as the explorer calls them: the viewer's bearer
token and scope decide what the file holds, as they decide what GraphQL answers; the
server's ceilings hold; bad input is a 4xx with a code, never a stack trace."""

from __future__ import annotations

import io
from typing import Any

import httpx
import networkx as nx
from access import bearer
from client import GraphQL
from test_demo import find
from test_subgraph_export import DESCENDANTS, NETWORK

NEW_READER = (
    """mutation($u: String!) { createUser(input: {username: $u, displayName: $u}) { id } }"""
)
GRANT = """mutation($u: ID!, $s: ID) {
  grantRole(userId: $u, role: "reader", scopeId: $s, scopeKind: SUBTREE) { id } }"""
TOKEN = """mutation($u: ID!) { createApiToken(name: "explorer", userId: $u) { secret } }"""


async def _get(http: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    return await http.get(path, params=params)


def _graph(response: httpx.Response) -> nx.MultiDiGraph:
    assert response.status_code == 200, response.text
    read = nx.read_gexf if "gexf" in response.headers["content-type"] else nx.read_graphml
    graph: nx.MultiDiGraph = read(io.BytesIO(response.content))
    return graph


def _refused(response: httpx.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code and message in error["message"], error
    assert "Traceback" not in response.text


async def test_the_export_holds_what_graphql_answers_the_viewer(demo: GraphQL) -> None:
    company = await find(demo, "Nordwind Logistics AG")
    tree = _graph(await _get(demo.http, "/export/graphml", root=company))
    below = (await demo(DESCENDANTS, {"id": company}))["party"]["descendants"]
    assert tree.number_of_nodes() == below["totalCount"] + 1
    assert tree.number_of_edges() == below["totalCount"]
    miriam = await find(demo, "Miriam Brandt")
    response = await _get(demo.http, "/export/gexf", root=miriam, walk="network", depth=2)
    assert response.headers["content-type"].startswith("application/gexf+xml")
    assert "attachment" in response.headers["content-disposition"]
    network = (await demo(NETWORK, {"id": miriam}))["party"]["network"]
    assert set(_graph(response).nodes) == {node["id"] for node in network["nodes"]}

    # a reader within Nordwind Hamburg: the company is outside, Hamburg's subtree inside
    hamburg = await find(demo, "Nordwind Hamburg")
    user = (await demo(NEW_READER, {"u": "hamburg.reader"}))["createUser"]["id"]
    await demo(GRANT, {"u": user, "s": hamburg})
    secret = (await demo(TOKEN, {"u": user}))["createApiToken"]["secret"]
    headers = bearer(secret)
    outside = await demo.http.get("/export/graphml", params={"root": company}, headers=headers)
    _refused(outside, 404, "NOT_FOUND", f"party {company} does not exist")
    inside = await demo.http.get("/export/graphml", params={"root": hamburg}, headers=headers)
    scoped = await demo.http.post(
        "/graphql", json={"query": DESCENDANTS, "variables": {"id": hamburg}}, headers=headers
    )
    count = scoped.json()["data"]["party"]["descendants"]["totalCount"]
    assert _graph(inside).number_of_nodes() == count + 1 and company not in _graph(inside)
    anonymous = await demo.http.get(
        "/export/graphml", params={"root": hamburg}, headers={"Authorization": ""}
    )
    _refused(anonymous, 401, "UNAUTHENTICATED", "Authorization: Bearer")


async def test_bad_export_requests_are_refused_with_a_code(demo: GraphQL) -> None:
    company = await find(demo, "Nordwind Logistics AG")
    cases: list[tuple[str, dict[str, Any], int, str, str]] = [
        ("graphml", {}, 400, "BAD_USER_INPUT", "give root=PARTY_ID"),
        ("graphml", {"root": "no-such-party"}, 404, "NOT_FOUND", "does not exist"),
        ("graphml", {"root": company, "depth": 65}, 400, "LIMIT_EXCEEDED", "at most 64"),
        ("graphml", {"root": company, "depth": 0}, 400, "BAD_USER_INPUT", "at least 1"),
        ("graphml", {"root": company, "depth": "deep"}, 400, "BAD_USER_INPUT", "whole number"),
        ("graphml", {"root": company, "asOf": "yesterday"}, 400, "BAD_USER_INPUT", "neither"),
        ("graphml", {"root": company, "types": "LOVES"}, 400, "BAD_USER_INPUT", "LOVES"),
        ("graphml", {"root": company, "walk": "sideways"}, 400, "BAD_USER_INPUT", "walk is"),
        ("graphml", {"root": company, "limit": 5000}, 400, "LIMIT_EXCEEDED", "at most 1000"),
        (
            "graphml",
            {"root": company, "walk": "network", "limit": 3},
            400,
            "LIMIT_EXCEEDED",
            "holds more than 3 parties",
        ),
        (
            "graphml",
            {"root": company, "limit": 5},
            400,
            "LIMIT_EXCEEDED",
            "holds more than 5 parties",
        ),
        ("csv", {"root": company}, 404, "NOT_FOUND", "exports are graphml, gexf"),
    ]
    for file_format, params, status, code, message in cases:
        response = await _get(demo.http, f"/export/{file_format}", **params)
        _refused(response, status, code, message)
