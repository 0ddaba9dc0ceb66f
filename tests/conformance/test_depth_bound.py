"""Whether parties lie past a walk's depth bound, as every store tells it (`beyond`), on
shapes where a wrong answer is easy: a shortcut that brings a party within the bound by
one path while another runs deeper, an edge below the bound that has ended, and many
roots (deep, shallow, repeated, unknown) in one call. Over the default hierarchy (which
stores keep a closure of) and over PART_OF alone (walked).

    top ← A ← B ← C ← D ← E (until day 5)      C ← top (a shortcut)

From top: A and C at 1, B and D at 2, E at 3 while its edge lasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from builders import NOW, T0, activity, edge, org, user

from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    Batch,
    Page,
    Party,
    RelType,
    Rollup,
    TimelineQuery,
)
from contactgraph.graph.store import GraphStore

DAY = timedelta(days=1)
WHILE_E = T0 + DAY  # E is below D
TYPES = {"closure": DEFAULT_HIERARCHY_TYPES, "walked": (RelType.PART_OF,)}


@dataclass
class Shortcut:
    top: Party
    a: Party
    b: Party
    c: Party
    d: Party
    e: Party


async def _shortcut(store: GraphStore) -> Shortcut:
    top, a, b, c, d, e = (org(name) for name in ("Top", "A", "B", "C", "D", "E"))
    author = user("author")
    rels = [
        edge(RelType.PART_OF, a, top),
        edge(RelType.PART_OF, b, a),
        edge(RelType.PART_OF, c, b),
        edge(RelType.PART_OF, c, top),
        edge(RelType.PART_OF, d, c),
        edge(RelType.PART_OF, e, d, until=T0 + 5 * DAY),
    ]
    acts = [activity(author, [party], T0) for party in (top, a, b, c, d, e)]
    await store.load_batch(Batch([author, top, a, b, c, d, e], rels, acts))
    return Shortcut(top, a, b, c, d, e)


@pytest.mark.parametrize("walk", list(TYPES))
async def test_beyond_is_judged_at_each_partys_shortest_depth(store: GraphStore, walk: str) -> None:
    g = await _shortcut(store)
    types = TYPES[walk]

    async def below(depth: int, at: object = NOW) -> tuple[int | None, bool]:
        found = await store.descendants(
            [g.top.id], types, depth, at, Page(50), count=True, tell_beyond=True
        )
        return found[g.top.id].total_count, found[g.top.id].beyond

    async def rolled(depth: int, at: object = NOW) -> tuple[int, bool]:
        rollup = Rollup(types, at, depth, tell_beyond=True)  # type: ignore[arg-type]
        page = (await store.timelines([g.top.id], TimelineQuery(Page(50), rollup=rollup)))[g.top.id]
        return len(page.entries), page.beyond

    # B and D lie at 2; C is a child of B at 3 too, but at 1 by the shortcut
    assert await below(2) == (4, False)
    assert await rolled(2) == (5, False)
    assert await below(1) == (2, True)
    assert await rolled(1) == (3, True)
    # while E's edge lasted, E lay at 3: past a bound of 2
    assert await below(2, WHILE_E) == (4, True)
    assert await rolled(2, WHILE_E) == (5, True)
    assert await below(3, WHILE_E) == (5, False)

    up = await store.ancestors([g.d.id], types, 3, NOW, tell_beyond=True)
    assert {row.party.id: row.depth for row in up[g.d.id].rows} == {
        g.c.id: 1,
        g.b.id: 2,
        g.top.id: 2,
        g.a.id: 3,
    }
    assert not up[g.d.id].beyond
    assert (await store.ancestors([g.d.id], types, 2, NOW, tell_beyond=True))[g.d.id].beyond
    # not asked, not told
    quiet = await store.descendants([g.top.id], types, 1, NOW, Page(50), count=True)
    assert not quiet[g.top.id].beyond


async def test_many_roots_in_one_call_each_get_their_own(store: GraphStore) -> None:
    g = await _shortcut(store)
    roots = [g.top.id, g.d.id, g.top.id, "unknown", g.b.id]
    found = await store.descendants(
        roots, DEFAULT_HIERARCHY_TYPES, 2, WHILE_E, Page(2), count=True, tell_beyond=True
    )
    assert set(found) == set(roots)
    pages = {root: (p.total_count, p.has_next, p.beyond) for root, p in found.items()}
    assert pages == {
        g.top.id: (4, True, True),
        g.d.id: (1, False, False),
        "unknown": (0, False, False),
        g.b.id: (2, False, True),  # C and D; E at 3
    }
    assert [row.party.id for row in found[g.top.id].rows] == sorted([g.a.id, g.c.id])

    nets = await store.neighborhood([g.top.id, g.d.id, "unknown"], [RelType.PART_OF], 1, 100, NOW)
    assert {p.id for p in nets[g.top.id].parties} == {g.top.id, g.a.id, g.c.id}
    assert {p.id for p in nets[g.d.id].parties} == {g.d.id, g.c.id}
    assert nets["unknown"].parties == [] and nets["unknown"].relationships == []
    assert len(nets[g.top.id].relationships) == 2
