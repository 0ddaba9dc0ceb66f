"""The event bus over a Redis stream, for more than one server process.

Every process appends the activities and worklist changes it commits to one stream
(XADD, capped at a few thousand entries) and reads the stream from the moment it
connected (XREAD, blocking), handing each event to a local bus of its own that matches
it against its subscribers.
A stream rather than Pub/Sub: every process reads the same entries in the one order
the stream gave them, a reader that reconnects picks up exactly after the entry it read
last, and the entries can be inspected with redis-cli when something is amiss.

When Redis cannot be reached, events cannot be vouched for: every feed of this process
ends with SERVICE_UNAVAILABLE (subscribers read the timeline for what they missed),
new subscriptions are refused with the same code and /readyz says why, and the reader
keeps retrying; once Redis answers, subscriptions work again without a restart.
Writes go on: what was recorded during the outage is in the graph, not in any feed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, RedisError

from . import process_runs
from .codec import activity_from_record, activity_record, party_from_record, party_record
from .errors import ServiceUnavailable
from .events import (
    ActivityAdded,
    Event,
    Feed,
    Interests,
    LocalEventBus,
    StepChange,
    WorklistChanged,
)
from .history import ChangeKind

log = logging.getLogger("contactgraph.events")

STREAM = "contactgraph:activities"
KEEP = 10_000  # entries the stream keeps (about): a reader is never that far behind
BLOCK_MS = 1_000  # how long one XREAD waits; the socket timeout allows for it
PUBLISH_SECONDS = 1.0  # the most a write waits to publish what it committed
RETRY_SECONDS = (0.1, 0.2, 0.5, 1.0, 2.0)  # between attempts to reach Redis again


Entry = tuple[bytes, dict[bytes, bytes]]  # a stream entry's id and fields, as redis-py reads them


def _instant(value: datetime) -> str:
    return value.isoformat()


def encode(event: Event) -> bytes:
    if isinstance(event, WorklistChanged):
        return orjson.dumps(
            {
                "worklist": process_runs.encode(event.step),
                "change": event.change.value,
                "at": _instant(event.at),
            }
        )
    return orjson.dumps(
        {
            "activity": activity_record(event.activity, _instant),
            "subjects": list(event.activity.subject_ids),
            "reach": dict(event.reach),
            "parties": [party_record(party, _instant) for party in event.parties.values()],
            "change": event.change.value,
        }
    )


def decode(data: bytes) -> Event:
    body: dict[str, Any] = orjson.loads(data)
    if "worklist" in body:
        return WorklistChanged(
            process_runs.decode(body["worklist"]),
            StepChange(body["change"]),
            datetime.fromisoformat(body["at"]),
        )
    subjects = tuple(body["subjects"])
    parties = (party_from_record(p, datetime.fromisoformat) for p in body["parties"])
    return ActivityAdded(
        activity_from_record(body["activity"], subjects, datetime.fromisoformat),
        body["reach"],
        {party.id: party for party in parties},
        ChangeKind(body.get("change", ChangeKind.ACTIVITY_RECORDED.value)),
    )


def _name(event: Event) -> str:
    if isinstance(event, WorklistChanged):
        return f"step {event.step.id} {event.change.value}"
    return f"activity {event.activity.id}"


def unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "the event broker cannot be reached, so live feeds are closed: subscribe again "
        "once the server is ready (/readyz), and read the timeline for what was missed"
    )


class RedisEventBus:
    """An EventBus shared by every server process that uses the same Redis."""

    def __init__(self, url: str, max_queue: int, stream: str = STREAM) -> None:
        self._local = LocalEventBus(max_queue)
        self._stream = stream
        self._redis: Redis = Redis.from_url(
            url,
            socket_connect_timeout=2,
            socket_timeout=BLOCK_MS / 1000 + 2,
            # once more on a connection found closed (a pooled one, after an outage); not
            # after a timeout, when the XADD may have been stored and would be twice
            retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
        )
        self._reader: asyncio.Task[None] | None = None
        self.reachable = False

    @property
    def subscribers(self) -> int:
        return self._local.subscribers

    @property
    def queued(self) -> int:
        return self._local.queued

    async def start(self) -> None:
        """Begin reading; the server serves meanwhile, refusing feeds until Redis answers."""
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._redis.aclose()

    async def ping(self) -> None:
        """Readiness: whether feeds can be served now."""
        if not self.reachable:
            raise unavailable()

    def subscribe(self, interest: Interests) -> Feed:
        if not self.reachable:
            raise unavailable()
        return self._local.subscribe(interest)

    def unsubscribe(self, feed: Feed) -> None:
        self._local.unsubscribe(feed)

    async def publish(self, event: Event) -> None:
        """Append the event for every process, this one included (it reads it back, so
        its subscribers see events in the stream's order like everyone else's)."""
        if not self.reachable:  # no feed is open to hear it: do not make the writer wait
            return
        try:
            async with asyncio.timeout(PUBLISH_SECONDS):
                await self._redis.xadd(self._stream, {"event": encode(event)}, maxlen=KEEP)
        except (RedisError, TimeoutError) as error:
            log.warning("event %s was not published: %s", _name(event), error)
            self._lost()

    def _lost(self) -> None:
        if self.reachable:
            log.warning("the event broker cannot be reached: live feeds are closed")
        self.reachable = False
        self._local.end_all(unavailable())

    async def _read(self) -> None:
        attempt = 0
        while True:
            try:
                last = await self._last_id()  # what came before this moment is not news
                self.reachable, attempt = True, 0
                log.info("reading live events from the broker's stream %s", self._stream)
                while True:
                    last = await self._next(last)
                    self.reachable = True  # again, after a publish that failed alone
            except Exception as error:
                if self.reachable:
                    log.warning("lost the event broker: %s", error)
                self._lost()
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1

    async def _last_id(self) -> bytes:
        newest = cast(list[Entry], await self._redis.xrevrange(self._stream, count=1))
        return newest[0][0] if newest else b"0-0"

    async def _next(self, last: bytes) -> bytes:
        """Hand the entries after `last` to this process's subscribers; the last one read."""
        read = await self._redis.xread({self._stream: last}, count=500, block=BLOCK_MS)
        found = cast(list[tuple[bytes, list[Entry]]], read)  # RESP2 replies, bytes
        for _, entries in found:
            for entry_id, fields in entries:
                last = entry_id
                try:
                    await self._local.publish(decode(fields[b"event"]))
                except Exception as error:
                    log.warning("skipped stream entry %s: %s", entry_id, error)
        return last
