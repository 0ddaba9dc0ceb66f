"""Per-request dataloaders: every per-parent field becomes one store call per level."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader

from ..graph import schedules
from ..graph.agenda import AgendaQuery
from ..graph.duplicates import DuplicateQuery, Match
from ..graph.hashed import hashed_once
from ..graph.history import ChangePage
from ..graph.identity import Grant
from ..graph.levels import Level
from ..graph.model import (
    Activity,
    Ancestry,
    Category,
    Direction,
    Network,
    Page,
    Party,
    PartyRef,
    Relationship,
    RelType,
    TimelinePage,
    TimelineQuery,
    TreePage,
    TreeReading,
)
from ..graph.opportunities import Opportunity as Deal
from ..graph.opportunity_reads import OpportunityPage, OpportunityQuery
from ..graph.pipelines import Pipeline
from ..graph.process_runs import RunStep
from ..graph.store import GraphStore

Q = TypeVar("Q", bound=Hashable)
V = TypeVar("V")


@hashed_once
@dataclass(frozen=True)
class RelationshipQuery:
    types: tuple[RelType, ...]
    direction: Direction
    as_of: datetime | None


@hashed_once
@dataclass(frozen=True)
class ChildrenQuery:
    types: tuple[RelType, ...]
    as_of: datetime
    reading: TreeReading


@hashed_once
@dataclass(frozen=True)
class DescendantsQuery:
    types: tuple[RelType, ...]
    max_depth: int
    as_of: datetime
    page: Page
    count: bool
    reading: TreeReading
    tell_beyond: bool


@hashed_once
@dataclass(frozen=True)
class NetworkQuery:
    types: tuple[RelType, ...]
    depth: int
    limit: int
    as_of: datetime


@hashed_once
@dataclass(frozen=True)
class AncestorsQuery:
    types: tuple[RelType, ...]
    max_depth: int
    as_of: datetime
    tell_beyond: bool


class GroupedLoader(DataLoader, Generic[Q, V]):
    """Loads (party id, query) keys: one store call per distinct query in a batch."""

    def __init__(
        self,
        fetch: Callable[[Sequence[str], Q], Awaitable[Mapping[str, V]]],
        empty: Callable[[], V],
    ) -> None:
        super().__init__()
        self._fetch = fetch
        self._empty = empty

    async def batch_load_fn(self, keys: list[tuple[str, Q]]) -> list[V]:
        fetched = self.fetched_for(list(dict.fromkeys(query for _, query in keys)))
        ids_by_query: dict[Q, list[str]] = defaultdict(list)
        for party_id, query in keys:
            ids_by_query[fetched[query]].append(party_id)
        queries = list(ids_by_query)
        answers = await asyncio.gather(*(self._fetch(ids_by_query[q], q) for q in queries))
        found = dict(zip(queries, answers, strict=True))
        return [found[fetched[query]].get(party_id, self._empty()) for party_id, query in keys]

    async def read_one(self, party_id: str, query: Q) -> V:
        """One key read now, outside any batch, and remembered as a load of it would be:
        for a read that carries another (graph/carried.py)."""
        value = (await self._fetch([party_id], query)).get(party_id, self._empty())
        self.prime((party_id, query), value)
        return value

    def fetched_for(self, queries: list[Q]) -> dict[Q, Q]:
        """The query each of a batch's queries is fetched by: itself, unless a loader
        answers several with one."""
        return {query: query for query in queries}


class TimelinesLoader(GroupedLoader[TimelineQuery, TimelinePage]):
    """Timelines: the pages of one query asked to read differently (TimelineQuery.whole,
    sources) are read once in a batch, reading what the widest of them reads."""

    def __init__(
        self, fetch: Callable[[Sequence[str], TimelineQuery], Awaitable[Mapping[str, TimelinePage]]]
    ) -> None:
        super().__init__(fetch, lambda: TimelinePage([], has_next=False))

    def fetched_for(self, queries: list[TimelineQuery]) -> dict[TimelineQuery, TimelineQuery]:
        family = {q: replace(q, whole=True, sources=True) for q in queries}
        readings: dict[TimelineQuery, list[TimelineQuery]] = defaultdict(list)
        for query, widest in family.items():
            readings[widest].append(query)
        read = {
            widest: replace(
                widest, whole=any(q.whole for q in asked), sources=any(q.sources for q in asked)
            )
            for widest, asked in readings.items()
        }
        return {q: read[widest] for q, widest in family.items()}


Children = list[tuple[Party | PartyRef, Relationship | None]]


def _covers(wide: TreeReading, narrow: TreeReading) -> bool:
    return (wide.parties or not narrow.parties) and (wide.edges or not narrow.edges)


class ChildrenLoader(GroupedLoader[ChildrenQuery, Children]):
    """Children: one store call per types and instant in a batch, reading what the
    widest of its queries reads, and a load answered by any load of the same party,
    types and instant that reads at least as much. A party can show at two levels of
    one tree (a unit in a page of organizations is also its company's child): split by
    what they read, its loads would cost calls more."""

    def __init__(
        self, fetch: Callable[[Sequence[str], ChildrenQuery], Awaitable[Mapping[str, Children]]]
    ) -> None:
        super().__init__(fetch, list)
        self._widest: dict[tuple[str, tuple[RelType, ...], datetime], tuple[TreeReading, Any]] = {}

    def load(self, key: tuple[str, ChildrenQuery]) -> Any:
        party_id, query = key
        family = (party_id, query.types, query.as_of)
        held = self._widest.get(family)
        if held is not None and _covers(held[0], query.reading):
            return held[1]
        future = super().load(key)
        if held is None or _covers(query.reading, held[0]):
            self._widest[family] = (query.reading, future)
        return future

    def fetched_for(self, queries: list[ChildrenQuery]) -> dict[ChildrenQuery, ChildrenQuery]:
        readings: dict[tuple[tuple[RelType, ...], datetime], list[TreeReading]] = defaultdict(list)
        for query in queries:
            readings[(query.types, query.as_of)].append(query.reading)
        widest = {
            family: TreeReading(
                parties=any(r.parties for r in found), edges=any(r.edges for r in found)
            )
            for family, found in readings.items()
        }
        return {q: replace(q, reading=widest[(q.types, q.as_of)]) for q in queries}


class ByIdLoader(DataLoader, Generic[V]):
    """Loads records by id; a missing id loads as None."""

    def __init__(self, fetch: Callable[[Sequence[str]], Awaitable[Mapping[str, V]]]) -> None:
        super().__init__()
        self._fetch = fetch

    async def batch_load_fn(self, ids: list[str]) -> list[V | None]:
        found = await self._fetch(ids)
        return [found.get(i) for i in ids]

    def prime_all(self, found: Mapping[str, V]) -> None:
        """Records known without a read; an id loaded already keeps what it loaded."""
        for key, value in found.items():
            self.prime(key, value)


async def _agendas(
    store: GraphStore, user_ids: Sequence[str], query: AgendaQuery
) -> dict[str, list[Activity]]:
    """Several users' agendas in one read: the activities on any of them, then each
    user's share."""
    found = await store.agenda(replace(query, people=tuple(user_ids)))
    on = {a.id: set(schedules.people(a)) for a in found}
    return {u: [a for a in found if u in on[a.id]] for u in user_ids}


class Loaders:
    """A request's loaders, each made when a resolver first asks for it: a read uses two
    or three of the twenty-odd, and making them all took 1 % of a small read's CPU."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store

    @cached_property
    def parties(self) -> ByIdLoader[Party]:
        return ByIdLoader(self._store.get_parties)

    @cached_property
    def users(self) -> ByIdLoader[Party]:
        """Authors; this and fiscal_parties load through guard methods."""
        return ByIdLoader(self._store.users)  # type: ignore[attr-defined]

    @cached_property
    def fiscal_parties(self) -> ByIdLoader[Party]:
        return ByIdLoader(self._store.fiscal_parties)  # type: ignore[attr-defined]

    @cached_property
    def categories(self) -> ByIdLoader[Category]:
        return ByIdLoader(self._store.get_categories)

    @cached_property
    def levels(self) -> ByIdLoader[Level]:
        return ByIdLoader(lambda ids: self._store.levels())

    @cached_property
    def grants(self) -> ByIdLoader[list[Grant]]:
        return ByIdLoader(self._store.grants)

    @cached_property
    def relationships(self) -> GroupedLoader[RelationshipQuery, list[Relationship]]:
        return GroupedLoader(
            lambda ids, q: self._store.relationships(ids, q.types, q.direction, q.as_of), list
        )

    @cached_property
    def children(self) -> ChildrenLoader:
        return ChildrenLoader(lambda ids, q: self._store.children(ids, q.types, q.as_of, q.reading))

    @cached_property
    def descendants(self) -> GroupedLoader[DescendantsQuery, TreePage]:
        return GroupedLoader(
            lambda ids, q: self._store.descendants(
                ids, q.types, q.max_depth, q.as_of, q.page, q.count, q.reading, q.tell_beyond
            ),
            lambda: TreePage([], has_next=False, total_count=None),
        )

    @cached_property
    def networks(self) -> GroupedLoader[NetworkQuery, Network]:
        return GroupedLoader(
            lambda ids, q: self._store.neighborhood(ids, q.types, q.depth, q.limit, q.as_of),
            lambda: Network([], [], truncated=False),
        )

    @cached_property
    def ancestors(self) -> GroupedLoader[AncestorsQuery, Ancestry]:
        return GroupedLoader(
            lambda ids, q: self._store.ancestors(ids, q.types, q.max_depth, q.as_of, q.tell_beyond),
            lambda: Ancestry([]),
        )

    @cached_property
    def agendas(self) -> GroupedLoader[AgendaQuery, list[Activity]]:
        return GroupedLoader(lambda ids, q: _agendas(self._store, ids, q), list)

    @cached_property
    def timelines(self) -> TimelinesLoader:
        return TimelinesLoader(self._store.timelines)

    @cached_property
    def history(self) -> GroupedLoader[Page, ChangePage]:
        return GroupedLoader(
            # the guard's, whose `hidden` it decides
            self._store.history,  # type: ignore[arg-type]
            lambda: ChangePage([], has_next=False),
        )

    @cached_property
    def opportunities(self) -> GroupedLoader[OpportunityQuery, OpportunityPage]:
        return GroupedLoader(
            self._store.opportunities_under, lambda: OpportunityPage([], has_next=False)
        )

    @cached_property
    def deal_timelines(self) -> TimelinesLoader:
        return TimelinesLoader(self._store.opportunity_timelines)

    @cached_property
    def deals(self) -> ByIdLoader[Deal]:
        return ByIdLoader(self._store.get_opportunities)

    @cached_property
    def pipelines(self) -> ByIdLoader[Pipeline]:
        return ByIdLoader(self._store.pipelines)

    @cached_property
    def merged_from(self) -> ByIdLoader[list[str]]:
        return ByIdLoader(self._store.merged_from)

    @cached_property
    def process_steps(self) -> ByIdLoader[list[RunStep]]:
        return ByIdLoader(self._store.process_steps)

    @cached_property
    def snapshots(self) -> GroupedLoader[datetime, Party | None]:
        return GroupedLoader(self._store.snapshots, lambda: None)

    @cached_property
    def duplicates(self) -> GroupedLoader[DuplicateQuery, list[Match]]:
        return GroupedLoader(self._store.possible_duplicates, list)
