"""The post-commit event bus that feeds live activity subscriptions.

Writers publish after their transaction commits; subscribers listen on one
party. An event carries everything a subscriber needs to decide, computed
once by the publisher as of the moment it is published: which parties the
activity reaches (its subjects and every party above them in the default
hierarchy) and, for each, the subject that brought it there. Matching is then
a dictionary lookup per reached party, however many subscribers there are.

`EventBus` is the port; `LocalEventBus` serves one process, and several server
processes share one `RedisEventBus` (redis_events.py), which hands what it reads
to a local bus of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .errors import GraphError, LimitExceeded
from .history import ChangeKind
from .model import Activity, ActivityType, Party

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


@dataclass(frozen=True)
class Interest:
    """What one subscriber listens for."""

    party_id: str
    include_descendants: bool = False
    types: frozenset[ActivityType] = frozenset()

    def source(self, event: ActivityAdded) -> str | None:
        """The subject that brings the event to this subscriber, or None if it does not."""
        if self.types and event.activity.type not in self.types:
            return None
        if self.include_descendants:
            return event.reach.get(self.party_id)
        return self.party_id if self.party_id in event.activity.subject_ids else None


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

    def __init__(self, interest: Interest, max_queue: int) -> None:
        self.interest = interest
        self.max_queue = max_queue
        self._queue: asyncio.Queue[tuple[ActivityAdded, str] | GraphError] = asyncio.Queue(
            max_queue + 1  # room for the error that ends it
        )
        self.ended = False

    def offer(self, event: ActivityAdded, source: str) -> bool:
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

    def __aiter__(self) -> AsyncIterator[tuple[ActivityAdded, str]]:
        return self

    async def __anext__(self) -> tuple[ActivityAdded, str]:
        item = await self._queue.get()
        if isinstance(item, GraphError):
            raise item
        return item


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise ServiceUnavailable when feeds cannot be served now."""

    async def publish(self, event: ActivityAdded) -> None:
        """Deliver to every matching subscriber; never waits for a slow one."""

    def subscribe(self, interest: Interest) -> Feed:
        """A feed that receives matching events until it is unsubscribed."""

    def unsubscribe(self, feed: Feed) -> None: ...

    @property
    def subscribers(self) -> int: ...

    @property
    def queued(self) -> int:
        """Events waiting in this process's feeds (the metrics sample it)."""


class LocalEventBus:
    """The in-process bus: feeds indexed by the party they listen on."""

    def __init__(self, max_queue: int = 256) -> None:
        self._max_queue = max_queue
        self._feeds: dict[str, set[Feed]] = defaultdict(set)
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

    def subscribe(self, interest: Interest) -> Feed:
        feed = Feed(interest, self._max_queue)
        self._feeds[interest.party_id].add(feed)
        self._count += 1
        return feed

    def unsubscribe(self, feed: Feed) -> None:
        feeds = self._feeds.get(feed.interest.party_id)
        if feeds is None or feed not in feeds:
            return
        feeds.discard(feed)
        self._count -= 1
        if not feeds:
            del self._feeds[feed.interest.party_id]

    def end_all(self, error: GraphError) -> None:
        """End every feed with `error`: their events can no longer be vouched for."""
        for feeds in list(self._feeds.values()):
            for feed in list(feeds):
                feed.end(error)
                self.unsubscribe(feed)

    async def publish(self, event: ActivityAdded) -> None:
        for party_id in event.reach:
            for feed in list(self._feeds.get(party_id, ())):
                source = feed.interest.source(event)
                if source is not None and not feed.offer(event, source):
                    log.warning("dropped a subscriber on %s: it fell behind", party_id)
                    self.unsubscribe(feed)
