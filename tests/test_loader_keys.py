"""A party's loads are keyed by what they ask: fields with equal arguments load the party
once, the same party read through a page and through `party` answers alike, and loads
that ask differently keep their own answers."""

from __future__ import annotations

import pytest
from client import GraphQL
from test_round_trips import round_trips

pytestmark = pytest.mark.asyncio(loop_scope="module")

READ = """fragment Read on Party {
  children { id } named: children { id displayName }
  timeline(first: 5) { edges { node { id } } } newest: timeline(first: 1) { edges { node { id } } }
  relationships { id type } knows: relationships(types: [KNOWS]) { id type }
}"""
PAGE = "parties(first: 50, filter: {kinds: [ORGANIZATION]}) { edges { node { id ...Read } } }"


ONCE = """fragment Once on Party {
  children { id } timeline(first: 5) { edges { node { id } } } relationships { id type }
}"""
TWICE = """fragment Twice on Party { ...Once
  again: children { id } againTimeline: timeline(first: 5) { edges { node { id } } }
  againRelationships: relationships { id type }
}"""


async def test_equal_loads_of_one_party_are_one_load(module_demo: GraphQL) -> None:
    """Each field builds its own query; equal ones are one key, so asking twice costs no
    call more and answers alike."""
    page = "{ parties(first: 50, filter: {kinds: [ORGANIZATION]}) { edges { node { id "
    once_calls, once = await round_trips(module_demo, page + "...Once } } } }" + ONCE)
    twice_calls, twice = await round_trips(module_demo, page + "...Twice } } } }" + TWICE + ONCE)
    assert twice_calls == once_calls
    nodes = [edge["node"] for edge in twice["parties"]["edges"]]
    assert [{k: n[k] for k in ("id", "children", "timeline", "relationships")} for n in nodes] == [
        edge["node"] for edge in once["parties"]["edges"]
    ]
    assert any(n["children"] for n in nodes) and any(n["timeline"]["edges"] for n in nodes)
    for node in nodes:
        assert node["again"] == node["children"]
        assert node["againTimeline"] == node["timeline"]
        assert node["againRelationships"] == node["relationships"]


async def test_a_party_reached_twice_answers_alike(module_demo: GraphQL) -> None:
    _, page = await round_trips(module_demo, f"{{ {PAGE} }}" + READ)
    nodes = {edge["node"]["id"]: edge["node"] for edge in page["parties"]["edges"]}
    # the organization with the most children and activities: the loads that matter
    chosen = max(nodes.values(), key=lambda n: (len(n["children"]), len(n["timeline"]["edges"])))
    assert chosen["children"] and chosen["timeline"]["edges"] and chosen["relationships"]
    both = f"query($id: ID!) {{ {PAGE} one: party(id: $id) {{ id ...Read }} }}" + READ
    data = await module_demo(both, {"id": chosen["id"]})
    assert data["one"] == chosen
    assert {e["node"]["id"]: e["node"] for e in data["parties"]["edges"]} == nodes
    alone = await module_demo(
        "query($id: ID!) { party(id: $id) { id ...Read } }" + READ, {"id": chosen["id"]}
    )
    assert alone["party"] == chosen


async def test_loads_that_ask_differently_keep_their_own_answers(
    module_demo: GraphQL,
) -> None:
    _, page = await round_trips(module_demo, f"{{ {PAGE} }}" + READ)
    for edge in page["parties"]["edges"]:
        node = edge["node"]
        assert node["newest"]["edges"] == node["timeline"]["edges"][:1]
        assert [c["id"] for c in node["named"]] == [c["id"] for c in node["children"]]
        assert node["knows"] == [r for r in node["relationships"] if r["type"] == "KNOWS"]
    assert any(len(e["node"]["timeline"]["edges"]) > 1 for e in page["parties"]["edges"])
    # the filtered loads answered apart from the unfiltered ones
    assert any(e["node"]["knows"] != e["node"]["relationships"] for e in page["parties"]["edges"])
