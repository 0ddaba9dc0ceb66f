"""Timelines on Neo4j: a party's own activities newest first, or a roll-up of everything
below it, read one of two ways by the size of the subtree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..closure import CLOSURE_TYPES, DEPTH
from ..model import (
    ActivityRef,
    ActivityType,
    Rollup,
    TimelineEntry,
    TimelinePage,
    TimelineQuery,
)
from . import activity_search, carrying, cypher
from .activity_search import ACTIVITY_FILTER
from .cypher import (
    ACTIVITY_MAP,
    EVERYWHERE,
    REACHES,
    WITH_SUBJECTS,
    Reach,
    Tx,
    encode,
    valid_at,
)
from .walks import Hierarchy, closure_bounds, in_closure, ranked, rows_of

# A roll-up page either merges its members' activities (about 11 µs a member on 200,000
# parties) or scans activities newest first through the time index, keeping those with a
# subject among the members (about 1.5 µs a scanned activity, and a page takes about
# page * parties / (members * type share) of them): the scan runs once members^2 pass
# SCAN_COST_RATIO * page * parties / share, as on the embedded store. A scan of one type
# reads the (type, time) index, that type's activities alone: its share is 1.
SCAN_COST_RATIO = 0.14
# Up to this many members the scan tests each subject against the members' list (reading
# a member costs about 1.8 µs); past it, against the closure (or a walk up), about 15 µs a
# scanned activity. Measured on 200,000 parties: at 10,071 members the list 22 ms, the
# closure 30-37; at 100,023 the closure 15-23 ms, the list 180-260.
MEMBERS_LISTED = 15_000


def _one_type(query: TimelineQuery) -> bool:
    """A scan of one activity type reads the (type, time) index: that type's activities
    alone, newest first."""
    return len(query.types) == 1


def _scan_order(query: TimelineQuery) -> str:
    """The order a scan reads in, as its index gives it (equal types, then time)."""
    return "a.type DESC, a.occurred_at DESC" if _one_type(query) else "a.occurred_at DESC"


def _scanned(query: TimelineQuery) -> list[str]:
    """A scan's filters on activity a: only those it asks for, so that the time index
    still reads newest first."""
    return ["a.occurred_at IS NOT NULL", *_filters(query)]


def _filters(query: TimelineQuery) -> list[str]:
    """The filters on activity a that the query asks for, and no others: a merge tests
    them on each of its members' activities."""
    clauses = []
    if _one_type(query):
        clauses.append("a.type = $type")
    elif query.types:
        clauses.append("a.type IN $types")
    if query.since:
        clauses.append("a.occurred_at >= datetime($since)")
    if query.until:
        clauses.append("a.occurred_at < datetime($until)")
    if query.search is not None:
        clauses.append(activity_search.HAS_TERMS)
    if query.page.after:
        clauses.append("a.occurred_at <= datetime($after_time)")
        clauses.append("(a.occurred_at < datetime($after_time) OR a.id < $after_id)")
    return clauses


class _Reading:
    """What a page's rows carry of each activity (a): all of it with its subjects in
    order, or, when the reader asks nothing else (TimelineQuery.whole), its id and time:
    no subjects expanded, no text read or decoded; and in a roll-up, its source only when
    asked (TimelineQuery.sources), since it is found from the subjects."""

    def __init__(self, query: TimelineQuery) -> None:
        self.whole = query.whole
        self.sources = query.sources

    def columns(self, subjects: str) -> str:
        """The two columns of an activity, its subjects' ids in variable `subjects`."""
        return f"{ACTIVITY_MAP}, {subjects}" if self.whole else "a.id, toString(a.occurred_at)"

    def entry(self, found: Any, more: Any, source: str | None) -> TimelineEntry:
        if self.whole:
            return TimelineEntry(cypher.activity(found, more), source)
        # times are stored in UTC, whose text ends in Z: read as it is, three calls less
        # an entry than decode (fifty organizations' five newest are 250 a request)
        return TimelineEntry(ActivityRef(found, datetime.fromisoformat(more)), source)


class _RollupWalks:
    """The Cypher of one roll-up: its members, and whether a subject is one. Over the
    default hierarchy within the closure's depth, for a viewer who sees everything, both
    read the closure (closure.py); otherwise the members are a search down from the root
    and a subject's test a search up from it, both entering only parties inside."""

    def __init__(self, rollup: Rollup, inside: Reach) -> None:
        self.depth = rollup.max_depth
        # the region a scope fences: one level past the roll-up when `past` looks there
        self.region = Hierarchy(rollup.types, downward=True).members(
            "s", self.depth + rollup.tell_beyond
        )
        self.params = {"at": encode(rollup.as_of), "max_depth": self.depth}
        self.root_passes = inside.passes("root")  # an outside root's roll-up is empty
        self.closed = (
            inside is EVERYWHERE
            and frozenset(rollup.types) == CLOSURE_TYPES
            and self.depth <= DEPTH
        )
        if self.closed:
            self.params |= closure_bounds(self.depth)
            valid = f"{valid_at('h')} AND h.depth <= $max_depth"
            # the members' ids, distinct, from the ranked index alone (a row's rank is its
            # depth then its descendant's id), up to $listed of them (more: large), with no
            # row, edge or party read; a merge reads the rows again for the parties (the
            # index read twice cost less than a seek of each party by its id)
            self.below = (
                f"WITH id, root, COLLECT {{ MATCH (h:Reach) {ranked('h')} WHERE h.ancestor = id "
                f"AND h.rank < $below AND {in_closure('h')} "
                "RETURN DISTINCT substring(h.rank, 2) AS x LIMIT $listed } AS listed "
                "WITH id, root, listed + id AS listed, size(listed) >= $listed AS large, "
                "null AS members "
            )
            self.merging = (
                f"MATCH (h:Reach) {ranked('h')} WHERE h.ancestor = root.id AND h.rank < $below "
                f"AND {in_closure('h')} MATCH (h)-[:{REACHES}]->(x) RETURN x "
                "UNION ALL RETURN root AS x"
            )
            self.holds = (
                f"(p = root OR EXISTS {{ MATCH (p)<-[:{REACHES}]-(h:Reach) "
                f"WHERE h.ancestor = root.id AND {valid} }})"
            )
            past = Hierarchy(rollup.types, downward=True).past_closure("root.id")
            self.every_member = (
                f"WITH id, root, COLLECT {{ MATCH (h:Reach)-[:{REACHES}]->(x:Party) "
                f"WHERE {rows_of('h', 'id')} AND {valid} RETURN DISTINCT x }} + root AS members "
            )
        else:
            down = Hierarchy(rollup.types, downward=True, inside=inside)
            up = Hierarchy(rollup.types, downward=False, inside=inside)
            self.below = (
                f"CALL (root) {{ {down.members('root', self.depth)} LIMIT $listed }} "
                "WITH id, root, collect(x) AS members "
                "WITH id, root, members, [x IN members | x.id] AS listed, "
                "size(members) >= $listed AS large "
            )
            self.merging = "UNWIND members AS x RETURN x"
            # root itself, or root is above it within max_depth
            self.holds = f"{inside.passes('p')} AND {up.leads_to('p', 'root', self.depth)}"
            past = down.past("root", self.depth)
            self.every_member = (
                f"CALL (root) {{ {down.members('root', self.depth)} }} "
                "WITH id, root, collect(x) AS members "
            )
        # whether parties lie past the bound, when asked (a seek over the closure, else a
        # search of the whole subtree one level deeper)
        self.past = past if rollup.tell_beyond else "RETURN false AS beyond"
        # the subject that brought `a` into root's roll-up: root itself, else the first
        # subject in recorded order that is below it
        self.source = (
            "CALL (root, a) { MATCH (a)-[s:ABOUT]->(p:Party) "
            f"WHERE {self.holds} RETURN p.id AS source ORDER BY p = root DESC, s.position "
            "LIMIT 1 } "
        )

    def window(self, filters: str, order: str, reading: _Reading) -> str:
        """Per root (rows binding id, and `enough`), its window, merged from its members'
        activities when it has fewer than `enough`, else scanned keeping those with a
        subject among its members (both kept by `filters`); or `large`, when it has
        MEMBERS_LISTED or more, for `scan` to read. One walk (or closure range) for all."""
        # an activity's source: root when it is a subject, else its first subject in
        # recorded order among the members (the merge's and the scan's alike); ABOUT edges
        # lead from activities to parties only, so their ends' labels go untested
        about = (
            "CALL (a) { MATCH (a)-[s:ABOUT]->(subject) WITH subject ORDER BY s.position "
            "RETURN collect(subject.id) AS about } "
        )
        source = (
            "CASE WHEN root.id IN about THEN root.id ELSE head([y IN about WHERE y IN listed]) END"
        )
        page = (
            f"{about if reading.whole or reading.sources else ''}RETURN collect(["
            f"{reading.columns('about')}, {source if reading.sources else 'null'}])"
        )
        return (
            f"MATCH (root:Party {{id: id}}) WHERE {self.root_passes} {self.below}"
            "WITH id, root, listed, members, large, CASE WHEN large THEN null "
            "WHEN size(listed) < enough THEN 'merge' ELSE 'scan' END AS plan "
            # (distinct activities by themselves: with root and the members' list beside
            # them, each row hashed the list)
            "CALL (root, listed, members, plan) { WITH root, listed, members "
            f"WHERE plan = 'merge' CALL (root, members) {{ CALL (root, members) "
            f"{{ {self.merging} }} MATCH (x)<-[:ABOUT]-(a) WHERE {filters} WITH DISTINCT a "
            "ORDER BY a.occurred_at DESC, a.id DESC LIMIT $limit RETURN a } "
            f"{page} AS rows }} "
            # (a scanned activity's subjects tested by element id: reading each one's id
            # cost 1.7 µs a subject, more than reading the members' parties once)
            "CALL (root, listed, members, plan) { WITH root, listed, members "
            "WHERE plan = 'scan' WITH root, listed, COLLECT { CALL (root, members) "
            f"{{ {self.merging} }} RETURN elementId(x) }} AS wanted "
            f"MATCH (a:Activity) WHERE a.occurred_at IS NOT NULL AND {filters} "
            "AND EXISTS { MATCH (a)-[:ABOUT]->(p) "
            "WHERE elementId(p) IN wanted } WITH root, listed, a "
            f"ORDER BY {order}, a.id DESC LIMIT $limit {page} AS found }} "
        )

    def counted(self) -> str:
        """Per root (rows binding id), every activity of its members once, by type."""
        return (
            f"MATCH (root:Party {{id: id}}) WHERE {self.root_passes} {self.every_member}"
            "UNWIND members AS x MATCH (x)<-[:ABOUT]-(a:Activity) "
            f"WHERE {ACTIVITY_FILTER} WITH DISTINCT a "
        )

    def picked_window(self, reading: _Reading) -> str:
        """Activities already chosen per root ($picked), in the order given."""
        source = f"{self.source}RETURN a, source" if reading.sources else "RETURN a, null AS source"
        return (
            "MATCH (root:Party {id: id}) UNWIND $picked[id] AS picked "
            f"MATCH (a:Activity {{id: picked}}) {source}"
        )

    async def scan(
        self, tx: Tx, root: str, query: TimelineQuery, params: dict[str, Any]
    ) -> list[str]:
        """One page of root's roll-up read from the time index newest first, keeping what
        reaches root. The index orders by time only, so ties at the page's last instant
        are read in full and ordered by id here."""
        clauses = _scanned(query)
        clauses.append(f"EXISTS {{ MATCH (a)-[:ABOUT]->(p:Party) WHERE {self.holds} }}")
        match = (
            f"MATCH (root:Party {{id: $root}}) WHERE {self.root_passes} "
            f"MATCH (a:Activity) WHERE {' AND '.join(clauses)}"
        )
        return await activity_search.newest(tx, match, params | {"root": root}, _scan_order(query))


class _Windows:
    """The pages of a batch of timelines, filled by the reads of one transaction."""

    def __init__(self, tx: Tx, ids: Sequence[str], query: TimelineQuery, inside: Reach) -> None:
        self.tx = tx
        self.query = query
        self.inside = inside
        self.reading = _Reading(query)
        self.params: dict[str, Any] = {
            **activity_search.filter_params(query),
            "ids": list(dict.fromkeys(ids)),
            "type": query.types[0].value if _one_type(query) else None,
            **inside.params,
        }
        self.entries: dict[str, list[TimelineEntry]] = {i: [] for i in self.params["ids"]}
        self.beyond: set[str] = set()  # roll-ups whose hierarchy goes on below their bound

    async def fetch(self, window: str, extra: dict[str, Any]) -> None:
        """Per id, the activities `window` (rows binding a and source) finds."""
        subjects = WITH_SUBJECTS if self.reading.whole else ""
        read = await carrying.collected(
            self.tx,
            f"UNWIND $ids AS id CALL (id) {{ {window} }} {subjects}",
            f"collect([id, {self.reading.columns('subjects')}, source])",
            self.params | extra,
            self.inside,
        )
        for key, found, more, source in read:
            self.entries[key].append(self.reading.entry(found, more, source))

    async def own(
        self, activities: str, order: str = "a.occurred_at DESC", counted: str | None = None
    ) -> dict[str, TimelinePage]:
        """Own timelines: per id, the activities `activities` (rows binding id and a,
        filtered) finds, newest first (in `order`, then by id), each brought in by its
        owner; counted by `counted` when it reads them differently."""
        await self.fetch(
            f"{activities}WITH id, a ORDER BY {order}, a.id DESC LIMIT $limit "
            "RETURN a, id AS source",
            {},
        )
        return await self.pages(counted or activities)

    async def pages(self, counted: str) -> dict[str, TimelinePage]:
        """The pages found, counted by `counted` when the query counts."""
        by_type = await _counts(self.tx, counted, self.params) if self.query.count else {}
        first = self.query.page.first
        return {
            key: TimelinePage(
                found[:first], len(found) > first, key in self.beyond, by_type.get(key)
            )
            for key, found in self.entries.items()
        }


async def deal_timelines(
    tx: Tx, deal_ids: Sequence[str], query: TimelineQuery, seen: str, inside: Reach
) -> dict[str, TimelinePage]:
    """The timelines of deals (o) that pass `seen`: the activities linked to each, one
    range of the (opportunity, time) index, read newest first and stopped after the page
    (an order that names the index's columns from its first, so the planner keeps the
    index's order); counted with the deal tested once, not per activity."""
    deal = f"MATCH (o:Opportunity {{id: id}}) WHERE {seen}"
    # a time to seek: the (opportunity, time) index answers only with both given
    linked = "a.opportunity_id = id AND a.occurred_at IS NOT NULL"
    counted = (  # by the (opportunity, type, time) index: types and times from it alone
        f"CALL (id) {{ {deal} RETURN count(o) AS found }} WITH id WHERE found > 0 "
        "MATCH (a:Activity) USING INDEX a:Activity(opportunity_id, type, occurred_at) "
        f"WHERE {linked} AND a.type IS NOT NULL AND {ACTIVITY_FILTER} "
    )
    return await _Windows(tx, deal_ids, query, inside).own(
        f"WITH id WHERE EXISTS {{ {deal} }} MATCH (a:Activity) USING INDEX "
        f"a:Activity(opportunity_id, occurred_at) WHERE {linked} AND {ACTIVITY_FILTER} ",
        "a.opportunity_id DESC, a.occurred_at DESC",
        counted,
    )


async def timelines(
    tx: Tx, party_ids: Sequence[str], query: TimelineQuery, inside: Reach = EVERYWHERE
) -> dict[str, TimelinePage]:
    batch = _Windows(tx, party_ids, query, inside)
    params = batch.params
    filters = " AND ".join(_filters(query)) or "true"
    if query.rollup is None:
        # the page tests the filters asked, the count all of them but the cursor (ABOUT
        # edges come from activities only: their ends' labels go untested)
        own = (
            f"MATCH (root:Party {{id: id}}) WHERE {inside.test('root')} MATCH (root)<-[:ABOUT]-(a) "
        )
        return await batch.own(f"{own}WHERE {filters} ", counted=f"{own}WHERE {ACTIVITY_FILTER} ")
    walks = _RollupWalks(query.rollup, inside)
    params |= walks.params
    await inside.fence(tx, params["ids"], walks.region, params)
    params |= inside.params  # with the fence
    # a scan reads the share of activities of the types asked, or that type alone
    share = len(query.types) / len(ActivityType) if len(query.types) > 1 else 1.0
    read = await carrying.collected(
        tx,
        "CALL () { MATCH (q:Party) RETURN count(q) AS parties } "
        "WITH toInteger(ceil(sqrt($ratio * $limit * parties / $share))) AS enough "
        "UNWIND $ids AS id CALL (id, enough) "
        f"{{ {walks.window(filters, _scan_order(query), batch.reading)}"
        "RETURN large, rows + found AS rows } "
        f"CALL (id) {{ MATCH (root:Party {{id: id}}) CALL (root) {{ {walks.past} }} "
        "RETURN beyond } ",
        "collect([id, large, rows, beyond])",
        params | {"ratio": SCAN_COST_RATIO, "share": share, "listed": MEMBERS_LISTED},
        inside,
    )
    scanned: dict[str, list[str]] = {}
    for root, large, rows, past in read:
        if past:
            batch.beyond.add(root)
        if large:
            scanned[root] = await walks.scan(tx, root, query, params)
        for found, more, source in rows:
            batch.entries[root].append(batch.reading.entry(found, more, source))
    if scanned:
        await batch.fetch(
            walks.picked_window(batch.reading), {"ids": list(scanned), "picked": scanned}
        )
    return await batch.pages(walks.counted())


async def _counts(
    tx: Tx, activities: str, params: dict[str, Any]
) -> dict[str, dict[ActivityType, int]]:
    """Per root, every activity `activities` (rows binding id and a) finds, by type: the
    filters without the cursor, all of them read."""
    result = await tx.run(
        f"UNWIND $ids AS id CALL (id) {{ {activities}RETURN a.type AS type, count(*) AS n }} "
        "RETURN collect([id, type, n])",
        params | {"after_time": None, "after_id": None},
    )
    found: dict[str, dict[ActivityType, int]] = {pid: {} for pid in params["ids"]}
    for pid, kind, n in await cypher.collected(result):
        found[pid][ActivityType(kind)] = n
    return found
