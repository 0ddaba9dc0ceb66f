"""Who is below whom as edges come and go: roll-ups against a reference walk.

The roll-up's reach is what the stores keep or walk for it (a closure on the
embedded store); here it is compared with a plain breadth-first walk over the
edges valid at each moment, on random DAGs and on deep layered diamonds,
whose path counts pass 2^63.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from builders import NOW, T0, activity, edge, org, person, user

from contactgraph.graph.errors import Conflict
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    REL_RULES,
    Batch,
    Direction,
    Page,
    ParentEnd,
    Party,
    Relationship,
    RelType,
    Rollup,
    TimelineQuery,
)
from contactgraph.graph.store import GraphStore

DAY = timedelta(days=1)


def below(root: str, rels: list[Relationship], at: datetime, max_depth: int) -> set[str]:
    """The reference: breadth first over the default hierarchy's edges valid at `at`."""
    children: dict[str, list[str]] = {}
    for rel in rels:
        if rel.type not in DEFAULT_HIERARCHY_TYPES or rel.since > at:
            continue
        if rel.until is not None and rel.until <= at:
            continue
        parent_is_from = REL_RULES[rel.type].parent_end is ParentEnd.FROM
        parent, child = (rel.from_id, rel.to_id) if parent_is_from else (rel.to_id, rel.from_id)
        children.setdefault(parent, []).append(child)
    seen, frontier = {root}, [root]
    for _ in range(max_depth):
        frontier = [c for p in frontier for c in children.get(p, ()) if c not in seen]
        seen.update(frontier)
    return seen


async def reached(
    store: GraphStore, roots: list[Party], at: datetime, max_depth: int, subject: dict[str, str]
) -> dict[str, set[str]]:
    """Each root's roll-up as the set of parties whose activity it holds."""
    query = TimelineQuery(Page(500), rollup=Rollup(DEFAULT_HIERARCHY_TYPES, at, max_depth))
    pages = await store.timelines([r.id for r in roots], query)
    found = {}
    for root in roots:
        page = pages[root.id]
        assert not page.has_next
        found[root.id] = {subject[entry.activity.id] for entry in page.entries}
    return found


@pytest.mark.parametrize("seed", range(6))
async def test_random_dags_as_edges_come_and_go(store: GraphStore, plan: str, seed: int) -> None:
    rng = random.Random(seed)
    author = user("author")
    units = [org(f"Unit {i}") for i in range(12)]
    people = [person("P", str(i)) for i in range(5)]
    await store.load_batch(Batch([author, *units, *people]))
    rels: dict[str, Relationship] = {}
    for _ in range(40):
        open_edges = [r for r in rels.values() if r.until is None]
        if open_edges and rng.random() < 0.3:
            ended = rng.choice(open_edges)
            until = ended.since + rng.randint(1, 12) * DAY
            rels[ended.id] = await store.unlink(ended.id, until)
            continue
        kind, since = rng.random(), T0 + rng.randint(0, 15) * DAY
        if kind < 0.6:  # units only point to units made before them: acyclic
            child, parent = rng.sample(range(len(units)), 2)
            child, parent = max(child, parent), min(child, parent)
            rel_type = rng.choice([RelType.PART_OF, RelType.MEMBER_OF])
            rel = edge(rel_type, units[child], units[parent], since=since)
        elif kind < 0.85:
            rel = edge(
                RelType.EMPLOYS,
                rng.choice(units),
                rng.choice(people),
                since=T0 + rng.randint(0, 15) * DAY,
            )
        else:
            rel = edge(
                RelType.MEMBER_OF,
                rng.choice(people),
                rng.choice(units),
                since=T0 + rng.randint(0, 15) * DAY,
            )
        if any(
            (r.type, r.from_id, r.to_id) == (rel.type, rel.from_id, rel.to_id) and r.until is None
            for r in rels.values()
        ):
            continue
        rels[rel.id] = await store.link(rel)
    acts = [activity(author, [p], T0 - i * DAY) for i, p in enumerate([*units, *people])]
    await store.load_batch(Batch(activities=acts))
    subject = {a.id: a.subject_ids[0] for a in acts}

    for day in range(0, 30, 2):
        at = T0 + day * DAY + timedelta(hours=1)
        for max_depth in (64, 2):
            found = await reached(store, units, at, max_depth, subject)
            for unit in units:
                expected = below(unit.id, list(rels.values()), at, max_depth)
                assert found[unit.id] == expected, (day, max_depth, unit.display_name)


async def test_a_unit_leaves_deep_diamonds(store: GraphStore) -> None:
    """41 layers of 3, each unit PART_OF all 3 above: 3^41 paths, past 2^63."""
    author = user("author")
    top = org("Top")
    layers = [[org(f"L{i}-{j}") for j in range(3)] for i in range(41)]
    leaver = org("Leaver")
    stayer = layers[20][1]
    rels: list[Relationship] = []
    above = [top]
    for layer in layers:
        rels += [edge(RelType.PART_OF, unit, parent) for unit in layer for parent in above]
        above = layer
    out = [edge(RelType.PART_OF, leaver, parent) for parent in above]
    rels += out
    left, stayed = activity(author, [leaver], T0 + DAY), activity(author, [stayer], T0 + 2 * DAY)
    everyone = [author, top, *(u for layer in layers for u in layer), leaver]
    await store.load_batch(Batch(everyone, rels, [left, stayed]))
    subject = {left.id: leaver.id, stayed.id: stayer.id}

    ends = [NOW - 30 * DAY, NOW - 20 * DAY, NOW - 10 * DAY]
    for rel, until in zip(out, ends, strict=True):
        await store.unlink(rel.id, until)
    # the middle layer loses one of its three parents: still below through the others
    for rel in rels:
        if rel.from_id == stayer.id and rel.to_id == layers[19][0].id:
            await store.unlink(rel.id, NOW - 5 * DAY)

    roots = [top, layers[0][2], layers[40][0]]
    for at, leaver_in in ((NOW - 15 * DAY, True), (NOW - 5 * DAY, False), (NOW, False)):
        found = await reached(store, roots, at, 64, subject)
        assert (leaver.id in found[top.id]) is leaver_in
        assert (leaver.id in found[layers[40][0].id]) is (at < ends[0])
        assert stayer.id in found[top.id] and stayer.id in found[layers[0][2].id]


async def test_a_cycle_across_time_is_walked_once_at_every_moment(store: GraphStore) -> None:
    """a ← b until day 5; b ← c; from day 10 c ← a: legal, since no moment holds all
    three, yet every walk's region over all time is a loop."""
    author = user("author")
    a, b, c = org("A"), org("B"), org("C")
    rels = [
        edge(RelType.PART_OF, b, a, since=T0, until=T0 + 5 * DAY),
        edge(RelType.PART_OF, c, b, since=T0),
    ]
    acts = [activity(author, [p], T0 - DAY) for p in (a, b, c)]
    await store.load_batch(Batch([author, a, b, c], rels))
    rels.append(await store.link(edge(RelType.PART_OF, a, c, since=T0 + 10 * DAY)))
    await store.load_batch(Batch(activities=acts))
    subject = {act.id: act.subject_ids[0] for act in acts}
    for day in (1, 7, 12):
        at = T0 + day * DAY
        found = await reached(store, [a, b, c], at, 64, subject)
        for party in (a, b, c):
            assert found[party.id] == below(party.id, rels, at, 64), (day, party.display_name)
        up = await store.ancestors([a.id, b.id, c.id], DEFAULT_HIERARCHY_TYPES, 64, at)
        for party in (a, b, c):
            names = [row.party.id for row in up[party.id].rows]
            assert len(names) == len(set(names)) and party.id not in names


async def test_a_batch_closing_a_cycle_writes_nothing(store: GraphStore) -> None:
    a, b, c = org("A"), org("B"), org("C")
    await store.load_batch(Batch([a, b]))
    cycle = [
        edge(RelType.PART_OF, a, b),
        edge(RelType.PART_OF, b, c),
        edge(RelType.MEMBER_OF, c, a),
    ]
    with pytest.raises(Conflict):
        await store.load_batch(Batch([c], cycle))
    assert not await store.get_parties([c.id])
    assert not (await store.relationships([a.id], list(RelType), Direction.BOTH, None)).get(a.id)


async def test_a_large_batch_closing_a_cycle_among_its_own_parties_writes_nothing(
    store: GraphStore,
) -> None:
    """A batch naming more than 100 stored parties locks none of its sources, and one whose
    hierarchy edges all leave parties it creates searches no stored path: its own edges
    are still checked against each other."""
    fillers = [org(f"F{i:03d}") for i in range(101)]
    await store.load_batch(Batch(fillers))
    p, q, r = org("P"), org("Q"), org("R")
    knows = [edge(RelType.KNOWS, p, f) for f in fillers]
    cycle = [edge(RelType.PART_OF, p, q), edge(RelType.PART_OF, q, r), edge(RelType.PART_OF, r, p)]
    with pytest.raises(Conflict):
        await store.load_batch(Batch([p, q, r], [*cycle[:1], *knows, *cycle[1:]]))
    assert not await store.get_parties([p.id, q.id, r.id])
    await store.load_batch(
        Batch([p, q, r], [*cycle[:2], edge(RelType.PART_OF, r, fillers[0]), *knows])
    )
    up = await store.ancestors([p.id], DEFAULT_HIERARCHY_TYPES, 64, NOW)
    assert [row.party.id for row in up[p.id].rows] == [q.id, r.id, fillers[0].id]


async def test_a_link_racing_a_large_batch_closes_no_cycle(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link from a party nothing enters skips its cycle search; a batch of more than
    100 references locks only the stored parties its hierarchy edges enter. Held open at
    its write, the link must still make the batch that closes A > B > X > N > A wait and
    see it."""
    from contactgraph.graph.neo4j import cypher

    a, b, x = org("A"), org("B"), org("X")
    fillers = [org(f"F{i:03d}") for i in range(101)]
    await store.load_batch(Batch([a, b, x, *fillers], [edge(RelType.PART_OF, b, x)]))
    closing = edge(RelType.PART_OF, a, b)
    n = org("N")
    batch = Batch(
        [n],
        [
            edge(RelType.PART_OF, n, a),
            edge(RelType.PART_OF, x, n),
            *(edge(RelType.KNOWS, n, f) for f in fillers),
        ],
    )
    paused, go = asyncio.Event(), asyncio.Event()
    real_write = cypher.write

    async def write(tx: Any, *writes: Any) -> Any:
        if any(row.get("props", {}).get("id") == closing.id for w in writes for row in w.rows):
            paused.set()
            await go.wait()
        return await real_write(tx, *writes)

    monkeypatch.setattr(cypher, "write", write)
    linking = asyncio.create_task(store.link(closing))
    if store.__class__.__name__.startswith("Neo4j"):
        await asyncio.wait_for(paused.wait(), 10)
    loading = asyncio.create_task(store.load_batch(batch))
    await asyncio.sleep(0.5)
    go.set()
    done = await asyncio.gather(linking, loading, return_exceptions=True)
    assert sum(isinstance(r, Conflict) for r in done) == 1, done
    assert not any(isinstance(r, Exception) and not isinstance(r, Conflict) for r in done)
