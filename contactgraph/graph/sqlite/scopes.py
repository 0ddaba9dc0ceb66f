"""A scoped viewer's part of the embedded graph, tested inside the store's own statements.

A party is in a scope when the closure (closure.py, SCOPE_DEPTH levels deep) holds a
row, valid now, from one of the scope's anchors down to it: one index range per party
tested, however large the scope. The anchors are found first, in the same job: the
subtree parties, the viewer, and what the users below each team are RESPONSIBLE_FOR now.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from ..identity import Scope
from ..model import Party
from ..times import format_instant

Edge = TypeVar("Edge", bound=tuple[Any, ...])  # its first two items are party ids

_PORTFOLIO = """
    SELECT r.to_id FROM relationships r
    WHERE r.type = 'RESPONSIBLE_FOR' AND r.since <= :scope_at
      AND (r.until IS NULL OR r.until > :scope_at)
      AND r.from_id IN (
        SELECT descendant_id FROM hierarchy_reach
        WHERE ancestor_id IN (SELECT value FROM json_each(:scope_teams))
          AND since <= :scope_at AND until > :scope_at
      )
"""


class Everywhere:
    """An unscoped viewer's reach: every test passes, without a statement."""

    params: dict[str, object] = {}

    def test(self, column: str) -> str:
        return "1"

    def keeps_paths_at(self, moment: datetime) -> bool:
        """Whether every path below a party inside, valid at `moment`, stays inside, so a
        subtree's members need no walk: always, but at the scope's own moment for a scope
        (a path of the past may pass a party outside now)."""
        return True

    def members(self, column: str) -> str:
        return "1"

    def keep(self, conn: sqlite3.Connection, ids: Iterable[str]) -> set[str]:
        return set(ids)

    def keep_edges(self, conn: sqlite3.Connection, edges: list[Edge]) -> list[Edge]:
        """Those of `edges` with both ends inside: all, without a set of every end."""
        return edges


class InScope(Everywhere):
    def __init__(self, conn: sqlite3.Connection, scope: Scope, at: datetime) -> None:
        self.at = at
        moment = format_instant(at)
        anchors = {scope.viewer_id, *scope.subtrees}
        if scope.teams:
            rows = conn.execute(
                _PORTFOLIO, {"scope_teams": json.dumps(sorted(scope.teams)), "scope_at": moment}
            )
            anchors.update(row[0] for row in rows)
        self.params = {"scope_anchors": json.dumps(sorted(anchors)), "scope_at": moment}

    def test(self, column: str) -> str:
        """SQL true when the party id in `column` is in the scope."""
        return (
            "EXISTS (SELECT 1 FROM hierarchy_reach h "
            "WHERE h.ancestor_id IN (SELECT value FROM json_each(:scope_anchors)) "
            f"AND h.descendant_id = {column} "
            "AND h.since <= :scope_at AND h.until > :scope_at)"
        )

    def members(self, column: str) -> str:
        """SQL true when the party id in `column` is in the scope, by the scope's members:
        for a filter over many parties, where the scope is the smaller side."""
        return (
            f"{column} IN (SELECT descendant_id FROM hierarchy_reach "
            "WHERE ancestor_id IN (SELECT value FROM json_each(:scope_anchors)) "
            "AND since <= :scope_at AND until > :scope_at)"
        )

    def keeps_paths_at(self, moment: datetime) -> bool:
        return moment == self.at

    def keep(self, conn: sqlite3.Connection, ids: Iterable[str]) -> set[str]:
        """Those of `ids` in the scope, in one statement."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        rows = conn.execute(
            f"SELECT value FROM json_each(:ids) WHERE {self.test('value')}",
            {**self.params, "ids": json.dumps(wanted)},
        )
        return {row[0] for row in rows}

    def keep_edges(self, conn: sqlite3.Connection, edges: list[Edge]) -> list[Edge]:
        """Those of `edges` with both ends in the scope, in one statement."""
        allowed = self.keep(conn, (p for edge in edges for p in edge[:2]))
        return [e for e in edges if e[0] in allowed and e[1] in allowed]


Reach = Everywhere | InScope
EVERYWHERE = Everywhere()


def parties_inside(
    conn: sqlite3.Connection, inside: Reach, parties: dict[str, Party]
) -> dict[str, Party]:
    """Those of `parties` in the reader's reach, in one statement."""
    allowed = inside.keep(conn, parties)
    return {i: p for i, p in parties.items() if i in allowed}


def reach(conn: sqlite3.Connection, scope: Scope | None) -> Reach:
    return EVERYWHERE if scope is None else InScope(conn, scope, scope.taken_at())
