"""The closure of the default hierarchy, kept so roll-ups never walk the tree.

`hierarchy_reach` holds, for each (ancestor, descendant, depth), the times at
which a path of exactly that many edges leads from one to the other: disjoint
[since, until) windows, the union over every such path of the intersection of
its edges' windows. "The subtree as of t within d levels" is then one index
range: the ancestor's rows with depth <= d whose window holds t. Every party
is its own ancestor at depth 0 over all time.

Nothing here counts or enumerates paths (a layered DAG has exponentially
many). When an edge appears or its window changes, the rows it can affect
are re-derived from the edges: pairs (A, D) with A at most DEPTH - 1 levels
above its parent and D at most DEPTH - 1 below its child. Each is rebuilt by
a breadth-first propagation over D's region, one entry per (A, D, depth), so
the work is the size of that region times the ancestors above, never the
number of paths. Rows stop at DEPTH levels, the server's depth ceiling, so a
chain of 10,000 units keeps 64 rows per unit instead of 10,000.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..identity import SCOPE_DEPTH
from ..model import DEFAULT_HIERARCHY_TYPES, REL_RULES, ParentEnd, Relationship, RelType
from . import jobs

BEGINNING = ""  # sorts before every instant's text
OPEN = "9999-12-31T23:59:59.999999+00:00"  # sorts after every instant's text: no end
ALWAYS = (BEGINNING, OPEN)
DEPTH = SCOPE_DEPTH  # the deepest row kept: the default depth ceiling of every walk

CLOSURE_TYPES: frozenset[RelType] = frozenset(DEFAULT_HIERARCHY_TYPES)

Window = tuple[str, str]
Windows = list[Window]  # disjoint, sorted, none empty

TABLE = """
    CREATE TABLE hierarchy_reach (
        ancestor_id   TEXT NOT NULL,
        descendant_id TEXT NOT NULL,
        depth         INTEGER NOT NULL,
        since         TEXT NOT NULL,
        until         TEXT NOT NULL,
        PRIMARY KEY (ancestor_id, descendant_id, depth, since)
    ) WITHOUT ROWID;
    CREATE INDEX hierarchy_reach_up ON hierarchy_reach(descendant_id, depth)
"""
_INSERT = (
    "INSERT INTO hierarchy_reach (ancestor_id, descendant_id, depth, since, until) "
    "VALUES (?, ?, ?, ?, ?)"
)


def _intersect(windows: Windows, window: Window) -> Windows:
    if window == ALWAYS:
        return windows
    since, until = window
    found = []
    for start, end in windows:
        start, end = max(start, since), min(end, until)
        if start < end:
            found.append((start, end))
    return found


def _union(windows: Windows, more: Windows) -> Windows:
    if not windows or windows == more:
        return more
    merged: Windows = []
    for start, end in sorted([*windows, *more]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _ends(rel_type: RelType) -> tuple[str, str]:
    """(parent column, child column) of an edge of this type in `relationships`."""
    if REL_RULES[rel_type].parent_end is ParentEnd.FROM:
        return "from_id", "to_id"
    return "to_id", "from_id"


def _types(column: str, parent: bool) -> list[str]:
    """The closure types whose parent (or child) sits in `column`."""
    return sorted(t.value for t in CLOSURE_TYPES if _ends(t)[0 if parent else 1] == column)


class _Edges:
    """Closure edges by parent and by child, with their windows."""

    def __init__(self, rows: Iterable[tuple[str, str, str, str | None]]) -> None:
        """rows: (parent, child, since, until) with until None while the edge is open."""
        self.below: dict[str, list[tuple[str, Window]]] = defaultdict(list)
        self.above: dict[str, list[tuple[str, Window]]] = defaultdict(list)
        for parent, child, since, until in rows:
            window = (since, until or OPEN)
            self.below[parent].append((child, window))
            self.above[child].append((parent, window))


def _select_edges(where: str, parent_side: bool) -> str:
    """One statement for the closure edges (parent, child, since, until) whose parent (or
    child) is in :ids, or every closure edge when `where` is empty."""
    selects = []
    for column, other in (("from_id", "to_id"), ("to_id", "from_id")):
        types = _types(column, parent=parent_side)
        if not types:
            continue
        parent, child = (column, other) if parent_side else (other, column)
        anchor = f"{column} IN (SELECT value FROM json_each(:ids)) AND " if where else ""
        selects.append(
            f"SELECT {parent}, {child}, since, until FROM relationships "
            f"WHERE {anchor}type IN ({', '.join(repr(t) for t in types)})"
        )
    return " UNION ALL ".join(selects)


Entries = dict[tuple[str, str], Windows]  # (ancestor, descendant) -> windows, at one depth


def _propagate(seeds: dict[int, Entries], edges: _Edges, region: set[str]) -> dict[int, Entries]:
    """Carry (ancestor, party) windows down the edges into `region`, one depth at a time:
    each (ancestor, descendant, depth) is one entry, however many paths lead to it."""
    found: dict[int, Entries] = defaultdict(dict, {d: dict(e) for d, e in seeds.items()})
    for depth in range(min(seeds, default=DEPTH), DEPTH):
        jobs.check()
        following = found[depth + 1]
        for (ancestor, party), windows in found.get(depth, {}).items():
            for child, window in edges.below.get(party, ()):
                if child not in region:
                    continue
                reached = _intersect(windows, window)
                if reached:
                    key = (ancestor, child)
                    held = following.get(key)
                    following[key] = reached if held is None else _union(held, reached)
    return found


def _write(conn: sqlite3.Connection, found: dict[int, Entries]) -> None:
    rows = [
        (ancestor, descendant, depth, since, until)
        for depth, entries in found.items()
        if depth > 0
        for (ancestor, descendant), windows in entries.items()
        for since, until in windows
    ]
    rows.sort()  # in key order the table's pages fill one after another
    conn.executemany(_INSERT, rows)


def add_parties(conn: sqlite3.Connection, ids: Iterable[str]) -> None:
    conn.executemany(_INSERT, [(i, i, 0, BEGINNING, OPEN) for i in ids])


def _region(conn: sqlite3.Connection, children: Iterable[str]) -> set[str]:
    """The parties at most DEPTH - 1 levels below any of the children, over every edge of
    any time, walked breadth first from `relationships` (the closure is what is stale)."""
    region = set(children)
    frontier = sorted(region)
    for _ in range(DEPTH - 1):
        below = _Edges(
            conn.execute(_select_edges("ids", parent_side=True), {"ids": _json(frontier)})
        )
        frontier = sorted({c for p in frontier for c, _ in below.below.get(p, ())} - region)
        if not frontier:
            break
        region.update(frontier)
    return region


def _rederive(conn: sqlite3.Connection, changed: Sequence[tuple[str, str]]) -> None:
    """Rebuild the rows changed edges (parent, child) can touch: those reaching a party of
    the children's region from above it. Paths enter the region over edges from outside
    (the doors), whose own rows no change here can touch, and are carried down inside it.
    When a changed edge starts inside the region (a batch adding a unit and its parent
    together), the rows between the region's own parties are rebuilt too."""
    region = _region(conn, [child for _, child in changed])
    whole = any(parent in region for parent, _ in changed)
    into = _Edges(conn.execute(_select_edges("ids", parent_side=False), {"ids": _json(region)}))
    doors = {p for party in region for p, _ in into.above.get(party, ()) if p not in region}
    kept: dict[str, list[tuple[str, int, Window]]] = defaultdict(list)
    for ancestor, door, depth, since, until in conn.execute(
        "SELECT ancestor_id, descendant_id, depth, since, until FROM hierarchy_reach "
        "WHERE descendant_id IN (SELECT value FROM json_each(?)) AND depth < ?",
        (_json(doors), DEPTH),
    ):
        kept[door].append((ancestor, depth, (since, until)))
    seeds: dict[int, Entries] = defaultdict(dict)
    if whole:
        seeds[0] = {(party, party): [ALWAYS] for party in region}
    inside = []
    for party in region:
        for door, window in into.above.get(party, ()):
            if door in region:
                inside.append((door, party, *window))
            for ancestor, depth, held in kept.get(door, ()):
                reached = _intersect([held], window)
                if reached:
                    entries = seeds[depth + 1]
                    key = (ancestor, party)
                    entries[key] = _union(entries.get(key, []), reached)
    found = _propagate(seeds, _Edges(inside), region)
    conn.execute(
        "DELETE FROM hierarchy_reach WHERE descendant_id IN (SELECT value FROM json_each(:ids)) "
        "AND depth > 0"
        + ("" if whole else " AND ancestor_id NOT IN (SELECT value FROM json_each(:ids))"),
        {"ids": _json(region)},
    )
    _write(conn, found)


def _json(ids: Iterable[str]) -> str:
    return json.dumps(sorted(ids))


def _parent_child(rel: Relationship) -> tuple[str, str]:
    if _ends(rel.type)[0] == "from_id":
        return rel.from_id, rel.to_id
    return rel.to_id, rel.from_id


def edges_changed(conn: sqlite3.Connection, rels: Iterable[Relationship]) -> None:
    """Bring the closure up to date with edges just inserted, or whose window just changed
    (already written to `relationships`)."""
    changed = [_parent_child(rel) for rel in rels if rel.type in CLOSURE_TYPES]
    if changed:
        _rederive(conn, changed)


def rebuild(conn: sqlite3.Connection) -> None:
    """Fill the closure from scratch: one propagation down from each party."""
    edges = _Edges(conn.execute(_select_edges("", parent_side=True)))
    parties = [row[0] for row in conn.execute("SELECT id FROM parties")]
    add_parties(conn, parties)
    everyone = set(parties)
    for party in parties:
        if party in edges.below:
            seeds = {0: {(party, party): [ALWAYS]}}
            _write(conn, _propagate(seeds, edges, everyone))
