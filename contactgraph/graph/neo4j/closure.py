"""The closure of the default hierarchy on Neo4j (the derivation is graph/closure.py): a
:Reach node for each row, holding its ancestor's id, depth and window, with a REACHES
relationship to the descendant, so a roll-up's members are one index range (`ancestor`)
and "is this subject below the root" one expansion of the subject. A party's own row at
depth 0 is not stored. A row also holds its `rank`, the depth and the descendant's id as
one text, and an open window ends at OPEN rather than null: the index on (ancestor, rank,
since, until) then reads a subtree in the order descendants are paged in, and counts it
without reading a row. A row whose window overlaps another row of the same ancestor and
descendant (a party reached at two depths at once: a matrix unit) also holds its
ancestor as `shared`, so a count is of rows, less the few shared rows' surplus, instead
of distinct descendants over every row (ROWS_VERSION names that layout; a closure of an
older one is rebuilt at start, closure_build.py).

Writes keep it in the same transaction, serialised by locks on exactly the parties whose
rows they read or rewrite: the changed children's region and the doors into it. Any write
that could change what one reads (an edge into the region, below it, or the doors' own
rows) must lock a party of that set, so a write that holds them all and reads after taking
them reads what stays true until it commits. The region is only known by reading it, so a
write locks what it found and reads again until the set holds still (`survey`); a batch
whose changed children and everything below them are parties it creates itself has no
region anyone else can see, and needs only its doors, which `cypher.preparing` locks and
reads with the rest (`Plan`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import rules
from ..closure import (
    ALWAYS,
    CLOSURE_TYPES,
    DEPTH,
    OPEN,
    Edges,
    Held,
    Row,
    Window,
    below_in,
    changed_edges,
    derive,
    parent_child,
    rebuilds_whole,
    rows,
)
from ..model import Relationship
from ..times import format_instant, parse_instant
from .cypher import PREPARED, REACHES, Prepared, Preparing, Tx, Write, held, rank, type_expression
from .walks import Hierarchy

_TYPES = sorted(CLOSURE_TYPES, key=lambda t: t.value)
_REGION = Hierarchy(_TYPES, downward=True, at=None)  # over the edges of every time
_FORWARD, _BACKWARD = rules.walk_directions(_TYPES, downward=True)
# every closure edge, as (parent, child, e)
EVERY_EDGE = (
    f"MATCH (parent:Party)-[e:{type_expression(_FORWARD)}]->(child:Party) "
    "RETURN parent, child, e UNION ALL "
    f"MATCH (child:Party)-[e:{type_expression(_BACKWARD)}]->(parent:Party) "
    "RETURN parent, child, e"
)
# the edges entering party x from its parents, as (parent, e)
_INTO = (
    f"MATCH (parent:Party)-[e:{type_expression(_FORWARD)}]->(x) RETURN parent, e UNION ALL "
    f"MATCH (x)-[e:{type_expression(_BACKWARD)}]->(parent:Party) RETURN parent, e"
)


def text(value: str | None) -> str:
    """Neo4j's text of an instant as the derivation's (no end: OPEN)."""
    return OPEN if value is None else format_instant(parse_instant(value))


def held_rows(found: Iterable[Sequence[Any]], doors: Iterable[str]) -> Held:
    """Each door's rows (`cypher.held`'s) and the door itself at depth 0."""
    held: dict[str, list[tuple[str, int, Window]]] = defaultdict(list)
    for door in doors:
        held[door].append((door, 0, ALWAYS))
    for ancestor, door, depth, since, until in found:
        held[door].append((ancestor, depth, (text(since), text(until))))
    return held


EdgeRow = tuple[str, str, str, str | None]  # parent, child, since, until (None: open)


def _edge(rel: Relationship) -> EdgeRow:
    parent, child = parent_child(rel)
    until = None if rel.until is None else format_instant(rel.until)
    return parent, child, format_instant(rel.since), until


def parts(rels: Sequence[Relationship]) -> tuple[list[str], list[EdgeRow]]:
    """The children of the closure edges a batch changes, and its closure edges as rows."""
    children = [child for _, child in changed_edges(rels)]
    return children, [_edge(rel) for rel in rels if rel.type in CLOSURE_TYPES]


ROWS_VERSION = "3"


def overlapping(found: Sequence[Row]) -> set[int]:
    """The positions of the rows whose window overlaps another row's of the same ancestor
    and descendant. `found` holds every row of each pair it names, as every write of rows
    does (a region's rows from outside it, or all of a new party's)."""
    pairs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for at, (ancestor, descendant, _, _, _) in enumerate(found):
        pairs[ancestor, descendant].append(at)
    shared: set[int] = set()
    for positions in pairs.values():
        for i, first in enumerate(positions):
            for second in positions[i + 1 :]:
                if found[first][3] < found[second][4] and found[second][3] < found[first][4]:
                    shared.update((first, second))
    return shared


def new_reaches(found: Sequence[Row]) -> Write:
    shared = overlapping(found)
    return Write(
        "UNWIND $rows AS row MATCH (d:Party {id: row[1]}) "
        "CREATE (:Reach {ancestor: row[0], depth: row[2], rank: row[5], shared: row[6], "
        f"since: datetime(row[3]), until: datetime(row[4])}})-[:{REACHES}]->(d)",
        [
            [a, d, depth, since, until, rank(depth, d), a if at in shared else None]
            for at, (a, d, depth, since, until) in enumerate(found)
        ],
    )


@dataclass(frozen=True)
class Plan:
    """How a batch keeps the closure: when every changed child and all below it are its
    own new parties, from the doors' rows (`doors`, read by `cypher.preparing`); else, after
    its edges are written, by a survey (`doors` is None)."""

    region: set[str]
    edges: Edges
    doors: list[str] | None

    @classmethod
    def of(cls, rels: Sequence[Relationship], created: Iterable[str]) -> Plan:
        return cls.made(*parts(rels), created)

    @classmethod
    def made(cls, children: list[str], edge_rows: list[EdgeRow], created: Iterable[str]) -> Plan:
        """The plan of `parts`' children and edges (what a seed's generator sends)."""
        edges = Edges(edge_rows)
        region = below_in(children, edges)
        if not region <= set(created):
            return cls(region, edges, None)
        doors = {p for party in region for p, _ in edges.above.get(party, ()) if p not in region}
        return cls(region, edges, sorted(doors))

    def writes(self, held: Held) -> list[Write]:
        """The rows of the new region (none when a survey must find them)."""
        if not self.region or self.doors is None:
            return []
        found = derive(self.region, self.edges, held, whole=True)
        return [new_reaches(rows(found))]


@dataclass(frozen=True)
class Survey:
    region: set[str]
    into: list[tuple[str, str, str, str | None]]
    held: Held
    prepared: Prepared | None = None  # what `then` read, after the last of the locks


async def survey(
    tx: Tx,
    children: Iterable[str],
    locked: Iterable[str],
    pending: Sequence[Relationship] = (),
    then: Preparing | None = None,
) -> Survey:
    """Lock the children's region and its doors, and read the region, the edges into it
    and the doors' rows once none of them was unlocked when read. `locked`: the parties
    this transaction already holds; `pending`: closure edges it is about to write, or whose
    window it is about to change (as they will be); `then`: the write's own locks and
    reads, carried by each statement after the first, so the last one's are current.

    The first read takes no lock; the next locks what it found bottom up (the deepest of
    the region first, then the doors), as a write of new parties below takes its doors:
    writes in one tree queue instead of deadlocking."""
    held_locks = set(locked)
    replaced = {rel.id for rel in pending}
    locking: list[str] = []
    doors: list[str] = []
    carried: Preparing | None = None  # none in the first statement, which locks nothing
    while True:
        result = await tx.run(
            "CALL () { UNWIND $locking AS id MATCH (p:Party {id: id}) "
            "SET p._lock = true REMOVE p._lock RETURN count(p) AS locked } "
            "CALL () { UNWIND $children AS id MATCH (c:Party {id: id}) "
            f"CALL (c) {{ {_REGION.reach('c', DEPTH - 1)} }} "
            "WITH x, min(depth) AS depth RETURN collect([x, depth]) AS region } "
            "CALL (region) { UNWIND region AS found WITH found[0] AS x "
            f"CALL (x) {{ {_INTO} }} "
            "RETURN collect([parent.id, x.id, toString(e.since), toString(e.until), e.id]) "
            "AS into } "
            f"{held('doors', 'held')}{carried.calls if carried else ''}"
            "RETURN [found IN region | [found[0].id, found[1]]] AS region, into, held"
            f"{', ' + PREPARED if carried else ''}",
            {
                "locking": locking,
                "children": sorted(set(children)),
                "doors": doors,
                **(carried.params if carried else {}),
            },
        )
        record = await result.single(strict=True)
        held_locks.update(locking)
        depths = dict(record["region"])
        into = [
            (p, c, text(since), None if until is None else text(until))
            for p, c, since, until, rel_id in record["into"]
            if rel_id not in replaced
        ]
        into += [_edge(rel) for rel in pending if parent_child(rel)[1] in depths]
        found_doors = sorted({p for p, _, _, _ in into if p not in depths})
        deepest_first = sorted(depths, key=lambda x: (-depths[x], x))
        locking = [x for x in [*deepest_first, *found_doors] if x not in held_locks]
        if not locking and found_doors == doors:
            prepared = carried.read(record) if carried else None
            return Survey(set(depths), into, held_rows(record["held"], doors), prepared)
        doors = found_doors
        carried = then


def rederived(found: Survey, changed: Sequence[tuple[str, str]]) -> list[Write]:
    """The writes that replace the rows of the surveyed region's parties."""
    whole = rebuilds_whole(found.region, changed, found.held)
    derived = derive(found.region, Edges(found.into), found.held, whole)
    return [
        Write(
            "UNWIND $rows AS row UNWIND row.ids AS id "
            f"MATCH (:Party {{id: id}})<-[:{REACHES}]-(h:Reach) "
            "WHERE row.whole OR row.region[h.ancestor] IS NULL DETACH DELETE h",
            [
                {
                    "ids": sorted(found.region),
                    "region": dict.fromkeys(found.region, True),
                    "whole": whole,
                }
            ],
        ),
        new_reaches(rows(derived)),
    ]


async def edges_changed(
    tx: Tx,
    rels: Iterable[Relationship],
    locked: Iterable[str],
    pending: Sequence[Relationship] = (),
) -> list[Write]:
    """The writes that bring the closure up to date with `rels`, edges just written or
    whose window just changed, and `pending`, edges about to be written."""
    changed = changed_edges([*rels, *pending])
    if not changed:
        return []
    found = await survey(tx, [child for _, child in changed], locked, pending)
    return rederived(found, changed)


async def with_edge(tx: Tx, rel: Relationship, reads: Preparing) -> tuple[list[Write], Prepared]:
    """The writes that bring the closure up to date with `rel`, an edge about to be
    written, and the write's locks and reads (`reads`): those in the statement that takes
    the closure's last locks, so a link costs a round trip less than the two apart."""
    changed = changed_edges([rel])
    if not changed:
        return [], await reads.run(tx)
    found = await survey(tx, [child for _, child in changed], [], [rel], reads)
    return rederived(found, changed), found.prepared or await reads.run(tx)
