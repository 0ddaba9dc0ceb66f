"""The closure each store keeps for roll-ups equals the one derived from scratch from its
edges, after links, unlinks, batches on both of Neo4j's paths (new parties under stored
ones; stored parties under new ones), merges, unmerges and writes racing each other; and
a Neo4j graph written before the closure existed gets it at start."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from builders import T0, edge, org, person
from neo4j import Driver

from contactgraph.graph import closure
from contactgraph.graph.backends import open_store
from contactgraph.graph.errors import Conflict
from contactgraph.graph.model import Batch, Direction, Page, PartyFilter, Relationship, RelType
from contactgraph.graph.neo4j import closure as neo4j_closure
from contactgraph.graph.neo4j import closure_build
from contactgraph.graph.neo4j import cypher as neo4j_cypher
from contactgraph.graph.neo4j.closure import text
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import format_instant

DAY = timedelta(days=1)
Rows = list[closure.Row]


async def derived(store: GraphStore) -> Rows:
    """The closure of the store's edges of every time, from scratch."""
    ids = [p.id for p in (await store.list_parties(PartyFilter(), Page(1000), False)).parties]
    found = await store.relationships(ids, list(closure.CLOSURE_TYPES), Direction.BOTH, None)
    rels = {rel.id: rel for edges in found.values() for rel in edges}
    edges = closure.Edges(
        (
            *closure.parent_child(rel),
            format_instant(rel.since),
            None if rel.until is None else format_instant(rel.until),
        )
        for rel in rels.values()
    )
    rows: Rows = []
    for party in edges.below:
        seeds = {0: {(party, party): [closure.ALWAYS]}}
        rows += closure.rows(closure.propagate(seeds, edges, set(ids)))
    return sorted(rows)


def kept(url: str, driver: Driver | None) -> Rows:
    """The rows the store keeps (below depth 0); on Neo4j, each with its rank and an end."""
    if driver is None:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return sorted(
                conn.execute(
                    "SELECT ancestor_id, descendant_id, depth, since, until "
                    "FROM hierarchy_reach WHERE depth > 0"
                )
            )
    records, _, _ = driver.execute_query(
        "MATCH (h:Reach)-[:REACHES]->(d) RETURN h.ancestor, d.id, h.depth, "
        "toString(h.since), toString(h.until), h.rank, h.shared"
    )
    assert all(u is not None and r == neo4j_cypher.rank(h, d) for _, d, h, _, u, r, _ in records)
    found = [((a, d, depth, text(s), text(u)), shared) for a, d, depth, s, u, _, shared in records]
    # a row names its ancestor as `shared` exactly when it overlaps a row of its pair
    rows = [row for row, _ in found]
    overlapping = {rows[at] for at in neo4j_closure.overlapping(rows)}
    assert {row for row, shared in found if shared == row[0]} == overlapping
    assert all(shared in (None, row[0]) for row, shared in found)
    return sorted(rows)


async def test_the_kept_closure_is_the_derived_one(
    store: GraphStore, graph_url: str, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(7)
    units = [org(f"Unit {i}") for i in range(14)]
    people = [person("P", str(i)) for i in range(6)]
    await store.load_batch(Batch([*units[:10], *people]))
    rels: dict[str, Relationship] = {}

    async def link(rel: Relationship) -> None:
        with contextlib.suppress(Conflict):  # a duplicate of an open edge: nothing written
            rels[rel.id] = await store.link(rel)

    for _ in range(30):
        open_edges = [r for r in rels.values() if r.until is None]
        if open_edges and rng.random() < 0.25:
            ended = rng.choice(open_edges)
            rels[ended.id] = await store.unlink(ended.id, ended.since + rng.randint(1, 9) * DAY)
            continue
        since = T0 + rng.randint(0, 12) * DAY
        child, parent = sorted(rng.sample(range(10), 2), reverse=True)
        if rng.random() < 0.7:
            await link(edge(RelType.PART_OF, units[child], units[parent], since=since))
        else:
            await link(edge(RelType.EMPLOYS, units[parent], rng.choice(people), since=since))
    # new units under stored ones (the doors' rows alone) ...
    below = [
        edge(RelType.PART_OF, units[10], units[3]),
        edge(RelType.PART_OF, units[11], units[10]),
        edge(RelType.EMPLOYS, units[11], person("New", "Hire")),
    ]
    await store.load_batch(Batch([units[10], units[11], person("New", "Hire")], below[:2]))
    # ... and stored units under new ones (a survey after the write)
    above = [
        edge(RelType.PART_OF, units[12], units[13]),
        edge(RelType.PART_OF, units[0], units[12], since=T0 + 3 * DAY),
        edge(RelType.MEMBER_OF, units[5], units[12], since=T0 + 5 * DAY),
    ]
    await store.load_batch(Batch([units[12], units[13]], above))
    # a merge moves every edge of the merged unit, an unmerge brings them back
    kept_unit, merged_unit, under, hire = org("Kept"), org("Merged"), org("Under"), person("M", "H")
    await store.load_batch(
        Batch(
            [kept_unit, merged_unit, under, hire],
            [
                edge(RelType.PART_OF, kept_unit, units[1]),
                edge(RelType.PART_OF, merged_unit, units[2], since=T0 + DAY),
                edge(RelType.EMPLOYS, merged_unit, hire, since=T0 + 2 * DAY),
                edge(RelType.PART_OF, under, merged_unit),
            ],
        )
    )
    await store.merge_parties(kept_unit.id, [merged_unit.id], (), T0 + 20 * DAY, False)
    await store.unmerge_party(merged_unit.id, T0 + 25 * DAY)
    await store.merge_parties(kept_unit.id, [merged_unit.id], (), T0 + 30 * DAY, False)

    # writes racing each other over one region
    racing = [
        edge(RelType.PART_OF, units[c], units[p], since=T0 + rng.randint(0, 12) * DAY)
        for c, p in [(9, 8), (8, 1), (5, 3), (3, 0), (9, 1), (11, 5), (13, 1)]
    ]
    open_now = [r for r in rels.values() if r.until is None][:4]
    await asyncio.gather(
        *(link(rel) for rel in racing),
        *(store.unlink(rel.id, rel.since + 2 * DAY) for rel in open_now),
    )

    sqlite = graph_url.startswith("sqlite")
    driver = None if sqlite else request.getfixturevalue("neo4j_driver")
    maintained = kept(graph_url, driver)
    assert len(maintained) > 40
    assert maintained == await derived(store)


def matrix() -> tuple[str, Batch]:
    """A unit under a chain and, for a while, right under the top too; the top's id."""
    top, a, b, unit, under = (org(name) for name in ("Top", "A", "B", "Matrix", "Under"))
    return top.id, Batch(
        [top, a, b, unit, under],
        [
            edge(RelType.PART_OF, a, top),
            edge(RelType.PART_OF, b, a),
            edge(RelType.PART_OF, unit, b),
            edge(RelType.PART_OF, unit, top, since=T0 + 2 * DAY, until=T0 + 6 * DAY),
            edge(RelType.PART_OF, under, unit),
        ],
    )


async def test_a_party_reached_at_two_depths_is_counted_once(store: GraphStore) -> None:
    """Each moment's count is its page's length, whatever rows overlap then (Neo4j counts
    rows less the surplus of those marked shared)."""
    top_id, batch = matrix()
    await store.load_batch(batch)
    types = list(closure.CLOSURE_TYPES)
    for days, depth, names in [
        (1, 64, ["A", "B", "Matrix", "Under"]),
        (3, 64, ["A", "Matrix", "B", "Under"]),
        (3, 2, ["A", "Matrix", "B", "Under"]),
        (1, 2, ["A", "B"]),
        (7, 3, ["A", "B", "Matrix"]),
    ]:
        at = T0 + days * DAY
        page = (await store.descendants([top_id], types, depth, at, Page(10), True))[top_id]
        assert sorted(r.party.display_name for r in page.rows) == sorted(names)
        assert page.total_count == len(names), (days, depth)


async def test_a_graph_written_before_the_closure_gets_it_at_start(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    store = open_store(neo4j_url, create=True)
    await store.start()
    units = [org(f"Unit {i}") for i in range(8)]
    rels = [edge(RelType.PART_OF, units[i], units[i // 2]) for i in range(1, 8)]
    rels.append(edge(RelType.MEMBER_OF, units[7], units[2], since=T0 + DAY, until=T0 + 5 * DAY))
    await store.load_batch(Batch(units, rels))
    await store.close()
    maintained = kept(neo4j_url, neo4j_driver)
    assert len(maintained) > 8
    neo4j_driver.execute_query("MATCH (h:Reach) DETACH DELETE h")
    neo4j_driver.execute_query("MATCH (m:Meta {key: 'closure'}) DELETE m")
    store = open_store(neo4j_url, create=True)
    await store.start()
    await store.close()
    assert kept(neo4j_url, neo4j_driver) == maintained


async def test_a_closure_of_an_older_layout_is_built_again_at_start(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    """Rows without a rank and with open windows ending in null (the first layout) are
    replaced, so the index that pages and counts a subtree holds every row."""
    store = open_store(neo4j_url, create=True)
    await store.start()
    units = [org(f"Unit {i}") for i in range(8)]
    rels = [edge(RelType.PART_OF, units[i], units[i // 2]) for i in range(1, 8)]
    rels.append(edge(RelType.MEMBER_OF, units[7], units[2], since=T0 + DAY, until=T0 + 5 * DAY))
    await store.load_batch(Batch(units, rels))
    await store.close()
    maintained = kept(neo4j_url, neo4j_driver)
    neo4j_driver.execute_query(
        "MATCH (h:Reach) REMOVE h.rank "
        "WITH h WHERE h.until > datetime('9000-01-01T00:00:00Z') SET h.until = null"
    )
    neo4j_driver.execute_query("MATCH (m:Meta {key: 'closure'}) SET m.value = '1'")
    store = open_store(neo4j_url, create=True)
    await store.start()
    page = (
        await store.descendants(
            [units[0].id], list(closure.CLOSURE_TYPES), 64, T0 + 2 * DAY, Page(10), True
        )
    )[units[0].id]
    await store.close()
    assert kept(neo4j_url, neo4j_driver) == maintained
    assert page.total_count == 7 and [row.depth for row in page.rows] == [1, 2, 2, 3, 3, 3, 3]


async def test_a_closure_without_its_shared_marks_is_built_again_at_start(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    """Rows of the second layout, none marked shared, would count a party reached at two
    depths twice: they are replaced at start."""
    store = open_store(neo4j_url, create=True)
    await store.start()
    top_id, batch = matrix()
    await store.load_batch(batch)
    await store.close()
    maintained = kept(neo4j_url, neo4j_driver)
    neo4j_driver.execute_query("MATCH (h:Reach) REMOVE h.shared")
    neo4j_driver.execute_query("MATCH (m:Meta {key: 'closure'}) SET m.value = '2'")
    store = open_store(neo4j_url, create=True)
    await store.start()
    types = list(closure.CLOSURE_TYPES)
    page = (await store.descendants([top_id], types, 64, T0 + 3 * DAY, Page(10), True))[top_id]
    await store.close()
    assert kept(neo4j_url, neo4j_driver) == maintained  # with the marks (kept checks them)
    assert page.total_count == 4


async def test_writes_racing_over_one_chain_keep_it(
    store: GraphStore, graph_url: str, request: pytest.FixtureRequest
) -> None:
    """Each round a new parent above a chain, a new unit and a stored one below it and the
    last parent's end race: each reads rows another rewrites."""
    chain = [org(f"C{i}") for i in range(6)]
    tops = [org(f"Top {i}") for i in range(8)]
    leaves = [org(f"Leaf {i}") for i in range(8)]
    links = [edge(RelType.PART_OF, chain[i], chain[i - 1]) for i in range(1, 6)]
    await store.load_batch(Batch([*chain, *tops, *leaves], links))
    last: Relationship | None = None
    for k in range(8):
        above = edge(RelType.PART_OF, chain[0], tops[k], since=T0 + k * DAY)
        new = org(f"New {k}")
        writes = [
            store.link(above),
            store.load_batch(Batch([new], [edge(RelType.PART_OF, new, chain[-1])])),
            store.link(edge(RelType.PART_OF, leaves[k], chain[k % 3 + 2])),
        ]
        if last is not None:
            writes.append(store.unlink(last.id, last.since + DAY))
        await asyncio.gather(*writes)
        last = above
    sqlite = graph_url.startswith("sqlite")
    driver = None if sqlite else request.getfixturevalue("neo4j_driver")
    assert kept(graph_url, driver) == await derived(store)


async def test_a_unit_made_below_waits_for_a_link_above(
    store: GraphStore,
    graph_url: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A link above a chain has surveyed its region when a unit is made below it: unless the
    new unit waits, it reads the bottom's rows without the new ancestor while the link
    rewrites the chain's rows without the new unit."""
    chain = [org(f"C{i}") for i in range(4)]
    top, new = org("Top"), org("New")
    links = [edge(RelType.PART_OF, chain[i], chain[i - 1]) for i in range(1, 4)]
    await store.load_batch(Batch([*chain, top], links))
    sqlite = graph_url.startswith("sqlite")
    surveyed = asyncio.Event()
    survey = neo4j_closure.survey

    async def slow_survey(*args: Any, **kwargs: Any) -> neo4j_closure.Survey:
        found = await survey(*args, **kwargs)
        surveyed.set()
        await asyncio.sleep(0.3)  # time for a write that does not wait to finish
        return found

    monkeypatch.setattr(neo4j_closure, "survey", slow_survey)
    above = asyncio.create_task(store.link(edge(RelType.PART_OF, chain[0], top)))
    if not sqlite:  # the embedded store's writes take turns anyway
        await surveyed.wait()
    await store.load_batch(Batch([new], [edge(RelType.PART_OF, new, chain[-1])]))
    await above
    driver = None if sqlite else request.getfixturevalue("neo4j_driver")
    assert (top.id, new.id, 5) in {row[:3] for row in kept(graph_url, driver)}
    assert kept(graph_url, driver) == await derived(store)


async def test_a_door_as_deep_as_the_closure_adds_no_row_twice(
    store: GraphStore, graph_url: str, request: pytest.FixtureRequest
) -> None:
    """C above A above 62 units above M (64 below C), M and C above D: linking C under a new
    parent re-derives C's region, whose door M holds rows from A, inside it."""
    c, a, m, d, top = org("C"), org("A"), org("M"), org("D"), org("Top")
    chain = [c, a, *(org(f"N{i}") for i in range(62)), m]
    rels = [edge(RelType.PART_OF, chain[i], chain[i - 1]) for i in range(1, len(chain))]
    rels += [edge(RelType.PART_OF, d, m), edge(RelType.PART_OF, d, c)]
    await store.load_batch(Batch([*chain, d, top], rels))
    await store.link(edge(RelType.PART_OF, c, top))
    sqlite = graph_url.startswith("sqlite")
    driver = None if sqlite else request.getfixturevalue("neo4j_driver")
    found = kept(graph_url, driver)
    assert len(found) == len(set(found))
    assert found == await derived(store)


async def test_an_unlink_racing_a_merge_that_moves_its_edge_ends_it_where_it_went(
    neo4j_url: str, neo4j_driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unlink read the edge from Merged; the merge moves it to Survivor, same id, before
    the unlink's locks: the unlink reads it again under its ends' locks and ends it from
    Survivor, closing Survivor's rows (not Merged's)."""
    store = open_store(neo4j_url, create=True)
    await store.start()
    top, merged, survivor, below = org("Top"), org("Merged"), org("Survivor"), org("Below")
    up = edge(RelType.PART_OF, merged, top)
    await store.load_batch(
        Batch([top, merged, survivor, below], [up, edge(RelType.PART_OF, below, survivor)])
    )
    read, moved = asyncio.Event(), asyncio.Event()
    by_id = neo4j_cypher.relationships_by_id

    async def read_then_wait(*args: Any, **kwargs: Any) -> list[Relationship]:
        found = await by_id(*args, **kwargs)
        read.set()
        await moved.wait()
        return found

    monkeypatch.setattr(neo4j_cypher, "relationships_by_id", read_then_wait)
    ending = asyncio.create_task(store.unlink(up.id, T0 + 3 * DAY))
    await read.wait()
    monkeypatch.setattr(neo4j_cypher, "relationships_by_id", by_id)
    await store.merge_parties(survivor.id, [merged.id], (), T0 + 10 * DAY, False)
    moved.set()
    ended = await ending
    assert (ended.from_id, ended.to_id, ended.until) == (survivor.id, top.id, T0 + 3 * DAY)
    assert kept(neo4j_url, neo4j_driver) == await derived(store)
    await store.close()


async def test_servers_starting_together_build_the_closure_once(
    neo4j_url: str, neo4j_driver: Driver
) -> None:
    store = open_store(neo4j_url, create=True)
    await store.start()
    units = [org(f"Unit {i}") for i in range(8)]
    rels = [edge(RelType.PART_OF, units[i], units[i // 2]) for i in range(1, 8)]
    await store.load_batch(Batch(units, rels))
    await store.close()
    maintained = kept(neo4j_url, neo4j_driver)
    neo4j_driver.execute_query("MATCH (h:Reach) DETACH DELETE h")
    neo4j_driver.execute_query("MATCH (m:Meta {key: 'closure'}) DELETE m")
    stores = [open_store(neo4j_url, create=True) for _ in range(3)]
    await asyncio.gather(*(s.start() for s in stores))
    for started in stores:
        await started.close()
    assert kept(neo4j_url, neo4j_driver) == maintained


async def test_a_server_waits_for_a_live_build_and_takes_over_a_dead_one(
    neo4j_url: str, neo4j_driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(neo4j_url, create=True)
    await store.start()
    units = [org(f"Unit {i}") for i in range(4)]
    await store.load_batch(Batch(units, [edge(RelType.PART_OF, u, units[0]) for u in units[1:]]))
    await store.close()
    maintained = kept(neo4j_url, neo4j_driver)
    neo4j_driver.execute_query("MATCH (h:Reach) DETACH DELETE h")
    neo4j_driver.execute_query(
        "MATCH (m:Meta {key: 'closure'}) DELETE m "
        "MERGE (b:Meta {key: 'closure_build'}) SET b.owner = 'another', b.beat = timestamp()"
    )
    monkeypatch.setattr(closure_build, "WAIT_SECONDS", 0.05)
    monkeypatch.setattr(closure_build, "STALE_MS", 1_500)
    waiting = open_store(neo4j_url, create=True)
    starting = asyncio.create_task(waiting.start())
    await asyncio.sleep(0.5)  # the other server's build is alive: this one waits
    assert not starting.done() and kept(neo4j_url, neo4j_driver) == []
    await asyncio.wait_for(starting, 30)  # silent past STALE_MS: taken over, built
    await waiting.close()
    assert kept(neo4j_url, neo4j_driver) == maintained
    records, _, _ = neo4j_driver.execute_query("MATCH (b:Meta {key: 'closure_build'}) RETURN b")
    assert not records
