"""Timeline pages on the embedded store: a party's own, or rolled up from its subtree.

A roll-up page must not sort the subtree's whole history. Over the closure
(see graph/closure.py) two plans answer it. Merging the members' per-party index
ranges costs about 2.5 µs a member; scanning all activities newest first and
keeping the subtree's costs about 3.3 µs a scanned activity, and finds a page
after about page * parties / (members * type share) of them (measured on
200,000 parties and a million activities: at 2,108 members merge 7 ms, scan
15 ms; at 10,070 merge 26 ms, scan 3.6 ms). The plan with the smaller estimate
runs: the scan once members^2 exceed SCAN_COST_RATIO * page * parties / share.
Hierarchy types other than the default ones (or a depth past the closure's)
have no closure: their members are walked first, then both plans read them
as a list.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .. import closure
from ..closure import CLOSURE_TYPES
from ..cursors import decode_cursor
from ..model import (
    Activity,
    ActivityRef,
    ActivityType,
    Page,
    Rollup,
    TimelineEntry,
    TimelinePage,
    TimelineQuery,
)
from ..times import format_instant
from . import activity_search, records, walks
from .rows import stored_instant
from .scopes import EVERYWHERE, Reach

# µs per scanned activity / µs per merged member, as measured above
SCAN_COST_RATIO = 1.3


def _filters(
    query: TimelineQuery, time: str, id_: str, type_: str
) -> tuple[list[str], dict[str, object]]:
    clauses: list[str] = []
    params: dict[str, object] = {"limit": query.page.first + 1}
    if query.types:
        clauses.append(f"{type_} IN (SELECT value FROM json_each(:types))")
        params["types"] = json.dumps([t.value for t in query.types])
    if query.since:
        clauses.append(f"{time} >= :since")
        params["since"] = format_instant(query.since)
    if query.until:
        clauses.append(f"{time} < :until")
        params["until"] = format_instant(query.until)
    if query.search is not None:
        clauses.append(f"+{id_} IN ({activity_search.MATCHING})")
        params["search"] = activity_search.fts_query(query.search)
    if query.page.after:
        clauses.append(f"({time}, {id_}) < (:after_time, :after_id)")
        params["after_time"], params["after_id"] = decode_cursor(query.page.after, 2)
    return clauses, params


@dataclass(frozen=True)
class Owner:
    """Whose own timeline: the rows of a table whose key column names them, in an index
    on (key, time, activity id) that a page reads as one range."""

    table: str
    key: str
    activity: str  # the column of the activity's id


PARTY = Owner("activity_subjects", "party_id", "activity_id")
DEAL = Owner("activities", "opportunity_id", "id")  # migration 21's partial index

# a page's activities (plus one) as (id, time as stored), read from the index that finds
# them: a reader asking for ids and times alone needs no other statement
Found = list[tuple[str, str]]
# a timeline's window: its page's activities, the subject each came from (when asked),
# whether the hierarchy goes on past its depth bound, and its counts by type when asked
Window = tuple[Found, dict[str, str], bool, dict[ActivityType, int] | None]


def own_window(
    conn: sqlite3.Connection, key: str, query: TimelineQuery, owner: Owner = PARTY
) -> Found:
    """One page of a party's (or a deal's) own activities, plus one to tell if more
    follow."""
    clauses, params = _filters(query, "occurred_at", owner.activity, "type")
    where = " AND ".join([f"{owner.key} = :key", *clauses])
    sql = (
        f"SELECT {owner.activity}, occurred_at FROM {owner.table} WHERE {where} "
        f"ORDER BY occurred_at DESC, {owner.activity} DESC LIMIT :limit"
    )
    return [(found, at) for found, at in conn.execute(sql, {**params, "key": key})]


def own(conn: sqlite3.Connection, key: str, query: TimelineQuery, owner: Owner = PARTY) -> Window:
    """The window of an own timeline, each activity brought in by its owner."""
    found = own_window(conn, key, query, owner)
    counted = counts(conn, key, None, query, owner) if query.count else None
    return found, {a: key for a, _ in found}, False, counted


def pages(
    conn: sqlite3.Connection, windows: Mapping[str, Window], query: TimelineQuery
) -> dict[str, TimelinePage]:
    """The timelines of the windows: their activities read whole at once, or by the id
    and time their windows found when the reader asks nothing else
    (TimelineQuery.whole)."""
    first = query.page.first
    activities: Mapping[str, Activity] = (
        records.activities_by_id(conn, {a for w in windows.values() for a, _ in w[0]})
        if query.whole
        else {}
    )
    return {
        key: TimelinePage(
            [
                TimelineEntry(
                    activities[a] if query.whole else ActivityRef(a, stored_instant(at)),
                    came_from.get(a),
                )
                for a, at in found[:first]
            ],
            has_next=len(found) > first,
            beyond=beyond,
            counts_by_type=counted,
        )
        for key, (found, came_from, beyond, counted) in windows.items()
    }


class Subtree:
    """SQL for "is this party the root or below it, and inside" under one roll-up: rows of
    the closure for the default types within its depth, else the members a walk found, as
    a list."""

    def __init__(
        self, root: str, rollup: Rollup, walked: list[str] | None, inside: Reach, beyond: bool
    ) -> None:
        self.beyond = beyond  # parties lie below max_depth, left out
        self.params: dict[str, object] = {
            "root": root,
            "at": format_instant(rollup.as_of),
            "max_depth": rollup.max_depth,
            **inside.params,
        }
        self.walked = walked
        self._inside = inside
        if walked is None:
            self.members = (
                "SELECT descendant_id FROM hierarchy_reach WHERE ancestor_id = :root "
                "AND depth <= :max_depth AND since <= :at AND until > :at "
                f"AND {inside.test('descendant_id')}"
            )
        else:
            self.members = "SELECT value FROM json_each(:members)"
            self.params["members"] = json.dumps(walked)

    @classmethod
    def of(
        cls, conn: sqlite3.Connection, root: str, rollup: Rollup, inside: Reach = EVERYWHERE
    ) -> Subtree:
        """The subtree of a root inside."""
        step = walks.HierarchyStep(rollup.types, True, rollup.as_of)
        if in_closure(rollup, inside):
            past = rollup.tell_beyond and _past_closure(conn, root, rollup, step, inside)
            return cls(root, rollup, None, inside, past)
        beyond: set[str] = set()
        told = beyond if rollup.tell_beyond else None
        members = walks.members(conn, root, step, rollup.max_depth, inside, told)
        return cls(root, rollup, members, inside, root in beyond)

    def size(self, conn: sqlite3.Connection) -> int:
        """The parties below the root (itself not counted): one index range of the
        closure, however large, where a walk visits every level."""
        if self.walked is not None:
            return len(self.walked) - 1
        # `+depth`: read in the primary key's (descendant) order, where DISTINCT is a running
        # count; over the (ancestor, depth) index it took a sort and a row lookup per row
        row = conn.execute(
            "SELECT count(DISTINCT descendant_id) FROM hierarchy_reach "
            "WHERE ancestor_id = :root AND +depth BETWEEN 1 AND :max_depth "
            f"AND since <= :at AND until > :at AND {self._inside.test('descendant_id')}",
            self.params,
        ).fetchone()
        return int(row[0])

    def prefers_scan(self, conn: sqlite3.Connection, query: TimelineQuery) -> bool:
        parties = conn.execute("SELECT coalesce(max(seq), 0) FROM parties").fetchone()[0]
        share = len(query.types) / len(ActivityType) if query.types else 1.0
        if query.search is not None:  # a scan passes over what the search does not match
            share *= activity_search.share(conn, query.search)
            if share == 0:
                return False
        enough = math.ceil(math.sqrt(SCAN_COST_RATIO * (query.page.first + 1) * parties / share))
        if self.walked is not None:
            return len(self.walked) >= enough
        row = conn.execute(
            f"SELECT count(*) FROM ({self.members} LIMIT :enough)",
            {**self.params, "enough": enough},
        ).fetchone()
        return bool(row[0] >= enough)

    def member(self, column: str) -> str:
        if self.walked is None:
            return (
                "EXISTS (SELECT 1 FROM hierarchy_reach h WHERE h.ancestor_id = :root "
                f"AND h.descendant_id = {column} AND h.depth <= :max_depth "
                f"AND h.since <= :at AND h.until > :at) AND {self._inside.test(column)}"
            )
        return f"{column} IN (SELECT value FROM json_each(:members))"


def in_closure(rollup: Rollup, inside: Reach) -> bool:
    """Whether the closure holds the subtree a walk of these types and depth would find."""
    return (
        frozenset(rollup.types) == CLOSURE_TYPES
        and rollup.max_depth <= closure.DEPTH
        and inside.keeps_paths_at(rollup.as_of)
    )


def _past_closure(
    conn: sqlite3.Connection, root: str, rollup: Rollup, step: walks.HierarchyStep, inside: Reach
) -> bool:
    """Whether a child of the closure's deepest level under root (at max_depth, one seek)
    lies deeper than max_depth: none of its rows from root is within it."""
    at = format_instant(rollup.as_of)
    valid = "since <= :at AND until > :at"
    deepest = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT descendant_id FROM hierarchy_reach "
            f"WHERE ancestor_id = :root AND depth = :depth AND {valid}",
            {"root": root, "depth": rollup.max_depth, "at": at},
        )
    ]
    if not deepest:
        return False
    children = inside.keep(conn, {there for _, there, _ in step.edges(conn, deepest)})
    within = {
        row[0]
        for row in conn.execute(
            "SELECT descendant_id FROM hierarchy_reach WHERE ancestor_id = :root "
            "AND descendant_id IN (SELECT value FROM json_each(:children)) "
            f"AND depth <= :depth AND {valid}",
            {
                "root": root,
                "depth": rollup.max_depth,
                "at": at,
                "children": json.dumps(list(children)),
            },
        )
    }
    return bool(children - within - {root})


def rollup_window(conn: sqlite3.Connection, subtree: Subtree, query: TimelineQuery) -> Found:
    """One roll-up page, plus one, each activity once however many of its subjects are in
    the subtree."""
    if subtree.prefers_scan(conn, query):
        clauses, params = _filters(query, "a.occurred_at", "a.id", "a.type")
        where = " AND ".join(
            [
                *clauses,
                "EXISTS (SELECT 1 FROM activity_subjects s WHERE s.activity_id = a.id "
                f"AND {subtree.member('s.party_id')})",
            ]
        )
        sql = (
            "SELECT a.id, a.occurred_at FROM activities a INDEXED BY activities_time "
            f"WHERE {where} ORDER BY a.occurred_at DESC, a.id DESC LIMIT :limit"
        )
    else:
        clauses, params = _filters(query, "s.occurred_at", "s.activity_id", "s.type")
        where = " AND ".join([f"s.party_id IN ({subtree.members})", *clauses])
        sql = (
            "SELECT DISTINCT s.activity_id, s.occurred_at "
            f"FROM activity_subjects s WHERE {where} "
            "ORDER BY s.occurred_at DESC, s.activity_id DESC LIMIT :limit"
        )
    return [(found, at) for found, at in conn.execute(sql, {**subtree.params, **params})]


def sources(
    conn: sqlite3.Connection, subtree: Subtree, root: str, activity_ids: Sequence[str]
) -> dict[str, str]:
    """For each activity, the subject that brought it into the root's roll-up."""
    rows = conn.execute(
        "SELECT s.activity_id, s.party_id FROM activity_subjects s "
        "WHERE s.activity_id IN (SELECT value FROM json_each(:activities)) "
        f"AND {subtree.member('s.party_id')} ORDER BY s.position",
        {**subtree.params, "activities": json.dumps(list(activity_ids))},
    )
    found: dict[str, list[str]] = defaultdict(list)
    for activity_id, party_id in rows:
        found[activity_id].append(party_id)
    return {a: root if root in subjects else subjects[0] for a, subjects in found.items()}


def counts(
    conn: sqlite3.Connection,
    key: str,
    subtree: Subtree | None,
    query: TimelineQuery,
    owner: Owner = PARTY,
) -> dict[ActivityType, int]:
    """Every activity of the timeline the filters keep (the cursor aside), by type, each
    once: the party's (or deal's) index range, or its subtree members' ranges, read
    whole, so the cost grows with the activities counted."""
    whole = replace(query, page=Page(query.page.first))
    clauses, params = _filters(whole, "s.occurred_at", f"s.{owner.activity}", "s.type")
    if subtree is None:
        clauses.append(f"s.{owner.key} = :key")
        params["key"] = key
        counted = "count(*)"
    else:
        clauses.append(f"s.party_id IN ({subtree.members})")
        params.update(subtree.params)
        counted = "count(DISTINCT s.activity_id)"  # an activity about two members once
    sql = (
        f"SELECT s.type, {counted} FROM {owner.table} s "
        f"WHERE {' AND '.join(clauses)} GROUP BY s.type"
    )
    return {ActivityType(t): n for t, n in conn.execute(sql, params)}
