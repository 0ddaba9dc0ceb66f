"""A hierarchy deeper than the server's depth ceiling is never cut without a word.

A server whose ceiling is 4 holds a chain of seven units, u0 above u1 above ... u6, each
with an activity. Without maxDepth, descendants, ancestors, roll-ups and the contact
person search that reach the ceiling with parties past it answer LIMIT_EXCEEDED naming
the ceiling; with maxDepth they answer the levels asked for; a hierarchy exactly as deep
as the ceiling answers in full. Over the default hierarchy (which stores keep a closure
of), over other types (walked), and for a reader scoped to the chain (walked on Neo4j).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from access import bearer
from client import GraphQL, serve
from factories import contact, link, org, record, user
from live import TRANSPORT_WS, Subscriber, client_for, live_server, subscribed

from contactgraph.config import Settings

CEILING = 4
UNITS = 7

DESCENDANTS = """query($id: ID!, $max: Int, $first: Int, $after: String, $types: [RelType!]) {
  party(id: $id) { descendants(maxDepth: $max, first: $first, after: $after, types: $types) {
    pageInfo { hasNextPage endCursor } edges { node { depth party { id } } } } } }"""
COUNTED = """query($id: ID!, $max: Int, $types: [RelType!]) {
  party(id: $id) { descendants(maxDepth: $max, types: $types) { totalCount } } }"""
ANCESTORS = """query($id: ID!, $max: Int, $types: [RelType!]) {
  party(id: $id) { ancestors(maxDepth: $max, types: $types) { id } } }"""
ROLLUP = """query($id: ID!, $max: Int, $types: [RelType!]) {
  party(id: $id) { timeline(includeDescendants: true, maxDepth: $max, hierarchyTypes: $types) {
    edges { node { summary } } } } }"""
OWN = """query($id: ID!) { party(id: $id) { timeline(maxDepth: 3) { edges { cursor } } } }"""
CONTACT = """query($org: ID!, $max: Int) {
  contactPerson(organizationId: $org, role: "lead", maxDepth: $max) {
    distance person { displayName } } }"""


@dataclass
class Chain:
    admin: GraphQL
    reader: GraphQL
    units: list[str]


@pytest.fixture
async def chain(graph_url: str) -> AsyncIterator[Chain]:
    async for http in serve(Settings(create=True, graph_url=graph_url, max_depth=CEILING)):
        admin = GraphQL(http)
        units = [await org(admin, f"U{i}") for i in range(UNITS)]
        for upper, lower in itertools.pairwise(units):
            await link(admin, "PART_OF", lower, upper, since="2020-01-01T00:00:00Z")
        lead = await contact(admin, "Lena", "Lead")
        await link(admin, "EMPLOYS", units[0], lead, role="lead", since="2020-01-01T00:00:00Z")
        author = await user(admin, "author")
        for i, unit in enumerate(units):
            await record(admin, author, [unit], f"2024-01-0{i + 1}T09:00:00Z", summary=f"at {i}")
        reader = await user(admin, "reader")
        await admin(
            'mutation($u: ID!, $s: ID!) { grantRole(userId: $u, role: "reader", scopeId: $s) '
            "{ id } }",
            {"u": reader, "s": units[0]},
        )
        made = await admin(
            'mutation($u: ID!) { createApiToken(name: "t", userId: $u) { secret } }', {"u": reader}
        )
        async with httpx.AsyncClient(transport=http._transport, base_url=http.base_url) as own:
            own.headers.update(bearer(made["createApiToken"]["secret"]))
            yield Chain(admin, GraphQL(own), units)


def _past_the_ceiling(error: dict[str, Any], party: str) -> None:
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    assert f"ceiling of {CEILING} levels" in error["message"] and party in error["message"]
    assert "maxDepth" in error["message"]


@pytest.mark.parametrize("types", [None, ["PART_OF"]], ids=["closure", "walked"])
async def test_walks_past_the_ceiling_say_so(chain: Chain, types: list[str] | None) -> None:
    top, units = chain.units[0], chain.units
    lead = types is None  # the lead u0 EMPLOYS is below it over the default types
    for gql in (chain.admin, chain.reader):
        _past_the_ceiling(await gql.error(COUNTED, {"id": top, "types": types}), top)
        asked = await gql(COUNTED, {"id": top, "max": CEILING, "types": types})
        assert asked["party"]["descendants"]["totalCount"] == CEILING + lead
        exact = await gql(COUNTED, {"id": units[UNITS - 1 - CEILING], "types": types})
        assert exact["party"]["descendants"]["totalCount"] == CEILING

        bottom = units[-1]
        _past_the_ceiling(await gql.error(ANCESTORS, {"id": bottom, "types": types}), bottom)
        above = await gql(ANCESTORS, {"id": bottom, "max": CEILING, "types": types})
        assert [p["id"] for p in above["party"]["ancestors"]] == units[-2 : -CEILING - 2 : -1]
        full = await gql(ANCESTORS, {"id": units[CEILING], "types": types})
        assert [p["id"] for p in full["party"]["ancestors"]] == units[CEILING - 1 :: -1]

        _past_the_ceiling(await gql.error(ROLLUP, {"id": top, "types": types}), top)
        rolled = await gql(ROLLUP, {"id": top, "max": CEILING, "types": types})
        summaries = [e["node"]["summary"] for e in rolled["party"]["timeline"]["edges"]]
        assert summaries == [f"at {i}" for i in range(CEILING, -1, -1)]
        whole = await gql(ROLLUP, {"id": units[2], "types": types})
        assert len(whole["party"]["timeline"]["edges"]) == UNITS - 2


@pytest.mark.parametrize("types", [None, ["PART_OF"]], ids=["closure", "walked"])
async def test_pages_tell_at_the_last_one(chain: Chain, types: list[str] | None) -> None:
    """Pages that fill before the ceiling answer; the last page reaches it and says so."""
    top = chain.units[0]
    variables: dict[str, Any] = {"id": top, "first": 2, "types": types}
    depths: list[int] = []
    while True:
        response = (await chain.admin.raw(DESCENDANTS, variables)).json()
        if "errors" in response:
            break
        connection = response["data"]["party"]["descendants"]
        assert connection["pageInfo"]["hasNextPage"]
        depths += [e["node"]["depth"] for e in connection["edges"]]
        variables["after"] = connection["pageInfo"]["endCursor"]
    (error,) = response["errors"]
    _past_the_ceiling(error, top)
    assert len(depths) >= 2 and depths == sorted(depths) and depths[-1] <= CEILING


async def test_the_contact_person_past_the_ceiling_is_unknown(chain: Chain) -> None:
    units = chain.units
    _past_the_ceiling(await chain.admin.error(CONTACT, {"org": units[-1]}), units[-1])
    assert (await chain.admin(CONTACT, {"org": units[-1], "max": CEILING}))["contactPerson"] is None
    found = (await chain.admin(CONTACT, {"org": units[CEILING]}))["contactPerson"]
    assert found == {"distance": CEILING, "person": {"displayName": "Lena Lead"}}


async def test_max_depth_on_a_timeline_asks_for_a_roll_up(chain: Chain) -> None:
    error = await chain.admin.error(OWN, {"id": chain.units[0]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "includeDescendants" in error["message"]
    for query in (ANCESTORS, ROLLUP):
        deep = await chain.admin.error(query, {"id": chain.units[0], "max": CEILING + 1})
        assert deep["extensions"]["code"] == "LIMIT_EXCEEDED"


async def test_a_feed_of_a_hierarchy_past_the_ceiling_is_refused(graph_url: str) -> None:
    """Events reach the parties up to the ceiling above their subjects: a roll-up feed of
    a deeper hierarchy would miss some without a word."""
    feed = """subscription($id: ID!) { activityAdded(subjectId: $id, includeDescendants: true) {
      summary } }"""
    settings = Settings(create=True, graph_url=graph_url, max_depth=2)
    async with live_server(settings) as address, client_for(address) as http:
        admin = GraphQL(http)
        units = [await org(admin, f"U{i}") for i in range(4)]
        for upper, lower in itertools.pairwise(units):
            await link(admin, "PART_OF", lower, upper)
        author = await user(admin, "author")
        async with Subscriber.connect(address, TRANSPORT_WS) as sub:
            refused = await sub.subscribe(feed, {"id": units[0]})
            (error,) = (await sub.next(refused))["errors"]
            assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
            assert "ceiling of 2 levels" in error["message"] and units[0] in error["message"]
            await sub.completed(refused)
            heard = await sub.subscribe(feed, {"id": units[1]})
            await subscribed(http, 1)
            await record(admin, author, [units[3]], "2024-01-01T09:00:00Z", summary="deepest")
            assert (await sub.next(heard))["data"]["activityAdded"]["summary"] == "deepest"


DOWN = """query($org: ID!, $max: Int) {
  contactPerson(organizationId: $org, role: "bottom", direction: DOWN, maxDepth: $max) {
    distance below organization { id } } }"""
INHERITED = """query($id: ID!, $max: Int) {
  party(id: $id) { responsibles(inherited: true, maxDepth: $max) { distance foundOn { id } } } }"""


async def test_lookups_below_and_inherited_past_the_ceiling_are_unknown(chain: Chain) -> None:
    units, admin = chain.units, chain.admin
    bottom = await contact(admin, "Bo", "Bottom")
    await link(admin, "EMPLOYS", units[-1], bottom, role="bottom", since="2020-01-01T00:00:00Z")
    manager = await user(admin, "manager")
    await link(admin, "RESPONSIBLE_FOR", manager, units[0], since="2020-01-01T00:00:00Z")

    _past_the_ceiling(await admin.error(DOWN, {"org": units[0]}), units[0])
    assert (await admin(DOWN, {"org": units[0], "max": CEILING}))["contactPerson"] is None
    found = (await admin(DOWN, {"org": units[UNITS - 1 - CEILING]}))["contactPerson"]
    assert found == {"distance": CEILING, "below": True, "organization": {"id": units[-1]}}

    _past_the_ceiling(await admin.error(INHERITED, {"id": units[-1]}), units[-1])
    cut = await admin(INHERITED, {"id": units[-1], "max": CEILING})
    assert cut["party"]["responsibles"] == []
    held = await admin(INHERITED, {"id": units[CEILING]})
    assert held["party"]["responsibles"] == [{"distance": CEILING, "foundOn": {"id": units[0]}}]
