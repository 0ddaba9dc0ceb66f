"""Walk cost on hostile hierarchy shapes as they grow: does time follow the edges?

    .venv/bin/python bench/adversarial.py [--graph URL] [--runs 5]

Four shapes at four sizes, each size doubling the edges: layered diamonds 3
wide (each unit PART_OF all 3 units above: 3^layers paths), a complete
bipartite layer (k x k edges) under one root and over one base, a chain and a
fan. All sixteen go into one graph (they share no party), built through
load_batch, and each walk is timed at the store port from the shape's top or
bottom with no depth bound, so it covers the whole shape: descendants with
totalCount, ancestors of the bottom, the network around the top, a shortest
path top to bottom, the first roll-up page over the default types and over
PART_OF alone, and a link that would close a cycle (refused). Prints one
Markdown table per walk: edges, median ms, and microseconds per edge, which
stays flat when the cost is linear.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from registry import arguments, timed

from contactgraph.graph.backends import open_store
from contactgraph.graph.errors import Conflict
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import (
    DEFAULT_HIERARCHY_TYPES,
    Activity,
    ActivityType,
    Batch,
    LegalForm,
    Page,
    Party,
    PartyKind,
    Relationship,
    RelType,
    Rollup,
    TimelineQuery,
)
from contactgraph.graph.records import new_party
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow

UNBOUNDED = 1_000_000  # deeper than any shape here: every walk covers its whole shape
SIZES = {
    "diamonds (layers x 3)": (16, 32, 64, 128),
    "bipartite (k x k)": (25, 50, 100, 200),
    "chain": (2_000, 4_000, 8_000, 16_000),
    "fan": (12_500, 25_000, 50_000, 100_000),
}


def unit(name: str) -> Party:
    return new_party(PartyKind.ORGANIZATION, name=name, legal_form=LegalForm.LEGAL_PERSON)


def part_of(child: Party, parent: Party) -> Relationship:
    return Relationship(new_id(), RelType.PART_OF, child.id, parent.id, utcnow())


@dataclass
class Shape:
    name: str
    size: int
    top: Party
    bottom: Party
    parties: list[Party] = field(default_factory=list)
    rels: list[Relationship] = field(default_factory=list)


def build(name: str, size: int) -> Shape:
    top, bottom = unit(f"{name} {size} top"), unit(f"{name} {size} bottom")
    shape = Shape(name, size, top, bottom, [top, bottom])
    if name.startswith("diamonds"):
        above = [top]
        for layer in range(size):
            units = [unit(f"d{layer}.{i}") for i in range(3)]
            shape.rels += [part_of(u, a) for u in units for a in above]
            shape.parties += units
            above = units
        shape.rels += [part_of(bottom, a) for a in above]
    elif name.startswith("bipartite"):
        uppers = [unit(f"u{i}") for i in range(size)]
        lowers = [unit(f"l{i}") for i in range(size)]
        shape.parties += uppers + lowers
        shape.rels += [part_of(u, top) for u in uppers]
        shape.rels += [part_of(lo, up) for lo in lowers for up in uppers]
        shape.rels += [part_of(bottom, lo) for lo in lowers]
    elif name == "chain":
        links = [top, *(unit(f"c{i}") for i in range(size - 2)), bottom]
        shape.parties += links[1:-1]
        shape.rels += [part_of(b, a) for a, b in itertools.pairwise(links)]
    else:  # fan: the bottom is one of the leaves
        leaves = [unit(f"f{i}") for i in range(size - 1)]
        shape.parties += leaves
        shape.rels += [part_of(leaf, top) for leaf in [*leaves, bottom]]
    return shape


async def load(store: GraphStore, shapes: list[Shape], author: Party) -> None:
    size = store.seed_batch_size
    parties = [author, *(p for s in shapes for p in s.parties)]
    for i in range(0, len(parties), size):
        await store.load_batch(Batch(parties[i : i + size]))
    for shape in shapes:
        for i in range(0, len(shape.rels), size):
            await store.load_batch(Batch(relationships=shape.rels[i : i + size]))
    activities = [
        Activity(new_id(), ActivityType.CALL, utcnow(), "bottom", author.id, (s.bottom.id,))
        for s in shapes
    ]
    await store.load_batch(Batch(activities=activities))


def walks(store: GraphStore, shape: Shape) -> dict[str, Callable[[], Awaitable[object]]]:
    now = utcnow()
    types = DEFAULT_HIERARCHY_TYPES
    top, bottom = shape.top.id, shape.bottom.id

    def rollup(rel_types: tuple[RelType, ...]) -> Awaitable[object]:
        query = TimelineQuery(Page(50), rollup=Rollup(rel_types, now, UNBOUNDED))
        return store.timelines([top], query)

    async def refused_cycle() -> None:
        try:
            await store.link(part_of(shape.top, shape.bottom))
        except Conflict:
            return
        raise AssertionError("a cycle-closing link was accepted")

    return {
        "descendants + totalCount": lambda: store.descendants(
            [top], types, UNBOUNDED, now, Page(50), count=True
        ),
        "ancestors of the bottom": lambda: store.ancestors([bottom], types, UNBOUNDED, now),
        "network around the top": lambda: store.neighborhood(
            [top], list(RelType), UNBOUNDED, UNBOUNDED, now
        ),
        "path top to bottom": lambda: store.shortest_path(
            top, bottom, list(RelType), UNBOUNDED, now
        ),
        "roll-up first page": lambda: rollup(types),
        "roll-up over PART_OF": lambda: rollup((RelType.PART_OF,)),
        "cycle-closing link refused": refused_cycle,
    }


async def main() -> None:
    args = arguments(__doc__, 0, 5)  # an empty graph: the shapes are the data
    store = open_store(args.graph, create=True)
    await store.start()
    try:
        shapes = [build(name, size) for name, sizes in SIZES.items() for size in sizes]
        author = new_party(
            PartyKind.USER, "bench", username="bench", legal_form=LegalForm.NATURAL_PERSON
        )
        started = time.perf_counter()
        await load(store, shapes, author)
        parties = sum(len(s.parties) for s in shapes)
        edges = sum(len(s.rels) for s in shapes)
        took = time.perf_counter() - started
        print(f"loaded {parties:,} parties and {edges:,} edges in {took:.1f} s\n")
        results: dict[str, list[tuple[Shape, float]]] = {}
        for shape in shapes:
            for name, call in walks(store, shape).items():
                median, _ = await timed(args.runs, call)
                results.setdefault(name, []).append((shape, median))
        for name, rows in results.items():
            print(f"| {name} | edges | median ms | µs per edge |")
            print("|---|---:|---:|---:|")
            for shape, median in rows:
                per_edge = median * 1000 / len(shape.rels)
                label = f"{shape.name} {shape.size:,}"
                print(f"| {label} | {len(shape.rels):,} | {median:.1f} | {per_edge:.2f} |")
            print()
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
