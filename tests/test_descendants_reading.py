"""A descendants page reads only what its selection asks (TreeReading): ids and kinds
when a party's other fields go unread, no edges when `relationship` does. Whatever the
selection, each field it does read answers what the whole row says, on both stores."""

from __future__ import annotations

import pytest
from client import GraphQL
from test_demo import find

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the shared demo's loop


@pytest.fixture(scope="module")
def demo(module_demo: GraphQL) -> GraphQL:
    """The tests here only read: one demo per backend serves them all."""
    return module_demo


WHOLE = """query($id: ID!) { party(id: $id) { descendants(first: 100) { edges { cursor node {
  depth parentId relationship { id type from { id } to { id } }
  party { __typename id kind displayName ... on Organization { name unitType } } } } } } }"""

SELECTIONS = {
    "ids": "party { id }",
    "ids, kinds, type names": "party { __typename id kind }",
    "depth and parent only": "depth parentId",
    "edges without parties": "relationship { id type from { id } to { id } } party { id }",
    "a field through a fragment": "party { id ...named }",
    "a field through an inline fragment": "party { id ... on Organization { unitType } }",
    "aliases": "p: party { i: id k: kind } e: relationship { t: type }",
    "skipped party fields": "party { id displayName @skip(if: true) }",
}
FRAGMENT = "fragment named on Party { displayName }"


def project(row: dict, selection: str) -> dict:
    """The part of a whole row a selection reads, keyed as it asks."""
    party, edge = row["party"], row["relationship"]
    picks = {
        "ids": {"party": {"id": party["id"]}},
        "ids, kinds, type names": {"party": {k: party[k] for k in ("__typename", "id", "kind")}},
        "depth and parent only": {"depth": row["depth"], "parentId": row["parentId"]},
        "edges without parties": {"relationship": edge, "party": {"id": party["id"]}},
        "a field through a fragment": {
            "party": {"id": party["id"], "displayName": party["displayName"]}
        },
        "a field through an inline fragment": {
            "party": {
                "id": party["id"],
                **({"unitType": party["unitType"]} if "name" in party else {}),
            }
        },
        "aliases": {"p": {"i": party["id"], "k": party["kind"]}, "e": {"t": edge["type"]}},
        "skipped party fields": {"party": {"id": party["id"]}},
    }
    return picks[selection]


@pytest.mark.parametrize("selection", list(SELECTIONS))
async def test_each_selection_reads_what_the_whole_row_says(demo: GraphQL, selection: str) -> None:
    root = await find(demo, "Nordwind Logistics AG")
    whole = (await demo(WHOLE, {"id": root}))["party"]["descendants"]["edges"]
    assert len(whole) > 5 and any(e["node"]["party"]["__typename"] != "Organization" for e in whole)
    fragment = FRAGMENT if "...named" in SELECTIONS[selection] else ""
    query = (
        f"query($id: ID!) {{ party(id: $id) {{ descendants(first: 100) {{ edges {{ cursor "
        f"node {{ {SELECTIONS[selection]} }} }} }} }} }} {fragment}"
    )
    got = (await demo(query, {"id": root}))["party"]["descendants"]["edges"]
    assert [e["cursor"] for e in got] == [e["cursor"] for e in whole]
    assert [e["node"] for e in got] == [project(e["node"], selection) for e in whole]


WHOLE_CHILD = "{ __typename id kind displayName ... on Organization { name unitType } }"
CHILDREN_SELECTIONS = {
    "ids": ("{ id }", ("id",)),
    "ids and names": ("{ id displayName }", ("id", "displayName")),
    "type names and names": (
        "{ __typename kind displayName }",
        ("__typename", "kind", "displayName"),
    ),
    "a name through a fragment": ("{ ...named }", ("displayName",)),
    "a field of a kind": ("{ id ... on Organization { unitType } }", ("id", "unitType")),
}


def three_levels(selection: str) -> str:
    three = f"children {{ children {{ children {selection} }} }}"
    return f"query($id: ID!) {{ party(id: $id) {{ {three} }} }}"


def third_level(answer: dict) -> list[list[dict]]:
    return [unit["children"] for top in answer["party"]["children"] for unit in top["children"]]


@pytest.mark.parametrize("selection", list(CHILDREN_SELECTIONS))
async def test_children_read_what_the_whole_list_says(demo: GraphQL, selection: str) -> None:
    """children reads ids, kinds and names alone when nothing else is asked (PartyRef),
    for every parent of a level in one read."""
    root = await find(demo, "Nordwind Logistics AG")
    whole = third_level(await demo(three_levels(WHOLE_CHILD), {"id": root}))
    flat = [child for children in whole for child in children]
    assert len(flat) > 2 and any(c["__typename"] != "Organization" for c in flat)
    asked, keys = CHILDREN_SELECTIONS[selection]
    fragment = FRAGMENT if "...named" in asked else ""
    got = third_level(await demo(three_levels(asked) + fragment, {"id": root}))
    assert got == [[{k: c[k] for k in keys if k in c} for c in children] for children in whole]


BELOW_A_CHILD = """id displayName
  children { id displayName }
  descendants(first: 5) { edges { node { depth party { id } } } }
  ancestors { id }
  network(depth: 1) { nodes { id } }
  responsibles(inherited: true) { distance user { id } }
  timeline(first: 2, includeDescendants: true) { edges { node { id sourceId } } }"""


async def test_a_level_asked_for_names_and_what_lies_below_reads_as_whole_parties_do(
    demo: GraphQL,
) -> None:
    """Children asked for ids, names and fields whose resolvers read the id alone (the
    level below, descendants, ancestors, network, responsibles, a timeline) are read by
    id, kind and name (PartyRef), and answer as the same children read whole."""
    root = await find(demo, "Nordwind Logistics AG")
    tree = "query($id: ID!) {{ party(id: $id) {{ children {{ {} }} }} }}"
    narrow = (await demo(tree.format(BELOW_A_CHILD), {"id": root}))["party"]["children"]
    whole = (await demo(tree.format(BELOW_A_CHILD + " createdAt"), {"id": root}))["party"]
    assert len(narrow) > 1 and any(child["children"] for child in narrow)
    assert any(child["timeline"]["edges"] for child in narrow)
    assert narrow == [
        {k: v for k, v in child.items() if k != "createdAt"} for child in whole["children"]
    ]


async def test_narrow_and_whole_children_of_one_party_cost_one_read(demo: GraphQL) -> None:
    """The same children asked twice, by ids first and whole second: both answer in full
    and from one store call (the narrow read does not stand in for the whole one)."""
    root = await find(demo, "Nordwind Logistics AG")
    query = """query($id: ID!) {
      narrow: party(id: $id) { children { id } }
      whole: party(id: $id) { children { id ... on Organization { name unitType } } } }"""
    response = await demo.raw(query, {"id": root}, **{"X-Debug-Round-Trips": "1"})
    body = response.json()
    assert "errors" not in body, body
    narrow, whole = body["data"]["narrow"]["children"], body["data"]["whole"]["children"]
    assert [c["id"] for c in narrow] == [c["id"] for c in whole] and whole
    assert all(c["name"] and c["unitType"] for c in whole)
    assert body["extensions"]["roundTrips"] == 2  # the party (both aliases), its children


async def test_pages_follow_the_end_cursor_when_edges_cursors_go_unread(demo: GraphQL) -> None:
    """Rows are given cursors only when they are read; the page's end cursor always is."""
    root = await find(demo, "Nordwind Logistics AG")
    whole = (await demo(WHOLE, {"id": root}))["party"]["descendants"]["edges"]
    page = """query($id: ID!, $after: String) { party(id: $id) {
      descendants(first: 3, after: $after) {
        pageInfo { endCursor hasNextPage } edges { node { party { id } } } } } }"""
    seen, after = [], None
    while True:
        found = (await demo(page, {"id": root, "after": after}))["party"]["descendants"]
        seen += [e["node"]["party"]["id"] for e in found["edges"]]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
        assert after == whole[len(seen) - 1]["cursor"]
    assert seen == [e["node"]["party"]["id"] for e in whole]


MERGED = {
    "children asked twice": (
        "{ party(id: $id) { children { id } children { id ... on Organization { name } } } }",
        lambda data: all("name" in c for c in data["party"]["children"]),
    ),
    "children through two fragments": (
        "{ party(id: $id) { ...ids ...times } } "
        "fragment ids on Party { children { id } } "
        "fragment times on Party { children { createdAt } }",
        lambda data: all(c["createdAt"] and c["id"] for c in data["party"]["children"]),
    ),
    "descendants, parents in the second": (
        "{ party(id: $id) { descendants(first: 5) { edges { node { depth } } } "
        "descendants(first: 5) { edges { cursor node { parentId } } } } }",
        lambda data: all(
            e["cursor"] and e["node"]["parentId"] for e in data["party"]["descendants"]["edges"]
        ),
    ),
    "descendants, names in a fragment": (
        "{ party(id: $id) { descendants(first: 5) { edges { node { party { __typename id } } } } "
        "...named } } fragment named on Party { descendants(first: 5) { "
        "edges { node { party { ... on Organization { name } } } } } }",
        lambda data: all(
            e["node"]["party"].get("name")
            for e in data["party"]["descendants"]["edges"]
            if e["node"]["party"]["__typename"] == "Organization"
        ),
    ),
    "parties, count in a fragment": (
        "{ parties(first: 2) { edges { node { id } } } ...counted } "
        "fragment counted on Query { parties(first: 2) { totalCount } }",
        lambda data: data["parties"]["totalCount"] > 2,
    ),
}


@pytest.mark.parametrize("case", list(MERGED))
async def test_a_field_asked_twice_reads_for_both(demo: GraphQL, case: str) -> None:
    """GraphQL merges a field asked twice in one place into one resolution: what it
    reads must cover every selection, not the first one only."""
    root = await find(demo, "Nordwind Logistics AG")
    document, holds = MERGED[case]
    query = "query($id: ID!) " + document if "$id" in document else document
    data = await demo(query, {"id": root} if "$id" in document else {})
    assert holds(data), data
