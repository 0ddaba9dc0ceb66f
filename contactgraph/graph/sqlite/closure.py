"""The closure of the default hierarchy, kept so roll-ups never walk the tree.

`hierarchy_paths` holds one row per (ancestor, descendant, validity window)
with the number of paths that share it; every party is its own ancestor over
all time. A path is valid while all of its edges are, so its window is the
intersection of theirs, and "the subtree as of t" is one index range:
rows of the ancestor whose window holds t. Paths are counted because the
hierarchy is a DAG (a contact employed by two units of one company): ending one
edge removes exactly the paths through it and keeps the others. Cycles over
these types are refused on write, so a path never runs through the same edge
twice and the counts stay finite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..model import DEFAULT_HIERARCHY_TYPES, REL_RULES, ParentEnd, Relationship, RelType
from ..times import format_instant

BEGINNING = ""  # sorts before every instant's text
OPEN = "9999-12-31T23:59:59.999999+00:00"  # sorts after every instant's text: no end

CLOSURE_TYPES: frozenset[RelType] = frozenset(DEFAULT_HIERARCHY_TYPES)
# seeded batches skip the cycle check, so the build stops at a depth no real tree reaches
MAX_BUILD_DEPTH = 256


def _ends_sql() -> tuple[str, str]:
    """SQL expressions for the parent and child ids of a relationships row."""
    from_parent = [t.value for t in CLOSURE_TYPES if REL_RULES[t].parent_end is ParentEnd.FROM]
    listed = ", ".join(f"'{value}'" for value in sorted(from_parent))
    parent = f"CASE WHEN type IN ({listed}) THEN from_id ELSE to_id END"
    child = f"CASE WHEN type IN ({listed}) THEN to_id ELSE from_id END"
    return parent, child


def build_sql() -> str:
    """The migration that creates and fills the closure from the stored relationships."""
    parent, child = _ends_sql()
    types = ", ".join(f"'{t.value}'" for t in sorted(CLOSURE_TYPES, key=lambda t: t.value))
    return f"""
    CREATE TABLE hierarchy_paths (
        ancestor_id   TEXT NOT NULL,
        descendant_id TEXT NOT NULL,
        since         TEXT NOT NULL,
        until         TEXT NOT NULL,
        paths         INTEGER NOT NULL,
        PRIMARY KEY (ancestor_id, descendant_id, since, until)
    ) WITHOUT ROWID;
    CREATE INDEX hierarchy_paths_up ON hierarchy_paths(descendant_id);
    -- the roll-up's global scan reads activities newest first
    CREATE INDEX activities_time ON activities(occurred_at, id);
    INSERT INTO hierarchy_paths (ancestor_id, descendant_id, since, until, paths)
    WITH RECURSIVE edges(parent, child, since, until) AS (
        SELECT {parent}, {child}, since, coalesce(until, '{OPEN}')
        FROM relationships WHERE type IN ({types})
    ),
    walk(ancestor, descendant, since, until, depth) AS (
        SELECT id, id, '{BEGINNING}', '{OPEN}', 0 FROM parties
        UNION ALL
        SELECT e.parent, w.descendant, max(w.since, e.since), min(w.until, e.until), w.depth + 1
        FROM walk w JOIN edges e ON e.child = w.ancestor
        WHERE max(w.since, e.since) < min(w.until, e.until) AND w.depth < {MAX_BUILD_DEPTH}
    )
    SELECT ancestor, descendant, since, until, count(*) FROM walk GROUP BY 1, 2, 3, 4
    """


_THROUGH = """
    INSERT INTO hierarchy_paths (ancestor_id, descendant_id, since, until, paths)
    SELECT up.ancestor_id, down.descendant_id,
           max(up.since, down.since, :since), min(up.until, down.until, :until),
           up.paths * down.paths * :sign
    FROM hierarchy_paths up JOIN hierarchy_paths down
      ON up.descendant_id = :parent AND down.ancestor_id = :child
    WHERE max(up.since, down.since, :since) < min(up.until, down.until, :until)
    ON CONFLICT DO UPDATE SET paths = paths + excluded.paths
"""
_EMPTIED = """
    DELETE FROM hierarchy_paths WHERE paths = 0
      AND ancestor_id IN (SELECT ancestor_id FROM hierarchy_paths WHERE descendant_id = :parent)
      AND descendant_id IN (SELECT descendant_id FROM hierarchy_paths WHERE ancestor_id = :child)
"""


def add_parties(conn: sqlite3.Connection, ids: Iterable[str]) -> None:
    conn.executemany(
        "INSERT INTO hierarchy_paths (ancestor_id, descendant_id, since, until, paths) "
        "VALUES (?, ?, ?, ?, 1)",
        [(i, i, BEGINNING, OPEN) for i in ids],
    )


def _params(rel: Relationship, sign: int) -> dict[str, object]:
    parent_is_from = REL_RULES[rel.type].parent_end is ParentEnd.FROM
    return {
        "parent": rel.from_id if parent_is_from else rel.to_id,
        "child": rel.to_id if parent_is_from else rel.from_id,
        "since": format_instant(rel.since),
        "until": format_instant(rel.until) if rel.until else OPEN,
        "sign": sign,
    }


def add_edges(conn: sqlite3.Connection, rels: Iterable[Relationship]) -> None:
    """Add every path through each new edge: (paths up to its parent) x (paths down from
    its child), within the edge's window."""
    for rel in rels:
        if rel.type in CLOSURE_TYPES:
            conn.execute(_THROUGH, _params(rel, 1))


def shorten_edge(conn: sqlite3.Connection, before: Relationship, after: Relationship) -> None:
    """An edge's window changed: take its paths out with the old window, in with the new."""
    if before.type not in CLOSURE_TYPES:
        return
    removed = _params(before, -1)
    conn.execute(_THROUGH, removed)
    conn.execute(_EMPTIED, removed)
    conn.execute(_THROUGH, _params(after, 1))
