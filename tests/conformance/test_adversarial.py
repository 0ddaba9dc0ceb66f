"""Hierarchies that are legal and hostile: every walk must visit each party once.

Layered diamonds (each unit PART_OF every unit of the layer above) have 3^25
(about 8.5 * 10^11) paths from top to bottom; a complete bipartite layer has 1,600
edges between 80 parties; a chain runs 150 deep (more than twice the depth ceiling, so
a cycle check that stopped at the ceiling would let one through, and a walk from its
middle reaches the ceiling both ways) and a fan 30,000 wide. A walk that enumerates
paths never finishes on the first: at a hundred million paths a second it would take
over two hours, far past the module's time limit; one that is linear in the edges
answers in milliseconds. Twenty-five layers prove that as well as sixty did, and the
closure rows a diamond's edges write grow with the square of its layers. The fan stays
wide: the deadline tests need a walk that takes longer than their bounds on a fast
machine. The shapes live in one graph per backend, built once for the module; the
tests here only read it, or write what they then undo nothing of (refused links write
nothing).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from builders import NOW, T0, activity, edge, org, person, user

from contactgraph.graph import deadlines
from contactgraph.graph.backends import open_store
from contactgraph.graph.cursors import encode_cursor
from contactgraph.graph.errors import Conflict, Timeout
from contactgraph.graph.lookups import contact_person
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    Batch,
    Page,
    Party,
    Relationship,
    RelType,
    Rollup,
    TimelineQuery,
)
from contactgraph.graph.store import GraphStore

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(240)]

DEPTH = 64  # the server's default depth ceiling
LAYERS, WIDTH = 25, 3
SIDE = 40  # each side of the bipartite layer
FAN = 30_000
CHAIN = 150


class Shapes:
    """Four disjoint components in one graph, with an activity at each place a roll-up
    must (or must not) reach."""

    def __init__(self) -> None:
        self.author = user("auditor")
        # diamonds: top ← layer 1 ← ... ← layer 60 ← sink ⇒ clerk; top ⇒ boss
        self.top = org("Diamond top")
        self.layers = [[org(f"D{i:02d}-{j}") for j in range(WIDTH)] for i in range(LAYERS)]
        self.sink = org("Diamond sink")
        self.clerk = person("Clara", "Clerk")
        self.boss = person("Bert", "Boss")
        # bipartite: root ← 40 tops ← (every one of) 40 bottoms ← base
        self.root = org("Bipartite root")
        self.uppers = [org(f"U{i:03d}") for i in range(SIDE)]
        self.lowers = [org(f"L{i:03d}") for i in range(SIDE)]
        self.base = org("Bipartite base")
        # chain: links[0] ← links[1] ← ... ← links[149]
        self.links = [org(f"C{i:05d}") for i in range(CHAIN)]
        # fan: hub ⇒ 30,000 staff
        self.hub = org("Fan hub")
        self.staff = [person("Staff", f"{i:06d}") for i in range(FAN)]

        rels: list[Relationship] = []
        above = [self.top]
        for layer in self.layers:
            rels += [edge(RelType.PART_OF, unit, parent) for unit in layer for parent in above]
            above = layer
        rels += [edge(RelType.PART_OF, self.sink, parent) for parent in above]
        rels.append(edge(RelType.EMPLOYS, self.sink, self.clerk))
        rels.append(edge(RelType.EMPLOYS, self.top, self.boss, role="Managing Director"))
        rels += [edge(RelType.PART_OF, upper, self.root) for upper in self.uppers]
        rels += [edge(RelType.PART_OF, lo, up) for lo in self.lowers for up in self.uppers]
        rels += [edge(RelType.PART_OF, self.base, lower) for lower in self.lowers]
        rels += [edge(RelType.PART_OF, b, a) for a, b in itertools.pairwise(self.links)]
        rels += [edge(RelType.EMPLOYS, self.hub, member) for member in self.staff]
        self.rels = rels

        day = timedelta(days=1)
        self.acts = {
            "clerk": activity(self.author, [self.clerk], T0 + 9 * day),
            "sink": activity(self.author, [self.sink], T0 + 8 * day),
            "base": activity(self.author, [self.base], T0 + 7 * day),
            "at ceiling": activity(self.author, [self.links[DEPTH]], T0 + 6 * day),
            "past ceiling": activity(self.author, [self.links[DEPTH + 1]], T0 + 5 * day),
            "first staff": activity(self.author, [self.staff[0]], T0 + 4 * day),
            "last staff": activity(self.author, [self.staff[-1]], T0 + 3 * day),
        }
        self.summary = {act.id: name for name, act in self.acts.items()}

    @property
    def parties(self) -> list[Party]:
        return [
            self.author,
            self.top,
            *(unit for layer in self.layers for unit in layer),
            self.sink,
            self.clerk,
            self.boss,
            self.root,
            *self.uppers,
            *self.lowers,
            self.base,
            *self.links,
            self.hub,
            *self.staff,
        ]

    def batches(self, size: int) -> Iterator[Batch]:
        """Parties first, then edges in creation order, then activities."""
        parties, rels = self.parties, self.rels
        for i in range(0, len(parties), size):
            yield Batch(parties[i : i + size])
        for i in range(0, len(rels), size):
            yield Batch(relationships=rels[i : i + size])
        yield Batch(activities=list(self.acts.values()))


@pytest.fixture(scope="module")
def shapes() -> Shapes:
    return Shapes()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def graph(module_graph_url: str, shapes: Shapes) -> AsyncIterator[GraphStore]:
    opened = open_store(module_graph_url, create=True)
    await opened.start()
    for batch in shapes.batches(opened.seed_batch_size):
        await opened.load_batch(batch)
    yield opened
    await opened.close()


def _order(rows: list[tuple[int, str]]) -> bool:
    return rows == sorted(rows)


async def test_descendants_of_diamonds_each_once_at_its_layer(
    graph: GraphStore, shapes: Shapes
) -> None:
    page = (
        await graph.descendants(
            [shapes.top.id], DEFAULT_HIERARCHY_TYPES, DEPTH, NOW, Page(500), True, tell_beyond=True
        )
    )[shapes.top.id]
    assert page.total_count == LAYERS * WIDTH + 3 and not page.has_next and not page.beyond
    depth = {row.party.id: row.depth for row in page.rows}
    assert len(depth) == len(page.rows)
    for i, layer in enumerate(shapes.layers):
        assert {depth[unit.id] for unit in layer} == {i + 1}
    assert depth[shapes.sink.id] == LAYERS + 1
    assert depth[shapes.clerk.id] == LAYERS + 2 and depth[shapes.boss.id] == 1
    parents = {row.party.id: row.parent_id for row in page.rows}
    for above, layer in itertools.pairwise(shapes.layers):
        assert {parents[unit.id] for unit in layer} == {min(u.id for u in above)}
    assert _order([(row.depth, row.party.id) for row in page.rows])

    seen: list[str] = []
    cursor = None
    while True:
        part = (
            await graph.descendants(
                [shapes.top.id], DEFAULT_HIERARCHY_TYPES, DEPTH, NOW, Page(40, cursor), count=False
            )
        )[shapes.top.id]
        seen += [row.party.id for row in part.rows]
        if not part.has_next:
            break
        cursor = encode_cursor(str(part.rows[-1].depth), part.rows[-1].party.id)
    assert seen == [row.party.id for row in page.rows]


async def test_descendants_of_bipartite_chain_and_fan(graph: GraphStore, shapes: Shapes) -> None:
    types = DEFAULT_HIERARCHY_TYPES
    bipartite = (
        await graph.descendants([shapes.root.id], types, DEPTH, NOW, Page(500), count=True)
    )[shapes.root.id]
    assert bipartite.total_count == 2 * SIDE + 1
    assert [row.depth for row in bipartite.rows] == [1] * SIDE + [2] * SIDE + [3]
    assert {row.parent_id for row in bipartite.rows if row.depth == 2} == {shapes.uppers[0].id}

    chain = (
        await graph.descendants(
            [shapes.links[0].id], types, DEPTH, NOW, Page(500), True, tell_beyond=True
        )
    )[shapes.links[0].id]
    assert chain.total_count == DEPTH and chain.beyond
    assert [row.party.id for row in chain.rows] == [p.id for p in shapes.links[1 : DEPTH + 1]]
    # exactly as deep as the bound: nothing lies past it
    exact = shapes.links[CHAIN - 1 - DEPTH].id
    full = (await graph.descendants([exact], types, DEPTH, NOW, Page(500), True, tell_beyond=True))[
        exact
    ]
    assert full.total_count == DEPTH and not full.beyond
    # a page that fills first does not look past the bound; the last page does
    first = (
        await graph.descendants(
            [shapes.links[0].id], types, DEPTH, NOW, Page(10), False, tell_beyond=True
        )
    )[shapes.links[0].id]
    assert first.has_next and not first.beyond
    cursor = encode_cursor(str(DEPTH - 1), shapes.links[DEPTH - 1].id)
    last = (
        await graph.descendants(
            [shapes.links[0].id], types, DEPTH, NOW, Page(10, cursor), False, tell_beyond=True
        )
    )[shapes.links[0].id]
    assert [row.depth for row in last.rows] == [DEPTH] and last.beyond

    fan = (
        await graph.descendants(
            [shapes.hub.id], types, DEPTH, NOW, Page(50), True, tell_beyond=True
        )
    )[shapes.hub.id]
    assert fan.total_count == FAN and fan.has_next and not fan.beyond
    assert [row.party.id for row in fan.rows] == [p.id for p in shapes.staff[:50]]
    cursor = encode_cursor("1", shapes.staff[-2].id)
    last = (await graph.descendants([shapes.hub.id], types, DEPTH, NOW, Page(50, cursor), False))[
        shapes.hub.id
    ]
    assert [row.party.id for row in last.rows] == [shapes.staff[-1].id] and not last.has_next


async def test_ancestors_on_adversarial_shapes(graph: GraphStore, shapes: Shapes) -> None:
    starts = [shapes.clerk.id, shapes.base.id, shapes.links[-1].id, shapes.staff[7].id]
    ancestry = await graph.ancestors(starts, DEFAULT_HIERARCHY_TYPES, DEPTH, NOW, tell_beyond=True)
    found = {start: ancestry[start].rows for start in starts}
    assert [ancestry[start].beyond for start in starts] == [False, False, True, False]
    exact = await graph.ancestors(
        [shapes.links[DEPTH].id], DEFAULT_HIERARCHY_TYPES, DEPTH, NOW, tell_beyond=True
    )
    assert len(exact[shapes.links[DEPTH].id].rows) == DEPTH
    assert not exact[shapes.links[DEPTH].id].beyond
    clerk = found[shapes.clerk.id]
    assert len(clerk) == LAYERS * WIDTH + 2
    assert len({row.party.id for row in clerk}) == len(clerk)
    assert clerk[0].party.id == shapes.sink.id and clerk[-1].party.id == shapes.top.id
    assert clerk[-1].depth == LAYERS + 2
    assert _order([(row.depth, row.party.id) for row in clerk])
    base = found[shapes.base.id]
    assert [row.depth for row in base] == [1] * SIDE + [2] * SIDE + [3]
    chain = found[shapes.links[-1].id]
    assert [row.party.id for row in chain] == [p.id for p in shapes.links[-2 : -DEPTH - 2 : -1]]
    assert [row.party.id for row in found[shapes.staff[7].id]] == [shapes.hub.id]


async def test_neighborhood_and_path_on_adversarial_shapes(
    graph: GraphStore, shapes: Shapes
) -> None:
    every = list(RelType)
    diamonds = (await graph.neighborhood([shapes.top.id], every, DEPTH, 1000, NOW))[shapes.top.id]
    assert len(diamonds.parties) == LAYERS * WIDTH + 4 and not diamonds.truncated
    assert len(diamonds.relationships) == WIDTH + (LAYERS - 1) * WIDTH * WIDTH + WIDTH + 2
    middle = shapes.links[CHAIN // 2]
    chain = (await graph.neighborhood([middle.id], every, DEPTH, 1000, NOW))[middle.id]
    assert len(chain.parties) == 2 * DEPTH + 1
    fan = (await graph.neighborhood([shapes.hub.id], every, 1, 1000, NOW))[shapes.hub.id]
    assert fan.truncated and len(fan.parties) == 1000
    assert [p.id for p in fan.parties[1:4]] == [p.id for p in shapes.staff[:3]]

    down = await graph.shortest_path(shapes.top.id, shapes.clerk.id, every, DEPTH, NOW)
    assert down is not None and len(down.relationships) == LAYERS + 2
    across = await graph.shortest_path(shapes.root.id, shapes.base.id, every, DEPTH, NOW)
    assert across is not None and len(across.relationships) == 3
    reach = shapes.links
    at_ceiling = await graph.shortest_path(reach[0].id, reach[DEPTH].id, every, DEPTH, NOW)
    assert at_ceiling is not None and len(at_ceiling.parties) == DEPTH + 1
    assert await graph.shortest_path(reach[0].id, reach[DEPTH + 1].id, every, DEPTH, NOW) is None
    staff = shapes.staff
    sideways = await graph.shortest_path(staff[0].id, staff[-1].id, every, DEPTH, NOW)
    assert sideways is not None and [p.id for p in sideways.parties] == [
        staff[0].id,
        shapes.hub.id,
        staff[-1].id,
    ]


async def test_contact_person_walks_up_through_diamonds(graph: GraphStore, shapes: Shapes) -> None:
    match = await contact_person(graph, shapes.sink.id, "managing director", NOW, DEPTH)
    assert match is not None
    assert (match.person.id, match.organization.id) == (shapes.boss.id, shapes.top.id)
    assert match.distance == LAYERS + 1


def _rollup(types: tuple[RelType, ...] = DEFAULT_HIERARCHY_TYPES) -> TimelineQuery:
    return TimelineQuery(Page(50), rollup=Rollup(types, NOW, DEPTH, tell_beyond=True))


async def test_rollups_on_adversarial_shapes(graph: GraphStore, shapes: Shapes, plan: str) -> None:
    roots = [shapes.top.id, shapes.root.id, shapes.links[0].id, shapes.hub.id]
    pages = await graph.timelines(roots, _rollup())

    def names(root: Party) -> list[str]:
        return [shapes.summary[e.activity.id] for e in pages[root.id].entries]

    assert names(shapes.top) == ["clerk", "sink"]
    assert names(shapes.root) == ["base"]
    # the roll-up stops at the depth ceiling, where descendants stop, and says so
    assert names(shapes.links[0]) == ["at ceiling"]
    assert [pages[root].beyond for root in roots] == [False, False, True, False]
    shallow = await graph.timelines(
        roots[:1],
        TimelineQuery(Page(50), rollup=Rollup(DEFAULT_HIERARCHY_TYPES, NOW, 3, tell_beyond=True)),
    )
    assert shallow[shapes.top.id].entries == [] and shallow[shapes.top.id].beyond
    assert names(shapes.hub) == ["first staff", "last staff"]
    units = await graph.timelines(roots[:3], _rollup((RelType.PART_OF,)))
    assert [shapes.summary[e.activity.id] for e in units[shapes.top.id].entries] == ["sink"]
    assert [e.source_id for e in units[shapes.top.id].entries] == [shapes.sink.id]
    assert [shapes.summary[e.activity.id] for e in units[shapes.root.id].entries] == ["base"]


async def test_links_that_close_cycles_are_refused_quickly(
    graph: GraphStore, shapes: Shapes
) -> None:
    for rel in (
        edge(RelType.PART_OF, shapes.top, shapes.sink),
        edge(RelType.PART_OF, shapes.uppers[5], shapes.base),
        edge(RelType.PART_OF, shapes.links[0], shapes.links[-1]),
        edge(RelType.MEMBER_OF, shapes.layers[0][0], shapes.layers[-1][-1]),
    ):
        with pytest.raises(Conflict):
            await graph.link(rel)
    with pytest.raises(Conflict):
        await graph.load_batch(
            Batch(relationships=[edge(RelType.PART_OF, shapes.root, shapes.lowers[0])])
        )


async def test_work_past_its_deadline_stops_and_frees_the_store(
    graph: GraphStore, shapes: Shapes
) -> None:
    """Walking the fan's 30,000 rows to count them takes far longer than these bounds
    allow (of EMPLOYS alone: the default hierarchy's count is one index range)."""

    def count_the_fan() -> Any:
        types = (RelType.EMPLOYS,)
        return graph.descendants([shapes.hub.id], types, DEPTH, NOW, Page(50), count=True)

    started = time.monotonic()
    with pytest.raises(Timeout), deadlines.limit(0.05):
        await count_the_fan()
    assert time.monotonic() - started < 2

    # walks whose requests went away stop too: they do not hold up what comes next
    abandoned = [asyncio.create_task(count_the_fan()) for _ in range(8)]
    await asyncio.sleep(0.05)
    for task in abandoned:
        task.cancel()
    started = time.monotonic()
    assert await graph.get_parties([shapes.hub.id])
    assert time.monotonic() - started < 1
    assert all(task.cancelled() for task in abandoned)


async def test_lookups_are_not_held_up_by_walks(graph: GraphStore, shapes: Shapes) -> None:
    """However many long walks run, a read by id does not queue behind them."""
    types = DEFAULT_HIERARCHY_TYPES
    walks = [
        asyncio.create_task(
            graph.descendants([shapes.hub.id], types, DEPTH, NOW, Page(50), count=True)
        )
        for _ in range(8)
    ]
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await graph.get_parties([shapes.hub.id])
    waited = time.monotonic() - started
    answers = await asyncio.gather(*walks)
    assert all(pages[shapes.hub.id].total_count == FAN for pages in answers)
    assert waited < 0.5
