"""What a write makes findable is found the moment it answers, through another server on
the same graph: search, partyByExternalId, possibleDuplicates and the check that an
external id is free. On Neo4j they read an eventually consistent full-text index, after
waiting for the writes committed before them (graph/neo4j/search.py); without that wait
most of these reads miss the party just written."""

from __future__ import annotations

from client import GraphQL, serve
from factories import contact

from contactgraph.config import Settings
from contactgraph.graph.neo4j.activity_search import PROBED

SEARCH = "query($s: String!) { parties(search: $s) { edges { node { id } } } }"
BY_EXTERNAL_ID = 'query($k: String!) { partyByExternalId(source: "crm", key: $k) { id } }'
DUPLICATES = "query($id: ID!) { party(id: $id) { possibleDuplicates { party { id } } } }"
CLAIM = """mutation($k: String!) {
  createContact(input: {firstName: "Other", externalIds: [{source: "crm", key: $k}]}) { id } }"""
NAMES = ("Quastenberg", "Rautenfeld", "Sollingwald")


async def test_a_write_is_found_at_once_through_another_server(graph_url: str) -> None:
    settings = Settings(create=True, graph_url=graph_url)
    async for first in serve(settings):
        async for second in serve(settings):
            writer, reader = GraphQL(first), GraphQL(second)
            for n, name in enumerate(NAMES):
                key = f"c-{n}"
                email = {"address": f"{name.lower()}@example.com"}
                made = await contact(
                    writer,
                    "Ilse",
                    name,
                    emails=[email],
                    externalIds=[{"source": "crm", "key": key}],
                )
                found = await reader(SEARCH, {"s": name})
                assert [e["node"]["id"] for e in found["parties"]["edges"]] == [made]
                held = await reader(BY_EXTERNAL_ID, {"k": key})
                assert held["partyByExternalId"] == {"id": made}
                error = await reader.error(CLAIM, {"k": key})
                assert error["extensions"]["code"] == "CONFLICT" and made in error["message"]
                again = await contact(writer, "I.", name, emails=[email])
                alike = await reader(DUPLICATES, {"id": again})
                assert made in [c["party"]["id"] for c in alike["party"]["possibleDuplicates"]]


NEWER = 2 * PROBED  # a one-item search tests the newest 2 * PROBED activities first
ACTIVITY_SEARCH = (
    "query($s: String!) { activities(search: $s, first: 1) { edges { node { id } } } }"
)
MADE_WITH_ACTIVITIES = """mutation($input: CreateContactInput!) {
  createContact(input: $input) { timeline(first: 1) { edges { node { id } } } } }"""


async def test_an_activity_is_found_at_once_through_another_server(graph_url: str) -> None:
    """Older than the newest activities a search tests first, so only the index finds it."""
    settings = Settings(create=True, graph_url=graph_url)
    async for first in serve(settings):
        async for second in serve(settings):
            writer, reader = GraphQL(first), GraphQL(second)
            for start in range(0, NEWER, 10):  # a new party brings at most 10
                newer = [{"type": "NOTE", "summary": "note"}] * min(10, NEWER - start)
                await writer(
                    MADE_WITH_ACTIVITIES, {"input": {"firstName": "A", "activities": newer}}
                )
            for word in ("Quittenbrot", "Mandelkern", "Holunderblüte", "Sanddornsaft"):
                older = {"type": "CALL", "summary": word, "occurredAt": "2020-01-01T00:00:00Z"}
                made = await writer(
                    MADE_WITH_ACTIVITIES, {"input": {"firstName": "B", "activities": [older]}}
                )
                found = await reader(ACTIVITY_SEARCH, {"s": word})
                assert found["activities"]["edges"] == made["createContact"]["timeline"]["edges"]
