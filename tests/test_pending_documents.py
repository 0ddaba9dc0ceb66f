"""A party created is found at once, though on Neo4j its full-text document waits for the
flusher's next batch (graph/neo4j/pending.py). These tests hold the batch back (a DELAY
of an hour), so every read meets the party pending; on SQLite the same answers hold.
What a stopping server leaves pending, flushed or not, the next start indexes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cable import Cable
from client import GraphQL, serve
from factories import contact
from neo4j import Driver
from test_fresh_lookups import (
    BY_EXTERNAL_ID,
    CLAIM,
    DUPLICATES,
    SEARCH,
)
from test_fresh_lookups import (
    test_a_write_is_found_at_once_through_another_server as found_through_another_server,
)
from test_parties import UPDATE

from contactgraph.config import Settings
from contactgraph.graph.neo4j import pending
from contactgraph.graph.neo4j.search import INDEX


@pytest.fixture(autouse=True)
def held_back(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(pending, "DELAY", 3600.0)
    yield


async def _found(gql: GraphQL, text: str) -> list[str]:
    return [e["node"]["id"] for e in (await gql(SEARCH, {"s": text}))["parties"]["edges"]]


async def test_a_new_party_is_found_by_every_lookup_at_once(gql: GraphQL) -> None:
    email = {"address": "ilse@quastenberg.example"}
    made = await contact(
        gql, "Ilse", "Quastenberg", emails=[email], externalIds=[{"source": "crm", "key": "q-1"}]
    )
    assert await _found(gql, "Quastenberg") == [made]
    assert await _found(gql, "ils quast") == [made]  # prefixes, every term
    assert await _found(gql, "ilse rautenfeld") == []
    held = await gql(BY_EXTERNAL_ID, {"k": "q-1"})
    assert held["partyByExternalId"] == {"id": made}
    error = await gql.error(CLAIM, {"k": "q-1"})
    assert error["extensions"]["code"] == "CONFLICT" and made in error["message"]
    again = await contact(gql, "I.", "Quastenberg", emails=[email])
    alike = await gql(DUPLICATES, {"id": again})
    assert made in [c["party"]["id"] for c in alike["party"]["possibleDuplicates"]]
    assert sorted(await _found(gql, "Quastenberg")) == sorted([made, again])


async def test_a_new_party_renamed_is_found_by_its_new_name_only(gql: GraphQL) -> None:
    made = await contact(gql, "Ilse", "Rautenfeld")
    await gql(UPDATE, {"id": made, "input": {"lastName": "Sollingwald"}})
    assert await _found(gql, "Sollingwald") == [made]
    assert await _found(gql, "Rautenfeld") == []


async def test_two_servers_find_each_others_pending_parties(graph_url: str) -> None:
    await found_through_another_server(graph_url)


def _index_state(driver: Driver, party_id: str, name: str) -> tuple[bool, list[str]]:
    """Whether the party is pending, and whom the index itself finds by `name`."""
    with driver.session() as session:
        waiting = session.run(
            f"MATCH (p:{pending.LABEL} {{id: $id}}) RETURN count(p) AS n", id=party_id
        ).single(strict=True)
        session.run("CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()").consume()
        hits = session.run(
            f"CALL db.index.fulltext.queryNodes('{INDEX}', $q) YIELD node RETURN node.id AS id",
            q=f"search:{name.lower()}",
        )
        return waiting["n"] == 1, [record["id"] for record in hits]


async def test_a_stopping_server_flushes_what_is_pending(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    async for http in serve(Settings(create=True, graph_url=neo4j_url)):
        made = await contact(GraphQL(http), "Ilse", "Quastenberg")
        assert _index_state(neo4j_driver, made, "Quastenberg") == (True, [])
    assert _index_state(neo4j_driver, made, "Quastenberg") == (False, [made])


async def test_a_party_left_pending_by_a_failed_flush_is_indexed_by_the_next_start(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    """The stopping server's flush fails (Neo4j out of reach): the party stays pending,
    not lost, and the next server's start indexes it."""
    with Cable.to(neo4j_url) as cable:
        through = Settings(create=True, graph_url=f"bolt://127.0.0.1:{cable.port}")
        async for http in serve(through):
            made = await contact(GraphQL(http), "Ilse", "Quastenberg")
            cable.cut()
    assert _index_state(neo4j_driver, made, "Quastenberg") == (True, [])
    async for http in serve(Settings(graph_url=neo4j_url)):
        assert _index_state(neo4j_driver, made, "Quastenberg") == (False, [made])
        assert await _found(GraphQL(http), "Quastenberg") == [made]
