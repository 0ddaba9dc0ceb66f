"""A seed killed half-way leaves a graph that says so: `seed` refuses to start on top of it,
and `seed --resume` finishes it into the graph the whole seed would have made.

Ten batches: the seed is killed once two are in, so eight are left for the resume to
write, which takes far longer than the 10 ms the test polls at; more parties would only
make the resume longer."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from graphs import wipe
from neo4j import Driver
from test_cli import CLI, run

from contactgraph.graph.backends import open_store
from contactgraph.graph.model import Page, PartyFilter
from contactgraph.seeds.progress import SeedRun
from contactgraph.seeds.synthetic import synthetic_batches

PARTIES, BATCH = 2000, 200


async def test_an_interrupted_seed_is_refused_then_resumed(graph_url: str) -> None:
    store = open_store(graph_url, create=True)
    await store.start()
    try:
        args = ["seed", "--synthetic", str(PARTIES), "--batch-size", str(BATCH)]
        seeding = subprocess.Popen(  # noqa: ASYNC220 - killed below, on purpose
            [*CLI, *args, "--graph", graph_url],
            env={**os.environ, "CI": "true"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(3000):
            note = await store.seed_progress()
            if note is not None and SeedRun.from_json(note).batches >= 2:
                break
            await asyncio.sleep(0.01)
        seeding.kill()
        seeding.wait()
        left = SeedRun.from_json(await store.seed_progress() or "")
        assert left.batches >= 2 and left.written < PARTIES

        again = await asyncio.to_thread(run, *args, "--graph", graph_url)
        assert again.returncode != 0
        assert "--resume" in again.stderr and f"{left.written:,} of {PARTIES:,}" in again.stderr

        resumed = await asyncio.to_thread(run, "seed", "--resume", "--graph", graph_url)
        assert resumed.returncode == 0, resumed.stderr
        assert await store.seed_progress() is None
        page = await store.list_parties(PartyFilter(include_archived=True), Page(1), count=True)
        assert page.total_count == PARTIES

        nothing = await asyncio.to_thread(run, "seed", "--resume", "--graph", graph_url)
        assert nothing.returncode != 0 and "no unfinished seed" in nothing.stderr
    finally:
        await store.close()


# a seed's records and what the embedded store derives from them, each table in a fixed
# order; the history by entry number (its ids and write times are the write's own)
TABLES = {
    "parties": "SELECT * FROM parties ORDER BY id",
    "relationships": "SELECT * FROM relationships ORDER BY id",
    "activities": "SELECT * FROM activities ORDER BY id",
    "hierarchy_reach": "SELECT * FROM hierarchy_reach ORDER BY 1, 2, 3, 4",
    "party_search": "SELECT rowid, body, fiscal FROM party_search ORDER BY rowid",
    "party_keys": "SELECT kind, value, party_id FROM party_keys ORDER BY 1, 2, 3",
    "party_tags": "SELECT tag, party_id FROM party_tags ORDER BY 1, 2",
    "activity_people": "SELECT * FROM activity_people ORDER BY 1, 2, 3",
    "activity_subjects": "SELECT * FROM activity_subjects ORDER BY 1, 2, 3",
    "activity_search": "SELECT rowid, body FROM activity_search ORDER BY rowid",
    "history": "SELECT seq, kind, actor_id, subject_ids, fields, party_id, version "
    "FROM history ORDER BY seq",
    "history_subjects": "SELECT seq, subject_id FROM history_subjects ORDER BY 1, 2",
    "meta": "SELECT * FROM meta WHERE key = 'seed'",
}


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        return {table: conn.execute(query).fetchall() for table, query in TABLES.items()}


async def test_the_generators_process_writes_what_checked_batches_write(tmp_path: Path) -> None:
    """On the embedded store the generator runs in a process of its own and hands over
    rows: the graph is the one its batches make through load_batch, checked in the
    writer's transaction, record for record and row for row."""
    for attempt in range(2):  # the seed's day is today's: again if midnight passed meanwhile
        day, fast = _today(), tmp_path / f"fast{attempt}.db"
        seeded = await asyncio.to_thread(
            run, "seed", "--synthetic", "700", "--batch-size", "250", "--graph", f"sqlite:///{fast}"
        )
        assert seeded.returncode == 0, seeded.stderr
        if _today() == day:
            break
    assert "seeded 700 parties" in seeded.stdout and "the generator's process" in seeded.stdout
    checked = tmp_path / "checked.db"
    store = open_store(f"sqlite:///{checked}", create=True)
    await store.start()
    try:
        for batch in synthetic_batches(700, seed=1, batch_size=250, now=day):
            await store.load_batch(batch)
    finally:
        await store.close()

    rows, expected = _tables(fast), _tables(checked)
    assert len(rows["parties"]) == 700 and len(rows["hierarchy_reach"]) > 700
    records = ("parties", "relationships", "activities")
    assert len(rows["history"]) == sum(len(rows[table]) for table in records)
    for table in TABLES:
        assert rows[table] == expected[table], table


# what a Neo4j seed writes, each record by what it says (history entries without their
# ids and write times, which are the write's own), in a fixed order
NEO4J_READS = {
    "parties": "MATCH (p:Party) RETURN p.id, labels(p), properties(p) ORDER BY p.id",
    "relationships": "MATCH (a:Party)-[r]->(b:Party) "
    "RETURN a.id, type(r), b.id, properties(r) ORDER BY r.id",
    "activities": "MATCH (a:Activity) RETURN properties(a), "
    "COLLECT { MATCH (a)-[s:ABOUT]->(p) RETURN [p.id, properties(s)] ORDER BY s.position } "
    "ORDER BY a.id",
    "reach": "MATCH (h:Reach)-[:REACHES]->(d:Party) RETURN h.ancestor, d.id, h.depth, h.rank, "
    "h.shared, toString(h.since), toString(h.until) ORDER BY h.ancestor, d.id, h.depth, "
    "toString(h.since)",
    "history": "MATCH (c:Change) WITH c, properties(c) AS props "
    "RETURN apoc_free_props, COLLECT { MATCH (m:Mention)-[:OF]->(c) RETURN m.subject_id "
    "ORDER BY m.subject_id } ORDER BY c.subject_id, c.kind",
    "seed note": "MATCH (m:Meta {key: 'seed'}) RETURN m.value",
}
NEO4J_READS["history"] = NEO4J_READS["history"].replace(
    "apoc_free_props",
    "[k IN keys(props) WHERE NOT k IN ['id', 'at', 'request_id'] | [k, props[k]]]",
)


def _neo4j_graph(driver: Driver) -> dict[str, list[list[object]]]:
    with driver.session() as session:
        return {
            what: [list(record.values()) for record in session.run(query)]
            for what, query in NEO4J_READS.items()
        }


async def test_the_generators_process_writes_on_neo4j_what_checked_batches_write(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    """On Neo4j too the generator's process checks the batches and makes the rows: the
    graph is the one load_batch makes of the same batches, record for record."""
    for attempt in range(2):  # the seed's day is today's: again if midnight passed meanwhile
        day = _today()
        if attempt:
            wipe(neo4j_driver)
        seeded = await asyncio.to_thread(
            run, "seed", "--synthetic", "700", "--batch-size", "250", "--graph", neo4j_url
        )
        assert seeded.returncode == 0, seeded.stderr
        if _today() == day:
            break
    rows = _neo4j_graph(neo4j_driver)
    wipe(neo4j_driver)
    store = open_store(neo4j_url)
    await store.start()
    try:
        for batch in synthetic_batches(700, seed=1, batch_size=250, now=day):
            await store.load_batch(batch)
    finally:
        await store.close()
    expected = _neo4j_graph(neo4j_driver)
    assert len(rows["parties"]) == 700 and len(rows["reach"]) > 700
    assert len(rows["history"]) == sum(
        len(rows[w]) for w in ("parties", "relationships", "activities")
    )
    for what in NEO4J_READS:
        assert rows[what] == expected[what], what
