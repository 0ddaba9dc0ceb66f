"""A descendants page reads only what its selection asks (TreeReading): ids and kinds
when a party's other fields go unread, no edges when `relationship` does. Whatever the
selection, each field it does read answers what the whole row says, on both stores."""

from __future__ import annotations

import pytest
from client import GraphQL
from test_demo import find

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
