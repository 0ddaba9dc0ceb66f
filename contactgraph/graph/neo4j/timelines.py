"""Timelines on Neo4j: a party's own activities newest first, or a roll-up of everything
below it, read one of two ways by the size of the subtree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..closure import CLOSURE_TYPES, DEPTH
from ..cursors import decode_cursor
from ..model import Rollup, TimelineEntry, TimelinePage, TimelineQuery
from . import cypher
from .cypher import (
    ACTIVITY_MAP,
    EVERYWHERE,
    REACHES,
    WITH_SUBJECTS,
    Reach,
    Tx,
    decode,
    encode,
    valid_at,
)
from .walks import Hierarchy

# Roll-ups over subtrees at least this large scan all activities newest first and keep the
# subtree's, instead of merging the members' activities: measured on 200,000 parties,
# merge 71 / 192 / 2,202 ms and scan 71 / 39 / 15 ms at 4,018 / 10,071 / 100,023 members
SCAN_FROM_MEMBERS = 5_000

# a timeline's filters and cursor on activity a
_ACTIVITY_FILTER = (
    "($types = [] OR a.type IN $types) "
    "AND ($since IS NULL OR a.occurred_at >= datetime($since)) "
    "AND ($until IS NULL OR a.occurred_at < datetime($until)) "
    "AND ($after_time IS NULL OR a.occurred_at < datetime($after_time) "
    "OR (a.occurred_at = datetime($after_time) AND a.id < $after_id))"
)


class _RollupWalks:
    """The Cypher of one roll-up: its members, and whether a subject is one. Over the
    default hierarchy within the closure's depth, for a viewer who sees everything, both
    read the closure (closure.py); otherwise the members are a search down from the root
    and a subject's test a search up from it, both entering only parties inside."""

    def __init__(self, rollup: Rollup, inside: Reach) -> None:
        self.depth = rollup.max_depth
        self.region = Hierarchy(rollup.types, downward=True).members("s", self.depth)
        self.params = {"at": encode(rollup.as_of), "max_depth": self.depth}
        self.root_passes = inside.passes("root")  # an outside root's roll-up is empty
        self.closed = (
            inside is EVERYWHERE
            and frozenset(rollup.types) == CLOSURE_TYPES
            and self.depth <= DEPTH
        )
        if self.closed:
            valid = f"{valid_at('h')} AND h.depth <= $max_depth"
            # the members other than root, at most $enough of them
            self.below = (
                "WITH id, root, COLLECT { MATCH (h:Reach {ancestor: id})"
                f"-[:{REACHES}]->(x:Party) WHERE {valid} "
                "WITH DISTINCT x LIMIT $enough RETURN x } + root AS members "
            )
            self.holds = (
                f"(p = root OR EXISTS {{ MATCH (p)<-[:{REACHES}]-(h:Reach) "
                f"WHERE h.ancestor = root.id AND {valid} }})"
            )
        else:
            down = Hierarchy(rollup.types, downward=True, inside=inside)
            up = Hierarchy(rollup.types, downward=False, inside=inside)
            self.below = (
                f"CALL (root) {{ {down.members('root', self.depth)} LIMIT $enough }} "
                "WITH id, root, collect(x) AS members "
            )
            # root itself, or root is above it within max_depth
            self.holds = f"{inside.passes('p')} AND {up.leads_to('p', 'root', self.depth)}"
        # the subject that brought `a` into root's roll-up: root itself, else the first
        # subject in recorded order that is below it
        self.source = (
            "CALL (root, a) { MATCH (a)-[s:ABOUT]->(p:Party) "
            f"WHERE {self.holds} RETURN p.id AS source ORDER BY p = root DESC, s.position "
            "LIMIT 1 } "
        )

    def merged_or_large(self) -> str:
        """Per root (rows binding id), whether it has at least SCAN_FROM_MEMBERS parties
        below (`large`), and, when it has not, its window: the members' activities merged
        newest first, each once. One walk gives both, where counting then merging took two
        statements and two walks."""
        return (
            f"MATCH (root:Party {{id: id}}) WHERE {self.root_passes} {self.below}"
            "WITH id, root, members, size(members) >= $enough AS large "
            "CALL (root, members, large) { WITH root, members WHERE NOT large "
            "UNWIND members AS x MATCH (x)<-[:ABOUT]-(a:Activity) "
            f"WHERE {_ACTIVITY_FILTER} WITH DISTINCT root, a "
            "ORDER BY a.occurred_at DESC, a.id DESC LIMIT $limit "
            f"{self.source}{WITH_SUBJECTS} "
            f"RETURN collect([{ACTIVITY_MAP}, subjects, source]) AS rows }} "
        )

    def picked_window(self) -> str:
        """Activities already chosen per root ($picked), in the order given."""
        return (
            "MATCH (root:Party {id: id}) UNWIND $picked[id] AS picked "
            f"MATCH (a:Activity {{id: picked}}) {self.source}RETURN a, source"
        )

    async def scan(
        self, tx: Tx, root: str, query: TimelineQuery, params: dict[str, Any]
    ) -> list[str]:
        """One page of root's roll-up read from the time index newest first, keeping what
        reaches root. The index orders by time only, so ties at the page's last instant
        are read in full and ordered by id here."""
        clauses = ["a.occurred_at IS NOT NULL"]
        if query.types:
            clauses.append("a.type IN $types")
        if query.since:
            clauses.append("a.occurred_at >= datetime($since)")
        if query.until:
            clauses.append("a.occurred_at < datetime($until)")
        if query.page.after:
            clauses.append("a.occurred_at <= datetime($after_time)")
            clauses.append("(a.occurred_at < datetime($after_time) OR a.id < $after_id)")
        clauses.append(f"EXISTS {{ MATCH (a)-[:ABOUT]->(p:Party) WHERE {self.holds} }}")
        match = (
            f"MATCH (root:Party {{id: $root}}) WHERE {self.root_passes} "
            f"MATCH (a:Activity) WHERE {' AND '.join(clauses)}"
        )
        found = await tx.run(
            f"{match} RETURN a.id AS id, toString(a.occurred_at) AS at "
            "ORDER BY a.occurred_at DESC LIMIT $limit",
            params | {"root": root},
        )
        rows = [(record["at"], record["id"]) async for record in found]
        if len(rows) == params["limit"]:
            last = rows[-1][0]
            ties = await tx.run(
                f"{match} AND a.occurred_at = datetime($last) "
                "RETURN a.id AS id, toString(a.occurred_at) AS at",
                params | {"root": root, "last": last},
            )
            rows = [row for row in rows if row[0] != last]
            rows += [(record["at"], record["id"]) async for record in ties]
        rows.sort(key=lambda row: (decode(row[0]), row[1]), reverse=True)
        return [activity_id for _, activity_id in rows[: params["limit"]]]


async def timelines(
    tx: Tx, party_ids: Sequence[str], query: TimelineQuery, inside: Reach = EVERYWHERE
) -> dict[str, TimelinePage]:
    after = decode_cursor(query.page.after, 2) if query.page.after else None
    params: dict[str, Any] = {
        "ids": list(dict.fromkeys(party_ids)),
        "types": [t.value for t in query.types],
        "since": encode(query.since) if query.since else None,
        "until": encode(query.until) if query.until else None,
        "after_time": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": query.page.first + 1,
        **inside.params,
    }
    windows: dict[str, list[TimelineEntry]] = {pid: [] for pid in params["ids"]}

    async def fetch(window: str, extra: dict[str, Any]) -> None:
        result = await tx.run(
            f"UNWIND $ids AS id CALL (id) {{ {window} }} "
            f"{WITH_SUBJECTS} RETURN collect([id, {ACTIVITY_MAP}, subjects, source]) AS rows",
            params | extra,
        )
        for root, found, subjects, source in await cypher.collected(result):
            windows[root].append(TimelineEntry(cypher.activity(found, subjects), source))

    if query.rollup is None:
        await fetch(
            f"MATCH (root:Party {{id: id}}) WHERE {inside.test('root')} "
            f"MATCH (root)<-[:ABOUT]-(a:Activity) WHERE {_ACTIVITY_FILTER} WITH root, a "
            "ORDER BY a.occurred_at DESC, a.id DESC LIMIT $limit "
            "RETURN a, root.id AS source",
            {},
        )
    else:
        walks = _RollupWalks(query.rollup, inside)
        params |= walks.params
        await inside.fence(tx, params["ids"], walks.region, params)
        params |= inside.params  # with the fence
        result = await tx.run(
            f"UNWIND $ids AS id CALL (id) {{ {walks.merged_or_large()} "
            "RETURN large, rows } RETURN collect([id, large, rows])",
            params | {"enough": SCAN_FROM_MEMBERS + 1},  # the root is one of its members
        )
        scanned: dict[str, list[str]] = {}
        for root, large, rows in await cypher.collected(result):
            if large:
                scanned[root] = await walks.scan(tx, root, query, params)
            for found, subjects, source in rows:
                windows[root].append(TimelineEntry(cypher.activity(found, subjects), source))
        if scanned:
            await fetch(walks.picked_window(), {"ids": list(scanned), "picked": scanned})
    first = query.page.first
    return {
        pid: TimelinePage(entries[:first], has_next=len(entries) > first)
        for pid, entries in windows.items()
    }
