"""Pages of descendants read from the closure (hierarchy_reach) instead of walked.

Where the closure holds the subtree a walk would find (timelines.in_closure), a page in
(depth, id) order is one range of the (ancestor, depth) index, whose entries carry the
descendant id next: each row is kept unless the same party has a nearer one, so every
party comes once at its shortest depth, and the range stops once the page is full. A
walk instead visits every level down to the page's last, in Python.

The parent on the shortest way down, and the edge from it, are found only when read:
of the page's parties' edges up, the smallest (parent, edge) among those from a party
one level nearer the root, the one a breadth-first walk would have come by.
"""

from __future__ import annotations

import json
import sqlite3

from ..codec import PARTY_KINDS
from ..model import PartyRef, Rollup, TreeReading
from ..times import format_instant
from .scopes import Reach
from .walks import HierarchyStep, Reached

_VALID = "since <= :at AND until > :at"
_NEARER = (
    "NOT EXISTS (SELECT 1 FROM hierarchy_reach AS n WHERE n.ancestor_id = :root "
    "AND n.descendant_id = r.descendant_id AND n.depth < r.depth "
    "AND n.since <= :at AND n.until > :at)"
)


def descendants(
    conn: sqlite3.Connection,
    root: str,
    rollup: Rollup,
    after: tuple[int, str] | None,
    limit: int,
    inside: Reach,
    reading: TreeReading,
) -> tuple[list[tuple[str, Reached]], dict[str, PartyRef] | None]:
    """Up to `limit` parties below root after the (depth, id) cursor, in (depth, id)
    order, as the walk of walks.descendants finds them; and, when the reading asks no
    more of the parties, each by id, kind and name from the same statement. A parent and
    edge left unread are empty strings, which records.below does not pass on."""
    params = {
        "root": root,
        "at": format_instant(rollup.as_of),
        "max_depth": rollup.max_depth,
        "depth": after[0] if after else 0,
        "id": after[1] if after else "",
        "limit": limit,
        **inside.params,
    }
    named, join = (
        ("", "")
        if reading.parties
        else (", p.kind, p.display_name", " JOIN parties p ON p.id = r.descendant_id")
    )
    found = conn.execute(
        f"SELECT DISTINCT r.descendant_id, r.depth{named} FROM hierarchy_reach AS r{join} "
        "WHERE r.ancestor_id = :root AND r.depth BETWEEN max(:depth, 1) AND :max_depth "
        f"AND r.{_VALID} AND (r.depth, r.descendant_id) > (:depth, :id) AND {_NEARER} "
        f"AND {inside.test('r.descendant_id')} "
        "ORDER BY r.depth, r.descendant_id LIMIT :limit",
        params,
    ).fetchall()
    refs = (
        None
        if reading.parties
        else {row[0]: PartyRef(row[0], PARTY_KINDS[row[2]], row[3]) for row in found}
    )
    if not (reading.parents or reading.edges):
        return [(row[0], Reached(row[1], "", "")) for row in found], refs
    ways = _ways_down(conn, root, rollup, {row[0]: row[1] for row in found}, inside)
    return [(row[0], Reached(row[1], *ways[row[0]])) for row in found], refs


def _ways_down(
    conn: sqlite3.Connection, root: str, rollup: Rollup, depths: dict[str, int], inside: Reach
) -> dict[str, tuple[str, str]]:
    """Each party's (parent, edge) on its shortest way down from root: two statements for
    the whole page."""
    up = HierarchyStep(rollup.types, False, rollup.as_of).edges(conn, list(depths))
    parents = {parent for _, parent, _ in up} - {root}
    levels = {root: 0}
    if parents:
        levels.update(
            conn.execute(
                "SELECT descendant_id, min(depth) FROM hierarchy_reach "
                "WHERE ancestor_id = :root "
                "AND descendant_id IN (SELECT value FROM json_each(:parents)) "
                f"AND {_VALID} GROUP BY descendant_id",
                {
                    "root": root,
                    "parents": json.dumps(sorted(parents)),
                    "at": format_instant(rollup.as_of),
                },
            ).fetchall()
        )
    allowed = inside.keep(conn, levels)
    ways: dict[str, tuple[str, str]] = {}
    for party_id, parent, rel_id in up:
        nearer = parent in allowed and levels.get(parent) == depths[party_id] - 1
        if nearer and (party_id not in ways or (parent, rel_id) < ways[party_id]):
            ways[party_id] = (parent, rel_id)
    return ways
