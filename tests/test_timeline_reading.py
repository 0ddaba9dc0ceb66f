"""A timeline reads whole activities only when its selection asks more of them than ids,
times and sources (TimelineQuery.whole): whatever the selection, each field it reads
answers what the whole page says, cursors included, own or rolled up, on both stores."""

from __future__ import annotations

import pytest
from client import GraphQL
from test_demo import find

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the shared demo's loop


@pytest.fixture(scope="module")
def demo(module_demo: GraphQL) -> GraphQL:
    """The tests here only read: one demo per backend serves them all."""
    return module_demo


WHOLE_NODE = "__typename id occurredAt sourceId source { id } summary subjectIds"
SELECTIONS = {
    "ids": ("id", ("id",)),
    "ids and times": ("id occurredAt", ("id", "occurredAt")),
    "sources": ("sourceId source { id }", ("sourceId", "source")),
    "type names": ("__typename id", ("__typename", "id")),
    "a field through a fragment": ("id ...told", ("id", "summary")),
    "skipped text": ("id summary @skip(if: true)", ("id",)),
}
FRAGMENT = "fragment told on Activity { summary }"


def timeline(arguments: str, node: str) -> str:
    return (
        f"query($id: ID!, $after: String) {{ party(id: $id) {{ timeline({arguments}, "
        f"after: $after) {{ pageInfo {{ endCursor hasNextPage }} edges {{ cursor node {{ {node} "
        f"}} }} }} }} }} {FRAGMENT if '...told' in node else ''}"
    )


async def pages(demo: GraphQL, query: str, party: str) -> list[dict]:
    """Every page of a timeline, following the end cursor."""
    found, after = [], None
    while True:
        page = (await demo(query, {"id": party, "after": after}))["party"]["timeline"]
        found.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize("arguments", ["first: 3, includeDescendants: true", "first: 2"])
@pytest.mark.parametrize("selection", list(SELECTIONS))
async def test_each_selection_reads_what_the_whole_page_says(
    demo: GraphQL, selection: str, arguments: str
) -> None:
    root = await find(demo, "Nordwind Logistics AG")
    whole = await pages(demo, timeline(arguments, WHOLE_NODE), root)
    assert len(whole) > 1 and all(e["node"]["summary"] for p in whole for e in p["edges"])
    node, keys = SELECTIONS[selection]
    got = await pages(demo, timeline(arguments, node), root)
    assert [p["pageInfo"] for p in got] == [p["pageInfo"] for p in whole]
    assert [[e["cursor"] for e in p["edges"]] for p in got] == [
        [e["cursor"] for e in p["edges"]] for p in whole
    ]
    assert [[e["node"] for e in p["edges"]] for p in got] == [
        [{k: e["node"][k] for k in keys} for e in p["edges"]] for p in whole
    ]


ORGANIZATIONS = """{{ parties(filter: {{kinds: [ORGANIZATION]}}, first: 20) {{ edges {{ node {{
  id timeline(first: 2) {{ edges {{ node {{ {} }} }} }} }} }} }} }}"""


async def test_a_page_of_organizations_reads_their_newest_as_whole_activities_say(
    demo: GraphQL,
) -> None:
    """The bench's page of organizations with their newest activities' ids: one read of
    references for every organization, answering what whole activities do."""
    narrow = (await demo(ORGANIZATIONS.format("id")))["parties"]["edges"]
    whole = (await demo(ORGANIZATIONS.format("id summary")))["parties"]["edges"]
    assert sum(len(o["node"]["timeline"]["edges"]) for o in narrow) > 3
    assert narrow == [
        {
            "node": {
                "id": o["node"]["id"],
                "timeline": {
                    "edges": [
                        {"node": {"id": e["node"]["id"]}} for e in o["node"]["timeline"]["edges"]
                    ]
                },
            }
        }
        for o in whole
    ]


async def test_a_timeline_asked_narrow_and_whole_at_once_costs_one_read(demo: GraphQL) -> None:
    """The same timeline asked by ids, whole without sources and by sources in one request:
    each answers in full, from one store call reading the widest of them."""
    root = await find(demo, "Nordwind Logistics AG")
    query = """query($id: ID!) { party(id: $id) {
      narrow: timeline(first: 4, includeDescendants: true) { edges { node { id } } }
      whole: timeline(first: 4, includeDescendants: true) { edges { node { id summary } } }
      named: timeline(first: 4, includeDescendants: true) { edges { node { sourceId } } } } }"""
    response = await demo.raw(query, {"id": root}, **{"X-Debug-Round-Trips": "1"})
    body = response.json()
    assert "errors" not in body, body
    narrow, whole = (
        body["data"]["party"]["narrow"]["edges"],
        body["data"]["party"]["whole"]["edges"],
    )
    assert [e["node"]["id"] for e in narrow] == [e["node"]["id"] for e in whole] and whole
    assert all(e["node"]["summary"] for e in whole)
    assert all(e["node"]["sourceId"] for e in body["data"]["party"]["named"]["edges"])
    assert body["extensions"]["roundTrips"] == 2  # the party, its timeline
