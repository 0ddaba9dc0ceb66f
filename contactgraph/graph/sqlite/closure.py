"""The closure of the default hierarchy on the embedded store (the derivation is
graph/closure.py): `hierarchy_reach` holds its rows, and every party's own row at depth 0.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..closure import (
    ALWAYS,
    BEGINNING,
    CLOSURE_TYPES,
    DEPTH,
    OPEN,
    Edges,
    Window,
    changed_edges,
    derive,
    parent_is_from,
    propagate,
    rebuilds_whole,
    rows,
)
from ..model import Relationship
from . import jobs

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


def _types(column: str, parent: bool) -> list[str]:
    """The closure types whose parent (or child) sits in `column`."""
    on_from = column == "from_id"
    return sorted(t.value for t in CLOSURE_TYPES if (parent_is_from(t) == on_from) == parent)


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


def add_parties(conn: sqlite3.Connection, ids: Iterable[str]) -> None:
    conn.executemany(_INSERT, [(i, i, 0, BEGINNING, OPEN) for i in ids])


def _region(conn: sqlite3.Connection, children: Iterable[str]) -> set[str]:
    """The parties at most DEPTH - 1 levels below any of the children, over every edge of
    any time, walked breadth first from `relationships` (the closure is what is stale)."""
    region = set(children)
    frontier = sorted(region)
    for _ in range(DEPTH - 1):
        below = Edges(
            conn.execute(_select_edges("ids", parent_side=True), {"ids": _json(frontier)})
        )
        frontier = sorted({c for p in frontier for c, _ in below.below.get(p, ())} - region)
        if not frontier:
            break
        region.update(frontier)
    return region


def _rederive(conn: sqlite3.Connection, changed: Sequence[tuple[str, str]]) -> None:
    """Rebuild the rows changed edges (parent, child) can touch: those reaching a party of
    the children's region from above it."""
    region = _region(conn, [child for _, child in changed])
    into = Edges(conn.execute(_select_edges("ids", parent_side=False), {"ids": _json(region)}))
    doors = {p for party in region for p, _ in into.above.get(party, ()) if p not in region}
    held: dict[str, list[tuple[str, int, Window]]] = defaultdict(list)
    for ancestor, door, depth, since, until in conn.execute(
        "SELECT ancestor_id, descendant_id, depth, since, until FROM hierarchy_reach "
        "WHERE descendant_id IN (SELECT value FROM json_each(?)) AND depth < ?",
        (_json(doors), DEPTH),
    ):
        held[door].append((ancestor, depth, (since, until)))
    whole = rebuilds_whole(region, changed, held)
    found = derive(region, into, held, whole, jobs.check)
    conn.execute(
        "DELETE FROM hierarchy_reach WHERE descendant_id IN (SELECT value FROM json_each(:ids)) "
        "AND depth > 0"
        + ("" if whole else " AND ancestor_id NOT IN (SELECT value FROM json_each(:ids))"),
        {"ids": _json(region)},
    )
    conn.executemany(_INSERT, rows(found))  # in key order the pages fill one after another


def _json(ids: Iterable[str]) -> str:
    return json.dumps(sorted(ids))


def edges_changed(conn: sqlite3.Connection, rels: Iterable[Relationship]) -> None:
    """Bring the closure up to date with edges just inserted, or whose window just changed
    (already written to `relationships`)."""
    pairs_changed(conn, changed_edges(rels))


def pairs_changed(conn: sqlite3.Connection, changed: Sequence[tuple[str, str]]) -> None:
    """edges_changed for the (parent, child) pairs changed_edges gives: a seed finds them
    in the generator's process."""
    if changed:
        _rederive(conn, changed)


def rebuild(conn: sqlite3.Connection) -> None:
    """Fill the closure from scratch: one propagation down from each party."""
    edges = Edges(conn.execute(_select_edges("", parent_side=True)))
    parties = [row[0] for row in conn.execute("SELECT id FROM parties")]
    add_parties(conn, parties)
    everyone = set(parties)
    for party in parties:
        if party in edges.below:
            seeds = {0: {(party, party): [ALWAYS]}}
            conn.executemany(_INSERT, rows(propagate(seeds, edges, everyone, jobs.check)))


def above(conn: sqlite3.Connection, ids: Sequence[str], depth: int, at: str) -> dict[str, set[str]]:
    """The parties above each of `ids` within `depth` levels at `at` (an instant's text),
    by the party below them."""
    found: dict[str, set[str]] = defaultdict(set)
    for below, ancestor in conn.execute(
        "SELECT descendant_id, ancestor_id FROM hierarchy_reach "
        "WHERE descendant_id IN (SELECT value FROM json_each(?)) "
        "AND depth BETWEEN 1 AND ? AND since <= ? AND until > ?",
        (json.dumps(list(ids)), depth, at, at),
    ):
        found[below].add(ancestor)
    return found
