"""The embedded store's walks over the graph as of a date: a party's relationships and
children, its descendants and ancestors (the hierarchy), its network and the shortest path
between two parties; every party on them inside the reader's scope."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from .. import rules
from ..carried import waiting
from ..cursors import cursor_depth, decode_cursor
from ..model import (
    WHOLE_ROWS,
    Ancestry,
    Direction,
    Network,
    Page,
    Party,
    PartyRef,
    Path,
    Relationship,
    RelType,
    Rollup,
    TreePage,
    TreeReading,
    display_order,
)
from ..times import format_instant
from . import closure_pages, records, scopes, timelines, walks
from .accounts import SqliteAccounts
from .rows import REL_COLUMNS, relationship_from_row


class SqliteTraversals(SqliteAccounts):
    async def relationships(
        self,
        party_ids: Sequence[str],
        types: Sequence[RelType],
        direction: Direction,
        as_of: datetime | None,
    ) -> dict[str, list[Relationship]]:
        ends = {
            Direction.OUTGOING: ("from_id",),
            Direction.INCOMING: ("to_id",),
            Direction.BOTH: ("from_id", "to_id"),
        }[direction]

        carried = waiting()

        def work(conn: sqlite3.Connection) -> dict[str, list[Relationship]]:
            inside = self._inside(conn)
            records.carry(conn, inside, carried)
            edges = walks.edges_at(conn, party_ids, [(t, e) for t in types for e in ends], as_of)
            allowed = inside.keep(conn, (p for _, rel in edges for p in (rel.from_id, rel.to_id)))
            found: dict[str, list[Relationship]] = defaultdict(list)
            for anchor, rel in edges:
                if rel.from_id in allowed and rel.to_id in allowed:
                    found[anchor].append(rel)
            return found

        return await self._read(work)

    async def role_holders(
        self, unit_ids: Sequence[str], as_of: datetime
    ) -> dict[str, list[tuple[str, str]]]:
        def work(conn: sqlite3.Connection) -> dict[str, list[tuple[str, str]]]:
            rows = walks.roles_at(conn, unit_ids, as_of)
            allowed = self._inside(conn).keep(conn, (p for row in rows for p in row[:2]))
            found: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for unit, holder, role in rows:
                if unit in allowed and holder in allowed:
                    found[unit].append((holder, role))
            return found

        return await self._read(work)

    async def children(
        self,
        parent_ids: Sequence[str],
        types: Sequence[RelType],
        as_of: datetime,
        reading: TreeReading = WHOLE_ROWS,
    ) -> dict[str, list[tuple[Party | PartyRef, Relationship | None]]]:
        """Whole parties and edges only when `reading` asks for them: decoding a large
        organization's hundreds of members costs more than the statements that find them."""
        forward, backward = rules.walk_directions(types, downward=True)
        spec = [(t, "from_id") for t in forward] + [(t, "to_id") for t in backward]

        carried = waiting()

        def work(
            conn: sqlite3.Connection,
        ) -> dict[str, list[tuple[Party | PartyRef, Relationship | None]]]:
            inside = self._inside(conn)
            records.carry(conn, inside, carried)
            edges: list[tuple[str, str, Relationship | None]]
            named: dict[str, PartyRef] = {}
            if reading.edges:
                edges = [
                    (parent, walks.other_end(rel, parent), rel)
                    for parent, rel in walks.edges_at(conn, parent_ids, spec, as_of)
                ]
            else:
                ends = walks.named_ends_at(conn, parent_ids, spec, as_of)
                edges = [(parent, ref.id, None) for parent, ref in ends]
                named = {ref.id: ref for _, ref in ends}
            edges = inside.keep_edges(conn, edges)
            wanted = [child for _, child, _ in edges]
            parties: Mapping[str, Party | PartyRef] = named
            if reading.parties:
                parties = records.parties_by_id(conn, wanted)
            elif reading.edges:
                parties = records.refs_by_id(conn, wanted)
            found: dict[str, list[tuple[Party | PartyRef, Relationship | None]]] = defaultdict(list)
            for parent, child, rel in edges:
                found[parent].append((parties[child], rel))
            for items in found.values():
                items.sort(key=lambda item: display_order(item[0]))
            return found

        return await self._read(work)

    async def descendants(
        self,
        root_ids: Sequence[str],
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
        page: Page,
        count: bool,
        reading: TreeReading = WHOLE_ROWS,
        tell_beyond: bool = False,
    ) -> dict[str, TreePage]:
        step = walks.HierarchyStep(types, True, as_of)
        cursor = decode_cursor(page.after, 2) if page.after else None
        after = (cursor_depth(cursor[0], max_depth), cursor[1]) if cursor else None

        rollup = Rollup(tuple(types), as_of, max_depth, tell_beyond=tell_beyond)

        def tree(conn: sqlite3.Connection, root: str, inside: scopes.Reach) -> TreePage:
            if timelines.in_closure(rollup, inside):  # a page and a count, walking nothing
                rows, named = closure_pages.descendants(
                    conn, root, rollup, after, page.first + 1, inside, reading
                )
                # as a walk, told of parties past the ceiling when it reaches the last level
                last = count or len(rows) <= page.first
                told = replace(rollup, tell_beyond=tell_beyond and last)
                subtree = timelines.Subtree.of(conn, root, told, inside)
                total, beyond = subtree.size(conn) if count else None, subtree.beyond
            else:
                rows, total, beyond = walks.descendants(
                    conn, root, step, max_depth, after, page.first + 1, count, inside, tell_beyond
                )
                named = None
            found = records.below(conn, rows[: page.first], reading, named)
            return TreePage(found, len(rows) > page.first, total, beyond)

        carried = waiting()

        def work(conn: sqlite3.Connection) -> dict[str, TreePage]:
            inside = self._inside(conn)
            records.carry(conn, inside, carried)
            kept = inside.keep(conn, root_ids)
            outside = TreePage([], has_next=False, total_count=0 if count else None)
            return {
                root: tree(conn, root, inside) if root in kept else outside
                for root in dict.fromkeys(root_ids)
            }

        return await self._walk(work)

    async def ancestors(
        self,
        party_ids: Sequence[str],
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
        tell_beyond: bool = False,
    ) -> dict[str, Ancestry]:
        step = walks.HierarchyStep(types, False, as_of)

        def work(conn: sqlite3.Connection) -> dict[str, Ancestry]:
            inside = self._inside(conn)
            kept = inside.keep(conn, party_ids)
            starts = [p for p in dict.fromkeys(party_ids) if p in kept]
            beyond: set[str] = set()
            found = walks.ancestors(
                conn, starts, step, max_depth, inside, beyond if tell_beyond else None
            )
            rows = [row for start in found.values() for row in start]
            built = iter(records.tree_rows(conn, rows))
            kept_rows = {
                start: Ancestry([next(built) for _ in reached], start in beyond)
                for start, reached in found.items()
            }
            return {start: kept_rows.get(start, Ancestry([])) for start in party_ids}

        return await self._walk(work)

    async def neighborhood(
        self,
        root_ids: Sequence[str],
        types: Sequence[RelType],
        depth: int,
        limit: int,
        as_of: datetime,
    ) -> dict[str, Network]:
        def network(conn: sqlite3.Connection, root: str, inside: scopes.Reach) -> Network:
            distance = walks.within(conn, root, types, depth, limit, as_of, inside)
            ranked = sorted(distance, key=lambda i: (distance[i], i))
            kept = ranked[:limit]
            parties = records.parties_by_id(conn, kept)
            rows = conn.execute(
                f"SELECT {REL_COLUMNS} FROM relationships WHERE from_id {records.IN_LIST} "
                f"AND to_id {records.IN_LIST} AND type {records.IN_LIST} "
                "AND since <= ? AND (until IS NULL OR until > ?) "
                "ORDER BY since, id",
                (
                    records.bound_list(kept),
                    records.bound_list(kept),
                    records.bound_list(t.value for t in types),
                    *[format_instant(as_of)] * 2,
                ),
            )
            return Network(
                [parties[i] for i in kept if i in parties],
                [relationship_from_row(row) for row in rows],
                truncated=len(ranked) > limit,
            )

        def work(conn: sqlite3.Connection) -> dict[str, Network]:
            inside = self._inside(conn)
            kept = inside.keep(conn, root_ids)
            return {
                root: network(conn, root, inside) if root in kept else Network([], [], False)
                for root in dict.fromkeys(root_ids)
            }

        return await self._walk(work)

    async def shortest_path(
        self,
        from_id: str,
        to_id: str,
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
    ) -> Path | None:
        def work(conn: sqlite3.Connection) -> Path | None:
            inside = self._inside(conn)
            ends = scopes.parties_inside(
                conn, inside, records.parties_by_id(conn, [from_id, to_id])
            )
            rules.found(ends, [from_id, to_id])
            steps = walks.meet(conn, from_id, to_id, types, max_depth, as_of, inside)
            if steps is None:
                return None
            nodes, rels = steps
            parties = records.parties_by_id(conn, nodes)
            return Path([parties[i] for i in nodes], rels)

        return await self._walk(work)
