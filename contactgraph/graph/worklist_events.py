"""Worklist events: the steps writes open and close, told once they commit, and the steps
that fall overdue with no write at all, found by a watch in each server process.

The watch sleeps until the next due time among the open steps nobody has told of yet
(one read of an index that holds only those), claims the steps due by then in one
write, publishes OVERDUE for each and sleeps again. Claiming goes through the store, so
of several processes on one graph exactly one tells of each step; a process that opens
a step due sooner than the watch's wake-up wakes it. A step opened by another process
is found at the latest when the watch looks again after IDLE. A claim whose event is
lost (the broker down, the process killed between the claim and the publish) is not
told again: Query.worklist(overdue: true) answers what is overdue at any moment.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Protocol

from .events import EventBus, StepChange, WorklistChanged
from .process_runs import Outcome, RunStep
from .store import GraphStore
from .times import utcnow

log = logging.getLogger("contactgraph.events")

BATCH = 200  # steps one claim marks; more due at once take more claims, without sleeping
IDLE = timedelta(seconds=60)  # the longest the watch sleeps without looking again


class Clock(Protocol):
    """The time the watch judges by and sleeps on; tests hand the app one they move."""

    def now(self) -> datetime: ...

    async def sleep_until(self, instant: datetime) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    async def sleep_until(self, instant: datetime) -> None:
        await asyncio.sleep(max(0.0, (instant - utcnow()).total_seconds()))


class WorklistEvents:
    """Publishes the step changes the store commits (its step listener) and runs the
    overdue watch, from `start` to `close`."""

    def __init__(self, store: GraphStore, bus: EventBus, clock: Clock) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._wake = asyncio.Event()
        self._armed: datetime | None = None  # what the watch sleeps until; None: awake
        self._task: asyncio.Task[None] | None = None

    async def committed(self, outcome: Outcome) -> None:
        at = self._clock.now()
        await self._publish(outcome.opened, StepChange.OPENED, at)
        await self._publish(outcome.closed, StepChange.DONE, at)
        armed = self._armed  # None while the watch is awake: its read may predate these
        if outcome.opened and (armed is None or min(s.due_at for s in outcome.opened) < armed):
            self._wake.set()

    async def _publish(self, steps: list[RunStep], change: StepChange, at: datetime) -> None:
        for step in steps:
            if step.assignee_id is not None:  # else it is on nobody's worklist
                await self._bus.publish(WorklistChanged(step, change, at))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            self._wake.clear()  # a wake-up from here on is for the sleep below
            try:
                until = await self._tell_overdue()
            except Exception as error:  # the store unavailable: look again later
                log.warning("the overdue watch could not read the graph: %s", error)
                until = self._clock.now() + IDLE
            if until is not None:
                await self._sleep(until)

    async def _tell_overdue(self) -> datetime | None:
        """Publish what fell due; when to look again (None: at once, more are due)."""
        now = self._clock.now()
        claimed = await self._store.claim_overdue(now, BATCH)
        await self._publish(claimed, StepChange.OVERDUE, now)
        if len(claimed) == BATCH:
            return None
        due = await self._store.next_due()
        return now + IDLE if due is None else min(due, now + IDLE)

    async def _sleep(self, until: datetime) -> None:
        """Until `until` by the clock, or until a step due sooner is opened here."""
        self._armed = until
        sleeping = asyncio.ensure_future(self._clock.sleep_until(until))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._armed = None
            for waiting in (sleeping, woken):
                waiting.cancel()
            await asyncio.gather(sleeping, woken, return_exceptions=True)
