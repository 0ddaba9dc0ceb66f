"""Walks of the embedded store: breadth first, one statement per level, each party once.

Hierarchies are DAGs (a unit PART_OF two units, a person in two departments),
so a walk that follows paths is exponential on layered diamonds. Every walk
here keeps a visited set: a party is expanded once, at its shortest depth,
and each edge is read once per walk, so the work is linear in what the walk
reaches. All statements of a walk run inside the caller's one executor job:
one round trip in the port's sense.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from .. import rules
from ..codec import PARTY_KINDS, REL_FIELDS
from ..model import ACYCLIC_TYPES, PartyRef, Relationship, RelType
from ..times import format_instant
from . import jobs
from .rows import relationship_from_row
from .scopes import EVERYWHERE, Reach


def _ids(values: Iterable[object]) -> str:
    return json.dumps(list(values))


def _edge_rows(
    conn: sqlite3.Connection,
    anchors: Sequence[str],
    spec: Sequence[tuple[RelType, str]],
    as_of: datetime | None,
    columns: str,
    named: bool = False,
) -> list[sqlite3.Row]:
    """`columns` of the edges (r) whose `end` column holds one of anchors, per (type, end)
    in spec, then `anchor` and `other_end` (and with `named` the other end's kind and
    name), in one statement ordered by (since, id)."""
    moment = format_instant(as_of) if as_of else None
    validity = " AND r.since <= :at AND (r.until IS NULL OR r.until > :at)" if moment else ""
    selects = []
    params: dict[str, object] = {"anchors": _ids(set(anchors)), "at": moment}
    for end, other in (("from_id", "to_id"), ("to_id", "from_id")):
        types = [t.value for t, e in spec if e == end]
        if types:
            params[end] = _ids(types)
            name, join = (
                (", p.kind, p.display_name", f" JOIN parties p ON p.id = r.{other}")
                if named
                else ("", "")
            )
            selects.append(
                f"SELECT {columns}r.{end} AS anchor, r.{other} AS other_end{name}, "
                f"r.since AS edge_since, r.id AS edge_id FROM relationships r{join} "
                f"WHERE r.{end} IN (SELECT value FROM json_each(:anchors)) "
                f"AND r.type IN (SELECT value FROM json_each(:{end})){validity}"
            )
    if not selects:
        return []
    order = " ORDER BY edge_since, edge_id"
    return conn.execute(" UNION ALL ".join(selects) + order, params).fetchall()


_EDGE_COLUMNS = "".join(f"r.{column}, " for column in REL_FIELDS)


def edges_at(
    conn: sqlite3.Connection,
    anchors: Sequence[str],
    spec: Sequence[tuple[RelType, str]],
    as_of: datetime | None,
) -> list[tuple[str, Relationship]]:
    """Edges whose `end` column holds one of anchors, per (type, end) in spec, ordered by
    (since, id); as_of None reads the whole history."""
    rows = _edge_rows(conn, anchors, spec, as_of, _EDGE_COLUMNS)
    return [(row["anchor"], relationship_from_row(row)) for row in rows]


def named_ends_at(
    conn: sqlite3.Connection,
    anchors: Sequence[str],
    spec: Sequence[tuple[RelType, str]],
    as_of: datetime | None,
) -> list[tuple[str, PartyRef]]:
    """(anchor, other end by id, kind and name) of the edges edges_at finds, in its order,
    in the same statement: a children list whose reader asks for no edge and no more of
    the parties decodes neither."""
    rows = _edge_rows(conn, anchors, spec, as_of, "", named=True)
    return [(row[0], PartyRef(row[1], PARTY_KINDS[row[2]], row[3])) for row in rows]


def roles_at(
    conn: sqlite3.Connection, units: Sequence[str], as_of: datetime
) -> list[tuple[str, str, str]]:
    """(unit, holder, role) of the edges with a role that place a holder at each unit as
    of the instant: EMPLOYS from the unit, MEMBER_OF to it."""
    current = "role IS NOT NULL AND since <= :at AND (until IS NULL OR until > :at)"
    rows = conn.execute(
        "SELECT from_id, to_id, role FROM relationships WHERE type = 'EMPLOYS' "
        f"AND from_id IN (SELECT value FROM json_each(:units)) AND {current} "
        "UNION ALL SELECT to_id, from_id, role FROM relationships WHERE type = 'MEMBER_OF' "
        f"AND to_id IN (SELECT value FROM json_each(:units)) AND {current}",
        {"units": _ids(set(units)), "at": format_instant(as_of)},
    )
    return [(unit, holder, role) for unit, holder, role in rows]


def other_end(rel: Relationship, anchor: str) -> str:
    return rel.to_id if rel.from_id == anchor else rel.from_id


class Reached(NamedTuple):
    """A party met by a walk: at its shortest depth, from the smallest (parent, edge). A
    tuple: a page makes one for each of thousands of rows, at half a frozen class's cost."""

    depth: int
    parent: str
    rel_id: str


class HierarchyStep:
    """One level of a hierarchy walk: the edges valid at a moment that lead from a set of
    parties one level down (or up), as (party, next party, edge id)."""

    def __init__(self, types: Sequence[RelType], downward: bool, at: datetime) -> None:
        forward, backward = rules.walk_directions(types, downward)
        selects = []
        for group, here, there in ((forward, "from_id", "to_id"), (backward, "to_id", "from_id")):
            if group:
                listed = ", ".join(repr(t.value) for t in group)
                selects.append(
                    f"SELECT {here}, {there}, id FROM relationships "
                    f"WHERE {here} IN (SELECT value FROM json_each(:frontier)) "
                    f"AND type IN ({listed}) AND since <= :at AND (until IS NULL OR until > :at)"
                )
        self._sql = " UNION ALL ".join(selects)
        self._at = format_instant(at)

    def edges(self, conn: sqlite3.Connection, frontier: Sequence[str]) -> list[sqlite3.Row]:
        return conn.execute(self._sql, {"frontier": _ids(frontier), "at": self._at}).fetchall()


def levels(
    conn: sqlite3.Connection,
    starts: Sequence[str],
    step: HierarchyStep,
    max_depth: int,
    inside: Reach = EVERYWHERE,
    beyond: set[str] | None = None,
) -> Iterator[dict[str, dict[str, Reached]]]:
    """Breadth first from every start at once, yielding per level each start's newly
    reached parties. A start never reaches itself, and each party once per start; a
    party outside `inside` is neither reached nor passed. Given `beyond`, a walk that gets
    past its last level looks one level further and adds the starts with parties there."""
    seen: dict[str, set[str]] = {start: {start} for start in starts}
    frontiers: dict[str, list[str]] = {start: [start] for start in starts}
    for depth in range(1, max(max_depth, 0) + 2):
        jobs.check()
        parties = sorted({p for frontier in frontiers.values() for p in frontier})
        if not parties or (depth > max_depth and beyond is None):
            return
        leaving: dict[str, list[tuple[str, str]]] = {}
        edges = step.edges(conn, parties)
        allowed = inside.keep(conn, (there for _, there, _ in edges))
        for here, there, rel_id in edges:
            if there in allowed:
                leaving.setdefault(here, []).append((there, rel_id))
        level: dict[str, dict[str, Reached]] = {}
        for start, frontier in frontiers.items():
            found: dict[str, Reached] = {}
            visited = seen[start]
            for here in frontier:
                for there, rel_id in leaving.get(here, ()):
                    if there in visited:
                        continue
                    best = found.get(there)
                    if best is None or (here, rel_id) < (best.parent, best.rel_id):
                        found[there] = Reached(depth, here, rel_id)
            visited.update(found)
            frontiers[start] = list(found)
            level[start] = found
        if depth > max_depth:
            assert beyond is not None
            beyond.update(start for start, found in level.items() if found)
            return
        yield level


def descendants(
    conn: sqlite3.Connection,
    root: str,
    step: HierarchyStep,
    max_depth: int,
    after: tuple[int, str] | None,
    limit: int,
    count: bool,
    inside: Reach = EVERYWHERE,
    tell_beyond: bool = False,
) -> tuple[list[tuple[str, Reached]], int | None, bool]:
    """Up to `limit` parties below root after the (depth, id) cursor, in (depth, id) order,
    the total when counted, and whether parties lie past max_depth. Without a count the
    walk stops at the first level that completes the page (and does not look past it)."""
    rows: list[tuple[str, Reached]] = []
    total = 0
    past = 0  # rows after the cursor in the levels walked so far
    beyond: set[str] = set()
    for level in levels(conn, [root], step, max_depth, inside, beyond if tell_beyond else None):
        found = level[root]
        total += len(found)
        kept = [(i, r) for i, r in sorted(found.items()) if after is None or (r.depth, i) > after]
        rows += kept[: max(0, limit - len(rows))]
        past += len(kept)
        if not count and past >= limit:
            break
    return rows, total if count else None, root in beyond


def ancestors(
    conn: sqlite3.Connection,
    starts: Sequence[str],
    step: HierarchyStep,
    max_depth: int,
    inside: Reach = EVERYWHERE,
    beyond: set[str] | None = None,
) -> dict[str, list[tuple[str, Reached]]]:
    """Every party above each start, nearest first, ties by id; the starts with parties
    past max_depth go into `beyond`."""
    found: dict[str, list[tuple[str, Reached]]] = {start: [] for start in starts}
    for level in levels(conn, starts, step, max_depth, inside, beyond):
        for start, reached in level.items():
            found[start] += sorted(reached.items())
    return found


def members(
    conn: sqlite3.Connection,
    root: str,
    step: HierarchyStep,
    max_depth: int,
    inside: Reach = EVERYWHERE,
    beyond: set[str] | None = None,
) -> list[str]:
    """The root and every party below it; the root goes into `beyond` when parties lie
    past max_depth."""
    below = [root]
    for level in levels(conn, [root], step, max_depth, inside, beyond):
        below += level[root]
    return below


def neighbours(
    conn: sqlite3.Connection,
    ids: Sequence[str],
    types: Sequence[RelType],
    as_of: datetime,
    inside: Reach = EVERYWHERE,
) -> list[tuple[str, str, Relationship]]:
    """(party, neighbour, edge) for every edge of these types touching the parties,
    whichever way it points, to a neighbour inside, in edge id order so walks are
    repeatable."""
    spec = [(t, end) for t in types for end in ("from_id", "to_id")]
    found = [
        (anchor, other_end(rel, anchor), rel) for anchor, rel in edges_at(conn, ids, spec, as_of)
    ]
    allowed = inside.keep(conn, (neighbour for _, neighbour, _ in found))
    found = [item for item in found if item[1] in allowed]
    found.sort(key=lambda item: item[2].id)
    return found


def within(
    conn: sqlite3.Connection,
    root: str,
    types: Sequence[RelType],
    depth: int,
    limit: int,
    as_of: datetime,
    inside: Reach = EVERYWHERE,
) -> dict[str, int]:
    """Each party within `depth` hops of root in any direction, with its distance; the walk
    stops at the first level past `limit` parties, so the nearest ones are all in."""
    distance = {root: 0}
    frontier = [root]
    for level in range(1, depth + 1):
        if not frontier or len(distance) > limit:
            break
        reached = []
        for _, other, _ in neighbours(conn, frontier, types, as_of, inside):
            if other not in distance:
                distance[other] = level
                reached.append(other)
        frontier = reached
    return distance


def meet(
    conn: sqlite3.Connection,
    start: str,
    goal: str,
    types: Sequence[RelType],
    max_depth: int,
    as_of: datetime,
    inside: Reach = EVERYWHERE,
) -> tuple[list[str], list[Relationship]] | None:
    """A shortest path ignoring direction: breadth first from both ends, one statement per
    level, the smaller side first; the first level where the sides touch gives it."""
    if start == goal:
        return [start], []
    # party -> (the party one step nearer its side's end, the edge between them)
    came: list[dict[str, tuple[str, Relationship] | None]] = [{start: None}, {goal: None}]
    fronts = [[start], [goal]]
    for _ in range(max_depth):
        side = 0 if len(fronts[0]) <= len(fronts[1]) else 1
        seen, other = came[side], came[1 - side]
        reached = []
        for anchor, neighbour, rel in neighbours(conn, fronts[side], types, as_of, inside):
            if neighbour not in seen:
                seen[neighbour] = (anchor, rel)
                reached.append(neighbour)
        meeting = sorted(n for n in reached if n in other)
        if meeting:
            return _join(came[0], came[1], meeting[0])
        fronts[side] = reached
        if not reached:
            return None
    return None


def _join(
    from_start: dict[str, tuple[str, Relationship] | None],
    from_goal: dict[str, tuple[str, Relationship] | None],
    middle: str,
) -> tuple[list[str], list[Relationship]]:
    nodes, rels = [middle], list[Relationship]()
    step = from_start[middle]
    while step is not None:
        nodes.insert(0, step[0])
        rels.insert(0, step[1])
        step = from_start[step[0]]
    step = from_goal[middle]
    while step is not None:
        nodes.append(step[0])
        rels.append(step[1])
        step = from_goal[step[0]]
    return nodes, rels


_ACYCLIC = f"type IN ({', '.join(repr(t.value) for t in ACYCLIC_TYPES)})"


def reaches(conn: sqlite3.Connection, start: str, goal: str, since: datetime) -> bool:
    """Whether start leads to goal from → to over the acyclic types, counting every edge
    still valid at or after `since` (an edge that ended before it cannot close a cycle).
    UNION keeps one row per party: each is expanded once."""
    row = conn.execute(
        f"""WITH RECURSIVE up(id) AS (
              SELECT :start
              UNION
              SELECT r.to_id FROM up JOIN relationships r ON r.from_id = up.id
              WHERE r.{_ACYCLIC} AND (r.until IS NULL OR r.until > :since)
            )
            SELECT 1 FROM up WHERE id = :goal LIMIT 1""",
        {"start": start, "goal": goal, "since": format_instant(since)},
    ).fetchone()
    return row is not None


def entered(conn: sqlite3.Connection, ids: Iterable[str]) -> set[str]:
    """Those of the parties some acyclic edge enters, of any date (rules.may_close_cycle)."""
    rows = conn.execute(
        "SELECT DISTINCT to_id FROM relationships "
        f"WHERE to_id IN (SELECT value FROM json_each(?)) AND {_ACYCLIC}",
        (_ids(sorted(set(ids))),),
    )
    return {row[0] for row in rows}


def acyclic_above(
    conn: sqlite3.Connection, starts: Sequence[str], since: datetime
) -> list[tuple[str, str]]:
    """Every stored acyclic (from, to) edge reachable from → to from the starts, among
    those valid at or after `since`: what a batch's new edges could close a cycle with."""
    rows = conn.execute(
        f"""WITH RECURSIVE up(id) AS (
              SELECT value FROM json_each(:starts)
              UNION
              SELECT r.to_id FROM up JOIN relationships r ON r.from_id = up.id
              WHERE r.{_ACYCLIC} AND (r.until IS NULL OR r.until > :since)
            )
            SELECT r.from_id, r.to_id FROM up JOIN relationships r ON r.from_id = up.id
            WHERE r.{_ACYCLIC} AND (r.until IS NULL OR r.until > :since)""",
        {"starts": _ids(sorted(set(starts))), "since": format_instant(since)},
    )
    return [(row[0], row[1]) for row in rows]
