"""The embedded store across restarts, in memory, under concurrent writes, and its schema."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from client import GraphQL, serve
from downgrades import AFTER_12, AFTER_15, DROP_HISTORY
from factories import contact
from neo4j import Driver
from test_opportunities import summed_exactly, three_deals

from contactgraph.config import Settings
from contactgraph.graph.backends import open_store
from contactgraph.graph.duplicates import DuplicateQuery
from contactgraph.graph.errors import ConfigError, Conflict
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    Direction,
    Email,
    Fiscal,
    LegalForm,
    Page,
    Party,
    PartyFilter,
    PartyKind,
)
from contactgraph.graph.records import new_party
from contactgraph.seeds.demo import load_demo
from contactgraph.seeds.synthetic import synthetic_batches


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    async for http in serve(Settings(create=True, graph_url=url)):
        person = await contact(GraphQL(http), "Ada", "Lovelace")
    async for http in serve(Settings(create=True, graph_url=url)):
        data = await GraphQL(http)(
            "query($id: ID!) { party(id: $id) { displayName } }", {"id": person}
        )
        assert data["party"]["displayName"] == "Ada Lovelace"


async def test_in_memory_graph_serves_reads_and_writes() -> None:
    async for http in serve(Settings(create=True, graph_url="sqlite:///:memory:", demo=True)):
        gql = GraphQL(http)
        await contact(gql, "Ada", "Lovelace")
        data = await gql("{ parties { totalCount } }")
        assert data["parties"]["totalCount"] == 42


async def test_concurrent_writes_all_land_once(gql: GraphQL) -> None:
    ids = await asyncio.gather(*(contact(gql, "Person", f"No{i}") for i in range(40)))
    assert len(set(ids)) == 40
    count = "{ parties(filter: {kinds: [CONTACT]}) { totalCount } }"
    reads = await asyncio.gather(*(gql(count) for _ in range(10)))
    assert {r["parties"]["totalCount"] for r in reads} == {40}


async def test_a_concurrent_stale_update_is_refused(gql: GraphQL) -> None:
    person = await contact(gql, "Eva", "Schmid")
    update = """mutation($id: ID!, $tag: String!) {
      updateParty(id: $id, input: {tags: [$tag]}, expectedVersion: 1) { version } }"""
    answers = await asyncio.gather(
        *(gql.raw(update, {"id": person, "tag": f"t{i}"}) for i in range(5))
    )
    bodies = [a.json() for a in answers]
    winners = [b for b in bodies if "errors" not in b]
    assert len(winners) == 1 and winners[0]["data"]["updateParty"]["version"] == 2
    codes = [b["errors"][0]["extensions"]["code"] for b in bodies if "errors" in b]
    assert codes == ["CONFLICT"] * 4


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(ConfigError, match="newer than this contactgraph"):
        async for _ in serve(Settings(create=True, graph_url=f"sqlite:///{path}")):
            pass


async def test_paths_with_spaces_and_url_escapes(tmp_path: Path) -> None:
    folder = tmp_path / "my graphs #1"
    folder.mkdir()
    async for http in serve(
        Settings(create=True, graph_url=f"sqlite:///{folder}/first%20graph.db")
    ):
        await contact(GraphQL(http), "Ada", "Lovelace")
        data = await GraphQL(http)("{ parties(filter: {kinds: [CONTACT]}) { totalCount } }")
        assert data["parties"]["totalCount"] == 1
    assert (folder / "first graph.db").exists()


async def test_upgrading_builds_the_hierarchy_closure_a_new_graph_keeps(tmp_path: Path) -> None:
    """Migration 3 builds from stored relationships the closure that writes maintain: a
    graph written before it and upgraded holds exactly what one written now holds."""
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    store = open_store(url, create=True)
    await store.start()
    for batch in synthetic_batches(2000, seed=3):
        await store.load_batch(batch)
    some = [p.id for p in (await store.list_parties(PartyFilter(), Page(200), False)).parties]
    edges = await store.relationships(some, DEFAULT_HIERARCHY_TYPES, Direction.BOTH, None)
    rel = next(rel for found in edges.values() for rel in found if rel.until is None)
    await store.unlink(rel.id, rel.since + timedelta(days=1))
    await store.close()

    def closure_rows() -> list[tuple]:
        with sqlite3.connect(tmp_path / "graph.db") as conn:
            return sorted(conn.execute("SELECT * FROM hierarchy_reach"))

    maintained = closure_rows()
    assert len(maintained) > 2000
    with sqlite3.connect(tmp_path / "graph.db") as conn:  # back to version 1
        conn.executescript(
            f"{AFTER_15} DROP TABLE hierarchy_reach; DROP TABLE meta; "
            "DROP INDEX activities_time; "
            "DROP TABLE api_tokens; DROP TABLE grants; DROP TABLE roles; "
            "ALTER TABLE activities DROP COLUMN recorded_by_id; DROP TABLE party_keys; "
            f"{DROP_HISTORY} PRAGMA user_version = 1;"
        )
    store = open_store(url, create=True)
    await store.start()
    await store.close()
    assert closure_rows() == maintained
    with sqlite3.connect(tmp_path / "graph.db") as conn:  # activities so far: done, on agendas
        statuses = conn.execute("SELECT DISTINCT status, version FROM activities").fetchall()
        people = conn.execute(
            "SELECT count(*) FROM activities a JOIN activity_people p ON p.activity_id = a.id "
            "AND p.party_id = a.author_id AND p.span_end = a.occurred_at"
        ).fetchone()[0]
        assert (statuses, people) == (
            [("DONE", 1)],
            conn.execute("SELECT count(*) FROM activities").fetchone()[0],
        )


async def _searched(url: str, party_id: str) -> None:
    """Only a search that may match fiscal codes finds the party by its VAT number."""
    store = open_store(url)
    await store.start()
    try:

        async def found(search: str, fiscal: bool) -> list[str]:
            where = PartyFilter(search=search, search_fiscal=fiscal)
            return [p.id for p in (await store.list_parties(where, Page(5), False)).parties]

        assert await found("acme", False) == [party_id]
        assert await found("atu1358", False) == []
        assert await found("acme atu1358", True) == [party_id]
    finally:
        await store.close()


async def test_neo4j_start_brings_the_schema_up_to_date(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    """A start reads the schema and only changes what differs: an index of an older
    version goes, a missing one comes back, and a start with nothing to do changes nothing."""

    def names() -> set[str]:
        records, _, _ = neo4j_driver.execute_query("SHOW INDEXES YIELD name RETURN name")
        return {record["name"] for record in records}

    store = open_store(neo4j_url)
    await store.start()
    await store.close()
    current = names()
    assert {"reach_rank", "party_tokens", "party_id"} <= current
    assert "reach_ancestor" not in current
    neo4j_driver.execute_query("DROP INDEX reach_rank")
    # the closure's (ancestor) index of the version before
    neo4j_driver.execute_query("CREATE INDEX reach_ancestor FOR (h:Reach) ON (h.ancestor)")
    neo4j_driver.execute_query("CREATE INDEX party_text FOR (p:Party) ON (p.name)")
    # the full-text index of the version before, consistent: commits waited on Lucene
    neo4j_driver.execute_query("DROP INDEX party_tokens")
    neo4j_driver.execute_query(
        "CREATE FULLTEXT INDEX party_lookup FOR (p:Party) ON EACH [p.search] "
        "OPTIONS {indexConfig: {`fulltext.eventually_consistent`: false}}"
    )
    await store.start()
    await store.close()
    assert names() == current
    records, _, _ = neo4j_driver.execute_query(
        "SHOW INDEXES YIELD name, options WHERE name = 'party_tokens' "
        "RETURN options.indexConfig['fulltext.eventually_consistent'] AS eventual"
    )
    assert records[0]["eventual"] is True
    await store.start()
    await store.close()
    assert names() == current


async def test_neo4j_marks_the_open_steps_of_an_older_graph_untold(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    """Steps opened before the overdue watch carry no mark that their OVERDUE is untold:
    the start that makes the watch's index marks the open ones, and only those."""
    store = open_store(neo4j_url)
    await store.start()
    await store.close()
    neo4j_driver.execute_query("DROP INDEX process_step_untold")
    neo4j_driver.execute_query(
        "UNWIND $rows AS row CREATE (s:ProcessStep) SET s = row",
        rows=[
            {"id": "done", "due_at": "2024-01-01T00:00:00Z", "done_at": "2024-01-02T00:00:00Z"},
            {"id": "told", "due_at": "2024-02-01T00:00:00Z", "overdue_sent_at": "2024-02-02"},
            {"id": "open", "due_at": "2025-01-01T00:00:00Z"},
        ],
    )
    await store.start()
    try:
        assert await store.next_due() == datetime(2025, 1, 1, tzinfo=UTC)
    finally:
        await store.close()


async def test_neo4j_writes_the_contact_ids_of_deals_stored_without_them(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    """Deals stored when their contacts were only in the document get the property a merge
    looks them up by, at start."""
    store = open_store(neo4j_url)
    await store.start()
    try:
        await load_demo(store)
    finally:
        await store.close()
    query = "MATCH (o:Opportunity) RETURN o.id AS id, o.contact_ids AS contacts ORDER BY id"
    stored = neo4j_driver.execute_query(query).records
    assert any(record["contacts"] for record in stored)
    neo4j_driver.execute_query("MATCH (o:Opportunity) REMOVE o.contact_ids")
    await store.start()
    await store.close()
    assert neo4j_driver.execute_query(query).records == stored


async def test_neo4j_sums_deals_stored_before_it_kept_their_amounts_units(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    """Deals stored when Neo4j summed their amounts' text get the amount's integer units
    (and their own probability as the summary's index keeps it) at start, and the summary
    is the same exact sum."""
    pipeline = await three_deals(neo4j_url)
    neo4j_driver.execute_query(
        "MATCH (o:Opportunity) REMOVE o.amount_high, o.amount_low, o.amount_places, o.chance"
    )
    await summed_exactly(neo4j_url, pipeline)


async def test_neo4j_moves_fiscal_codes_out_of_the_names_search(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    """Parties stored when `search` held fiscal codes are written again at start."""
    store = open_store(neo4j_url)
    await store.start()
    taxed = new_party(
        PartyKind.ORGANIZATION,
        name="Acme",
        legal_form=LegalForm.LEGAL_PERSON,
        fiscal=Fiscal(vat_number="ATU13585627"),
    )
    await store.create_party(taxed)
    await store.close()
    neo4j_driver.execute_query(
        "MATCH (p:Party {id: $id}) SET p.search = 'acme atu13585627' REMOVE p.fiscal_search",
        id=taxed.id,
    )
    await _searched(neo4j_url, taxed.id)


async def test_upgrading_moves_fiscal_codes_out_of_the_names_search(tmp_path: Path) -> None:
    """Migration 7 rewrites the search rows of a graph whose one column held fiscal codes
    among the names: afterwards only a search that may match them does."""
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    store = open_store(url, create=True)
    await store.start()
    taxed = new_party(
        PartyKind.ORGANIZATION,
        name="Acme",
        legal_form=LegalForm.LEGAL_PERSON,
        fiscal=Fiscal(vat_number="ATU13585627"),
    )
    await store.create_party(taxed)
    await store.close()
    with sqlite3.connect(tmp_path / "graph.db") as conn:  # back to version 6: one column
        conn.executescript(
            "DROP TABLE party_search; "
            "CREATE VIRTUAL TABLE party_search USING fts5(body, tokenize = 'unicode61'); "
            "INSERT INTO party_search (rowid, body) SELECT seq, 'acme atu13585627' FROM parties; "
            f"DROP TABLE party_keys; {DROP_HISTORY} {AFTER_15} PRAGMA user_version = 6;"
        )
    await _searched(url, taxed.id)


async def _keyed(url: str, holder: str) -> None:
    """The keys of a party stored before keys existed: its e-mail address is found, and
    its VAT number is taken."""
    store = open_store(url)
    await store.start()
    try:
        assert await store.parties_by_email(["INFO@ACME.EXAMPLE"]) == {
            "INFO@ACME.EXAMPLE": [holder]
        }
        second = new_party(
            PartyKind.ORGANIZATION,
            name="Acme Again",
            legal_form=LegalForm.LEGAL_PERSON,
            fiscal=Fiscal(vat_number="ATU 13585627"),
        )
        with pytest.raises(Conflict, match=holder):
            await store.create_party(second)
    finally:
        await store.close()


def _acme() -> Party:
    return new_party(
        PartyKind.ORGANIZATION,
        name="Acme",
        legal_form=LegalForm.LEGAL_PERSON,
        emails=(Email("info@acme.example"),),
        fiscal=Fiscal(vat_number="ATU13585627"),
    )


async def test_upgrading_keys_the_parties_stored_before(tmp_path: Path) -> None:
    """Migration 8 fills party_keys from every stored party."""
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    store = open_store(url, create=True)
    await store.start()
    acme = await store.create_party(_acme())
    await store.close()
    with sqlite3.connect(tmp_path / "graph.db") as conn:  # back to version 7: no keys
        conn.executescript(
            f"DROP TABLE party_keys; {DROP_HISTORY} {AFTER_15} PRAGMA user_version = 7;"
        )
    await _keyed(url, acme.id)


async def test_neo4j_keys_the_parties_stored_before(neo4j_url: str, neo4j_driver: Driver) -> None:
    """Parties stored before keys existed get them at start."""
    store = open_store(neo4j_url)
    await store.start()
    acme = await store.create_party(_acme())
    await store.close()
    neo4j_driver.execute_query(
        "MATCH (p:Party {id: $id}) REMOVE p.vat_key, p.tax_key, p.email_keys", id=acme.id
    )
    await _keyed(neo4j_url, acme.id)


async def test_upgrading_starts_the_history_of_the_parties_stored_before(tmp_path: Path) -> None:
    """Migration 9 adds the history: a party stored before has none, and its snapshot at
    any time since it was made is the party as stored; later writes are recorded."""
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    store = open_store(url, create=True)
    await store.start()
    made = new_party(PartyKind.ORGANIZATION, "Acme", name="Acme", legal_form=LegalForm.LEGAL_PERSON)
    acme = await store.create_party(made)
    await store.close()
    with sqlite3.connect(tmp_path / "graph.db") as conn:
        conn.executescript(f"{DROP_HISTORY} {AFTER_15} PRAGMA user_version = 8;")
    store = open_store(url)
    await store.start()
    try:
        later = acme.created_at + timedelta(seconds=1)
        assert await store.snapshots([acme.id], later) == {acme.id: acme}
        assert await store.snapshots([acme.id], acme.created_at - timedelta(seconds=1)) == {}
        renamed = await store.update_party(acme.id, {"name": "Acme AG"}, None, later)
        assert (await store.snapshots([acme.id], later))[acme.id].name == "Acme AG"
        assert (await store.snapshots([acme.id], acme.created_at))[acme.id] == acme
        page = (await store.history([acme.id], Page(10), frozenset()))[acme.id]
        assert [c.version for c in page.changes] == [renamed.version]
    finally:
        await store.close()


async def _twins(url: str) -> tuple[str, str]:
    """Two records of one company, stored."""
    store = open_store(url, create=True)
    await store.start()
    try:
        acme, twin = [
            await store.create_party(
                new_party(PartyKind.ORGANIZATION, name=name, legal_form=LegalForm.LEGAL_PERSON)
            )
            for name in ("Acme Widgets GmbH", "ACME Widgets")
        ]
        return acme.id, twin.id
    finally:
        await store.close()


async def _found(url: str, acme: str, twin: str) -> None:
    store = open_store(url)
    await store.start()
    try:
        found = await store.possible_duplicates([acme], DuplicateQuery(5))
        assert [m.other_id for m in found[acme]] == [twin]
    finally:
        await store.close()


async def test_upgrading_keys_names_phones_and_addresses(tmp_path: Path) -> None:
    """Migration 11 adds the keys duplicates are found by to every stored party."""
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    acme, twin = await _twins(url)
    with sqlite3.connect(tmp_path / "graph.db") as conn:  # back to version 10
        conn.executescript(
            "DELETE FROM party_keys WHERE kind IN ('name', 'names', 'phone', 'address'); "
            f"{AFTER_12} {AFTER_15} PRAGMA user_version = 10;"
        )
    await _found(url, acme, twin)


async def test_neo4j_keys_names_of_the_parties_stored_before(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    acme, twin = await _twins(neo4j_url)
    neo4j_driver.execute_query("MATCH (p:Party) REMOVE p.dup_keys")
    await _found(neo4j_url, acme, twin)
