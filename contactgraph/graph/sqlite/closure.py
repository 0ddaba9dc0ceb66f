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


def _steps_up() -> str:
    """One recursive step per parent end, each joining on an indexed column: from a party
    (the walk's current ancestor) to its parent over an edge of the closure's types."""
    steps = []
    for end in ParentEnd:
        types = sorted(t.value for t in CLOSURE_TYPES if REL_RULES[t].parent_end is end)
        if not types:
            continue
        child, parent = ("to_id", "from_id") if end is ParentEnd.FROM else ("from_id", "to_id")
        listed = ", ".join(f"'{value}'" for value in types)
        steps.append(
            f"""SELECT r.{parent}, w.descendant, max(w.since, r.since),
                   min(w.until, coalesce(r.until, '{OPEN}')), w.depth + 1
            FROM walk w JOIN relationships r ON r.{child} = w.ancestor AND r.type IN ({listed})
            WHERE max(w.since, r.since) < min(w.until, coalesce(r.until, '{OPEN}'))
              AND w.depth < {MAX_BUILD_DEPTH}"""
        )
    return " UNION ALL ".join(steps)


def build_sql() -> str:
    """The migration that creates and fills the closure from the stored relationships."""
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
    WITH RECURSIVE walk(ancestor, descendant, since, until, depth) AS (
        SELECT id, id, '{BEGINNING}', '{OPEN}', 0 FROM parties
        UNION ALL {_steps_up()}
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
