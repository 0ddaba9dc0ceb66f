"""A scoped viewer's part of the Neo4j graph, tested inside the store's own statements.

A party is in a scope when a search up the default hierarchy from it, over edges valid
now and at most SCOPE_DEPTH steps, meets one of the scope's anchors (`InScope.test`): an
EXISTS subquery, for the reads that take parties one by one (lookups, edges, children,
own timelines, searches). The party list instead finds the scope's parties down from the
anchors (`InScope.parties`), where testing each party would search up from every party of
the graph; a page first tries the next few pages of all parties, tested (store.py), which
is sooner when the scope holds most of them.

Walks cannot hold it: a quantified path pattern whose step tests a subquery is planned as
Repeat(Trail), which enumerates paths, and a shortest path's takes seconds to plan
(walks.py). So a walk first tests, in one statement, every party the same walk would meet
without the scope, and keeps the element ids of those outside as its fence (usually none);
its steps then enter only parties not in the fence, a test a breadth-first search inlines.
Every party the scoped walk could meet is one the unscoped walk meets, so for those "not in
the fence" is "in the scope". A shortest path fences off the parties outside on each path
it finds instead (walks.shortest_path).

The anchors are found first, in the same transaction: the viewer, the subtree parties and,
for teams, what the users at or below them are RESPONSIBLE_FOR now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import rules
from ..identity import SCOPE_DEPTH, Scope
from ..model import DEFAULT_HIERARCHY_TYPES, RelType
from .cypher import EVERYWHERE, Reach, Tx, encode, type_expression, valid_at
from .walks import Hierarchy

# Up the default hierarchy: PART_OF and MEMBER_OF from → to, and EMPLOYS to → from, which
# only a first step can take: its child is a person, and a person is never a parent.
_UP, _FIRST = rules.walk_directions(DEFAULT_HIERARCHY_TYPES, downward=False)
_NOW = "scope_at"  # beside the read's own $at, which a walk or timeline may set in the past
_DOWN = Hierarchy(DEFAULT_HIERARCHY_TYPES, downward=True, at=_NOW)


def _anchored(start: str, most: int) -> str:
    """A subquery body: the anchors within `most` steps up from `start`, nearest first (an
    EXISTS stops at the first). Its names are its own: it runs inside other patterns."""
    step = f"(()-[scope_r:{type_expression(_UP)}]->() WHERE {valid_at('scope_r', _NOW)})"
    return (
        f"MATCH ({start}) {step}{{0,{most}}} (scope_x:Party) "
        "WITH DISTINCT scope_x WHERE scope_x.id IN $scope_anchors RETURN scope_x"
    )


class InScope(Reach):
    """A scoped viewer's part of the graph, for one transaction: its fence is a walk's."""

    def __init__(self, anchors: Iterable[str], now: datetime) -> None:
        self.params: dict[str, Any] = {
            "scope_anchors": sorted(set(anchors)),
            _NOW: encode(now),
            "scope_fence": [],
        }

    def parties(self, node: str) -> str:
        """Each party in the scope once, found down from the anchors."""
        return (
            "MATCH (scope_a:Party) WHERE scope_a.id IN $scope_anchors "
            f"CALL (scope_a) {{ {_DOWN.members('scope_a', SCOPE_DEPTH)} }} "
            f"WITH DISTINCT x AS {node}"
        )

    def test(self, node: str) -> str:
        first = f"({node})<-[scope_e:{type_expression(_FIRST)}]-(scope_y:Party)"
        return (
            f"EXISTS {{ {_anchored(node, SCOPE_DEPTH)} UNION MATCH {first} "
            f"WHERE {valid_at('scope_e', _NOW)} {_anchored('scope_y', SCOPE_DEPTH - 1)} }}"
        )

    def shows(self, activity: str) -> str:
        """Any of its subjects is in the scope."""
        subject = f"({activity})-[:ABOUT]->(scope_s:Party)"
        return f"EXISTS {{ MATCH {subject} WHERE {self.test('scope_s')} }}"

    def passes(self, node: str) -> str:
        return f"NOT elementId({node}) IN $scope_fence"

    async def fence(
        self, tx: Tx, starts: Sequence[str], region: str, params: Mapping[str, Any]
    ) -> bool:
        result = await tx.run(
            "UNWIND $scope_starts AS scope_start MATCH (s:Party {id: scope_start}) "
            f"CALL (s) {{ {region} }} WITH DISTINCT x WHERE NOT {self.test('x')} "
            "RETURN collect(elementId(x)) AS fence",
            {**params, **self.params, "scope_starts": list(dict.fromkeys(starts))},
        )
        outside = (await result.single(strict=True))["fence"]
        self.params["scope_fence"] = [*self.params["scope_fence"], *outside]
        return bool(outside)


async def _portfolio(tx: Tx, teams: Iterable[str], now: datetime) -> list[str]:
    """What the users at or below the teams are RESPONSIBLE_FOR now."""
    result = await tx.run(
        f"UNWIND $teams AS team MATCH (t:Party {{id: team}}) "
        f"CALL (t) {{ {_DOWN.members('t', SCOPE_DEPTH)} }} "
        f"MATCH (x)-[r:{RelType.RESPONSIBLE_FOR.value}]->(client:Party) "
        f"WHERE {valid_at('r', _NOW)} RETURN collect(DISTINCT client.id) AS anchors",
        {"teams": sorted(set(teams)), _NOW: encode(now)},
    )
    return list((await result.single(strict=True))["anchors"])


async def reach(tx: Tx, scope: Scope | None) -> Reach:
    """What a read in this transaction may see: everything without a scope, without a
    statement; else the scope's part, its anchors found as of the scope's moment."""
    if scope is None:
        return EVERYWHERE
    now = scope.taken_at()
    anchors = {scope.viewer_id, *scope.subtrees}
    if scope.teams:
        anchors.update(await _portfolio(tx, scope.teams, now))
    return InScope(anchors, now)
