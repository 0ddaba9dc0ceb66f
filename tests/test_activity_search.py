"""Activity search and timeline counts over GraphQL, on the demo dataset (whose file is
the oracle: what a search or count must find is computed from it here) and on activities
written by the tests: search on timelines and roll-ups, the graph-wide list and a scoped
reader's part of it, counts by type, and hostile search text."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import httpx
import pytest
import pytest_asyncio
from access import bearer
from client import GraphQL, serve
from downgrades import AFTER_15
from factories import contact, org, record, user
from test_demo import find

from contactgraph.config import Settings
from contactgraph.graph.search import activity_text, tokens

pytestmark = pytest.mark.asyncio(loop_scope="module")

TIMELINE = """query($id: ID!, $search: String, $rollup: Boolean!, $types: [ActivityType!],
                    $first: Int, $after: String) {
  party(id: $id) { timeline(search: $search, includeDescendants: $rollup, types: $types,
                            first: $first, after: $after) {
    totalCount countsByType { type count }
    pageInfo { hasNextPage endCursor } edges { node { id summary } } } } }"""
PAGE_ONLY = """query($id: ID!, $search: String) {
  party(id: $id) { timeline(search: $search) { edges { node { id } } } } }"""
ACTIVITIES = """query($search: String, $types: [ActivityType!], $subjects: [ID!],
                      $since: DateTime, $until: DateTime, $first: Int, $after: String) {
  activities(search: $search, types: $types, subjectIds: $subjects, since: $since,
             until: $until, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { id summary occurredAt } } } }"""
GRANT = """mutation($u: ID!, $s: ID!) {
  grantRole(userId: $u, role: "reader", scopeId: $s) { id } }"""
TOKEN = 'mutation($u: ID!) { createApiToken(name: "t", userId: $u) { secret } }'


@dataclass
class World:
    admin: GraphQL
    reader: GraphQL  # READ scoped to the company "Inside Ltd"
    inside: str
    outside: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(module_graph_url: str) -> AsyncIterator[World]:
    """The demo, plus a company inside a reader's scope and one outside, each with a note
    sharing the words "zeppelin" and "harbour"; read only by the tests."""
    settings = Settings(create=True, graph_url=module_graph_url, demo=True, rate_limit=0)
    async for http in serve(settings):
        admin = GraphQL(http)
        inside = await org(admin, "Inside Ltd")
        outside = await org(admin, "Outside Ltd")
        author = await user(admin, "searcher")
        at = "2024-03-0{}T09:00:00Z"
        await record(admin, author, [inside], at.format(1), summary="Zeppelin harbour visit")
        await record(admin, author, [outside], at.format(2), summary="Zeppelin harbour tour")
        await record(
            admin,
            author,
            [inside, outside],
            at.format(3),
            type="NOTE",
            summary="Shared",
            body='A "zeppelin" NEAR(x y) * OR AND: harbour-side',
        )
        reader = await user(admin, "scoped")
        await admin(GRANT, {"u": reader, "s": inside})
        secret = (await admin(TOKEN, {"u": reader}))["createApiToken"]["secret"]
        async with httpx.AsyncClient(transport=http._transport, base_url=http.base_url) as own:
            own.headers.update(bearer(secret))
            yield World(admin, GraphQL(own), inside, outside)


def _demo_activities() -> list[dict[str, Any]]:
    """Every activity the demo stores: those of its past, its week of planned work, and
    those done for its deals (the deal's client a subject when none of its parties is)."""
    seeds = files("contactgraph.seeds")
    demo = json.loads(seeds.joinpath("demo.json").read_text())
    sales = json.loads(seeds.joinpath("demo_sales.json").read_text())
    worked = [
        {**done, "subjects": _with_client(done["subjects"], deal)}
        for deal in sales["opportunities"]
        for done in deal.get("activities", ())
    ]
    return [*demo["activities"], *demo["planned"], *worked]


def _with_client(subjects: list[str], deal: dict[str, Any]) -> list[str]:
    if set(subjects) & {deal["client"], *deal.get("contacts", ())}:
        return subjects
    return [*subjects, deal["client"]]


def _matching(words: str, subjects: set[str] | None = None) -> list[dict[str, Any]]:
    """The demo's activities with every word as the start of one of theirs (of those
    subjects, by key)."""
    wanted = tokens(words)
    found = []
    for activity in _demo_activities():
        have = activity_text(activity["summary"], activity.get("body")).split()
        if subjects is not None and not subjects & set(activity["subjects"]):
            continue
        if all(any(w.startswith(t) for w in have) for t in wanted):
            found.append(activity)
    return found


async def _timeline(gql: GraphQL, party: str, **variables: Any) -> dict[str, Any]:
    given = {"id": party, "rollup": False, **variables}
    return (await gql(TIMELINE, given))["party"]["timeline"]  # type: ignore[no-any-return]


async def test_a_timeline_searched_and_counted(world: World) -> None:
    sofia = await find(world.admin, "Sofia Marino")
    expected = _matching("WITHDRAWAL confirm", {"sofia"})
    assert len(expected) > 3  # the oracle finds something to compare
    found = await _timeline(world.admin, sofia, search="WITHDRAWAL confirm", first=50)
    assert found["totalCount"] == len(expected) == len(found["edges"])
    assert all("withdrawal" in e["node"]["summary"].lower() for e in found["edges"])
    by_type = Counter(a["type"] for a in expected)
    assert {c["type"]: c["count"] for c in found["countsByType"]} == by_type
    # counts hold the whole timeline, whichever page is read
    page = await _timeline(world.admin, sofia, search="withdrawal confirm", first=2)
    assert page["totalCount"] == len(expected) and len(page["edges"]) == 2
    rest = await _timeline(
        world.admin,
        sofia,
        search="withdrawal confirm",
        first=50,
        after=page["pageInfo"]["endCursor"],
    )
    ids = [e["node"]["id"] for e in page["edges"] + rest["edges"]]
    assert ids == [e["node"]["id"] for e in found["edges"]]
    # unsearched, every activity of hers, by type
    everything = await _timeline(world.admin, sofia, first=1)
    own = Counter(a["type"] for a in _demo_activities() if "sofia" in a["subjects"])
    assert {c["type"]: c["count"] for c in everything["countsByType"]} == own
    assert everything["totalCount"] == sum(own.values())
    typed = await _timeline(world.admin, sofia, types=["NOTE"], search="withdrawal")
    assert typed["totalCount"] == by_type["NOTE"] == len(typed["edges"])
    assert [c["type"] for c in typed["countsByType"]] == ["NOTE"]


async def test_a_roll_up_searched_and_counted(world: World) -> None:
    """Below Nordwind now (procurement moved to Munich): each activity once, even one about
    two parties of the tree."""
    company = await find(world.admin, "Nordwind Logistics")
    tree = {
        "nordwind", "nw-hamburg", "nw-munich", "nw-fleet", "nw-service", "nw-warehouse",
        "nw-procurement", "nw-head-fleet", "nw-procurement-lead", "jana", "ole", "miriam", "felix",
    }  # fmt: skip
    expected = _matching("fleet yard", tree)
    assert any(len(tree & set(a["subjects"])) > 1 for a in expected)
    found = await _timeline(world.admin, company, rollup=True, search="fleet yard", first=100)
    assert found["totalCount"] == len(expected) == len(found["edges"])
    every = Counter(a["type"] for a in _demo_activities() if tree & set(a["subjects"]))
    whole = await _timeline(world.admin, company, rollup=True, first=1)
    assert {c["type"]: c["count"] for c in whole["countsByType"]} == every
    none = await _timeline(world.admin, company, rollup=True, search="zeppelin")
    assert none == {
        "totalCount": 0,
        "countsByType": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


@pytest.mark.parametrize(("search", "first"), [("Withdrawal Notice", 4), ("offer", 2)])
async def test_the_graph_wide_list_pages_newest_first(
    world: World, search: str, first: int
) -> None:
    """Pages of a word in a few activities, and of one in many (whose first pages are
    among the newest activities)."""
    expected = _matching(search)
    assert len(expected) > 2 * first
    variables: dict[str, Any] = {"search": search, "first": first}
    seen: list[str] = []
    while True:
        page = (await world.admin(ACTIVITIES, variables))["activities"]
        seen += [e["node"]["occurredAt"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["pageInfo"]["endCursor"]
    assert len(seen) == len(expected) and seen == sorted(seen, reverse=True)
    sofia = await find(world.admin, "Sofia Marino")
    emails = await world.admin(ACTIVITIES, {"types": ["EMAIL"], "subjects": [sofia], "first": 100})
    wanted = [a for a in _demo_activities() if a["type"] == "EMAIL" and "sofia" in a["subjects"]]
    assert len(emails["activities"]["edges"]) == len(wanted)
    window = await world.admin(
        ACTIVITIES,
        {"search": "zeppelin", "since": "2024-03-02T00:00:00Z", "until": "2024-03-03T00:00:00Z"},
    )
    assert [e["node"]["summary"] for e in window["activities"]["edges"]] == [
        "Zeppelin harbour tour"
    ]


async def test_a_scoped_reader_finds_nothing_outside(world: World) -> None:
    admin = await world.admin(ACTIVITIES, {"search": "zeppelin harbour"})
    assert len(admin["activities"]["edges"]) == 3
    found = await world.reader(ACTIVITIES, {"search": "zeppelin harbour"})
    summaries = sorted(e["node"]["summary"] for e in found["activities"]["edges"])
    # the shared note has a subject inside; the tour is about the outside company only
    assert summaries == ["Shared", "Zeppelin harbour visit"]
    about_outside = await world.reader(ACTIVITIES, {"subjects": [world.outside]})
    assert about_outside["activities"]["edges"] == []
    unsearched = await world.reader(ACTIVITIES, {"first": 100})
    assert len(unsearched["activities"]["edges"]) == 2
    assert (await world.reader(TIMELINE, {"id": world.outside, "rollup": False}))["party"] is None


# what the world's own activities hold, as written
OURS = {
    "Zeppelin harbour visit": "Zeppelin harbour visit",
    "Zeppelin harbour tour": "Zeppelin harbour tour",
    "Shared": 'Shared A "zeppelin" NEAR(x y) * OR AND: harbour-side',
}


@pytest.mark.parametrize(
    "text",
    ['"', 'zeppelin"', "NEAR(zeppelin harbour)", "zeppelin*", "* OR", "AND", "body: zeppelin",
     "-zeppelin", "^zep", "zeppelin OR 1=1", "harbour-side", "(", "{}", "near x"],
)  # fmt: skip
async def test_search_syntax_is_text(world: World, text: str) -> None:
    """Quotes, operators, NEAR, * and column filters are no syntax: the words in them are
    searched, and a text without any is BAD_USER_INPUT; never an internal error."""
    subjects = [world.inside, world.outside]
    response = (await world.admin.raw(ACTIVITIES, {"search": text, "subjects": subjects})).json()
    words = tokens(text)
    if not words:
        (error,) = response["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        return
    assert "errors" not in response, response
    found = {e["node"]["summary"] for e in response["data"]["activities"]["edges"]}
    expected = {
        summary
        for summary, written in OURS.items()
        if all(any(w.startswith(q) for w in tokens(written)) for q in words)
    }
    assert found == expected


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"search": ""}, "BAD_USER_INPUT"),
        ({"search": "   "}, "BAD_USER_INPUT"),
        ({"search": "x" * 501}, "BAD_USER_INPUT"),
        ({"search": "a " * 11}, "BAD_USER_INPUT"),
        ({"search": "y" * 65}, "BAD_USER_INPUT"),
        ({"since": "2024-03-02T00:00:00Z", "until": "2024-03-01T00:00:00Z"}, "BAD_USER_INPUT"),
        ({"after": "not a cursor"}, "BAD_USER_INPUT"),
        ({"first": 10**6}, "LIMIT_EXCEEDED"),
        ({"subjects": ["x"] * 10_000}, "BAD_USER_INPUT"),
    ],
    ids=["empty", "blank", "huge", "many words", "long word", "window", "cursor", "first",
         "subjects"],
)  # fmt: skip
async def test_bad_input_to_activity_lists(
    world: World, variables: dict[str, Any], code: str
) -> None:
    error = await world.admin.error(ACTIVITIES, variables)
    assert error["extensions"]["code"] == code, error
    if "search" in variables:
        sofia = await find(world.admin, "Sofia Marino")
        on_timeline = await world.admin.error(PAGE_ONLY, {"id": sofia, **variables})
        assert on_timeline["extensions"]["code"] == code, on_timeline


async def _recorded_then_searched(url: str, before: Callable[[], None]) -> list[str]:
    async for http in serve(Settings(create=True, graph_url=url)):
        admin = GraphQL(http)
        party = await contact(admin, "Old", "Notes")
        author = await user(admin, "old.author")
        await record(admin, author, [party], "2023-05-01T10:00:00Z", summary="Kept from before")
    before()
    async for http in serve(Settings(create=True, graph_url=url)):
        found = await GraphQL(http)(ACTIVITIES, {"search": "kept before"})
        return [e["node"]["summary"] for e in found["activities"]["edges"]]
    raise AssertionError("the server did not start")


@pytest.mark.asyncio(loop_scope="function")
async def test_activities_stored_before_search_are_found_after_an_upgrade(
    graph_url: str, request: pytest.FixtureRequest
) -> None:
    """Migration 15 on the embedded store, the start's backfill on Neo4j: activities
    recorded before activity search existed are found by it."""
    if graph_url.startswith("sqlite:"):
        path = graph_url.removeprefix("sqlite:///")

        def before() -> None:
            with sqlite3.connect(path) as conn:
                conn.executescript(
                    f"DROP TABLE activity_search; {AFTER_15} PRAGMA user_version = 14;"
                )

    else:
        driver = request.getfixturevalue("neo4j_driver")

        def before() -> None:
            driver.execute_query("MATCH (a:Activity) REMOVE a.search")

    assert await _recorded_then_searched(graph_url, before) == ["Kept from before"]
