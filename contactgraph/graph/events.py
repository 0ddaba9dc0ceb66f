"""The post-commit event bus that feeds live subscriptions: activities, and the process
steps on people's worklists.

Writers publish after their transaction commits; subscribers listen on one
party, or on one user's worklist. An event carries everything a subscriber needs to
decide, computed once by the publisher as of the moment it is published: which parties the
activity reaches (its subjects and every party above them in the default
hierarchy) and, for each, the subject that brought it there. Matching is then
a dictionary lookup per reached party, however many subscribers there are.

`EventBus` is the port; `LocalEventBus` serves one process, and several server
processes share one `RedisEventBus` (redis_events.py), which hands what it reads
to a local bus of its own.

A worklist event names its step's assignee, its one route: a feed on a worklist is
found by that id as an activity's feeds are found by the parties it reaches.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .closure import DEPTH
from .errors import GraphError, LimitExceeded
from .history import ChangeKind
from .model import Activity, ActivityType, Party
from .process_runs import RunStep

log = logging.getLogger("contactgraph.events")


@dataclass(frozen=True, eq=False)  # one event is one object: compared and hashed by identity
class ActivityAdded:
    activity: Activity
    # party id -> the subject that brought the activity to it (itself for a subject)
    reach: Mapping[str, str]
    # the author, the subjects and the parties in `reach`, so feeds resolve them without reads
    parties: Mapping[str, Party] = field(default_factory=dict)
    # what was done to it: recorded, or scheduled, updated, completed or cancelled
    change: ChangeKind = ChangeKind.ACTIVITY_RECORDED


Above = dict[str, list[Party]]  # by party: the parties above it in the default hierarchy


class ActivityRead(dict[str, Party]):
    """What recording an activity read, by party id (its author, subjects and the people
    it plans for), which answers the mutation and names them in its live event without a
    read after the write. Given a `depth`, a store that can read it in the write (from the
    closure) also fills `above`: for each subject, the parties above it in the default
    hierarchy within that many levels as of the write, which the event reaches; None
    where it did not, and the publisher walks up after the commit instead."""

    def __init__(self, depth: int | None = None) -> None:
        super().__init__()
        self.depth = depth
        self.above: Above | None = None

    def closure_depth(self) -> int | None:
        """The depth to read `above` to in the write, where the closure (whose rows go
        DEPTH levels deep) holds it; None where it does not."""
        return self.depth if self.depth is not None and self.depth <= DEPTH else None


class StepChange(enum.Enum):
    """What happened to a step on a worklist (schema/processes.py describes each)."""

    OPENED = "OPENED"
    DONE = "DONE"
    OVERDUE = "OVERDUE"


@dataclass(frozen=True, eq=False)
class WorklistChanged:
    """A step on its assignee's worklist opened, was done, or fell overdue, at `at`."""

    step: RunStep
    change: StepChange
    at: datetime


Event = ActivityAdded | WorklistChanged


def routes(event: Event) -> Iterable[Hashable]:
    """The keys of the feeds an event may concern."""
    if isinstance(event, WorklistChanged):
        assignee = event.step.assignee_id
        return () if assignee is None else (WorklistInterest(assignee).route,)
    return event.reach


@dataclass(frozen=True)
class Interest:
    """What one subscriber of activities listens for."""

    party_id: str
    include_descendants: bool = False
    types: frozenset[ActivityType] = frozenset()

    @property
    def route(self) -> Hashable:
        return self.party_id

    def source(self, event: Event) -> str | None:
        """The subject that brings the event to this subscriber, or None if it does not."""
        if isinstance(event, WorklistChanged):
            return None
        if self.types and event.activity.type not in self.types:
            return None
        if self.include_descendants:
            return event.reach.get(self.party_id)
        return self.party_id if self.party_id in event.activity.subject_ids else None


@dataclass(frozen=True)
class WorklistInterest:
    """One user's worklist: the steps assigned to them."""

    assignee_id: str

    @property
    def route(self) -> Hashable:
        return ("worklist", self.assignee_id)

    def source(self, event: Event) -> str | None:
        """The step's party, for a change on this worklist."""
        if isinstance(event, WorklistChanged) and event.step.assignee_id == self.assignee_id:
            return event.step.party_id
        return None


Interests = Interest | WorklistInterest


class FellBehind(LimitExceeded):
    """A subscriber's backlog passed its bound."""


def fell_behind(backlog: int) -> FellBehind:
    return FellBehind(
        f"this subscriber fell more than {backlog} events behind and was closed; "
        "subscribe again and read the timeline for what it missed"
    )


class Feed:
    """One subscriber's bounded queue of (event, source). When it is full the subscriber
    is too slow: its backlog is dropped and it is told so, instead of the publisher
    waiting or the memory growing."""

    def __init__(self, interest: Interests, max_queue: int) -> None:
        self.interest = interest
        self.max_queue = max_queue
        self._queue: asyncio.Queue[tuple[Event, str] | GraphError] = asyncio.Queue(
            max_queue + 1  # room for the error that ends it
        )
        self.ended = False

    def offer(self, event: Event, source: str) -> bool:
        """Queue an event; False when the feed just overflowed and must be dropped."""
        if self.ended:
            return False
        if self._queue.qsize() >= self.max_queue:
            self.end(fell_behind(self.max_queue))
            return False
        self._queue.put_nowait((event, source))
        return True

    @property
    def depth(self) -> int:
        """Events waiting to be read."""
        return self._queue.qsize()

    def end(self, error: GraphError) -> None:
        """Drop the backlog: the subscriber's next read raises `error`."""
        self.ended = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(error)

    def __aiter__(self) -> AsyncIterator[tuple[Event, str]]:
        return self

    async def __anext__(self) -> tuple[Event, str]:
        item = await self._queue.get()
        if isinstance(item, GraphError):
            raise item
        return item


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise ServiceUnavailable when feeds cannot be served now."""

    async def publish(self, event: Event) -> None:
        """Deliver to every matching subscriber; never waits for a slow one."""

    def subscribe(self, interest: Interests) -> Feed:
        """A feed that receives matching events until it is unsubscribed."""

    def unsubscribe(self, feed: Feed) -> None: ...

    @property
    def subscribers(self) -> int: ...

    @property
    def queued(self) -> int:
        """Events waiting in this process's feeds (the metrics sample it)."""


class LocalEventBus:
    """The in-process bus: feeds indexed by the party (or worklist) they listen on."""

    def __init__(self, max_queue: int = 256) -> None:
        self._max_queue = max_queue
        self._feeds: dict[Hashable, set[Feed]] = defaultdict(set)
        self._count = 0

    @property
    def subscribers(self) -> int:
        return self._count

    @property
    def queued(self) -> int:
        return sum(feed.depth for feeds in self._feeds.values() for feed in feeds)

    async def start(self) -> None:
        """Nothing to connect to: the bus is this process's memory."""

    async def close(self) -> None:
        """Nothing to release."""

    async def ping(self) -> None:
        """Always ready."""

    def subscribe(self, interest: Interests) -> Feed:
        feed = Feed(interest, self._max_queue)
        self._feeds[interest.route].add(feed)
        self._count += 1
        return feed

    def unsubscribe(self, feed: Feed) -> None:
        feeds = self._feeds.get(feed.interest.route)
        if feeds is None or feed not in feeds:
            return
        feeds.discard(feed)
        self._count -= 1
        if not feeds:
            del self._feeds[feed.interest.route]

    def end_all(self, error: GraphError) -> None:
        """End every feed with `error`: their events can no longer be vouched for."""
        for feeds in list(self._feeds.values()):
            for feed in list(feeds):
                feed.end(error)
                self.unsubscribe(feed)

    async def publish(self, event: Event) -> None:
        for route in routes(event):
            for feed in list(self._feeds.get(route, ())):
                source = feed.interest.source(event)
                if source is not None and not feed.offer(event, source):
                    log.warning("dropped a subscriber on %s: it fell behind", route)
                    self.unsubscribe(feed)
