"""A new party's full-text document, committed in batches off its create's commit.

Lucene reopens its reader after every transaction that changes the full-text index: 2.4 of
the 4.0 ms of Neo4j's CPU a create cost, whatever the document's size, and a batch of 20 or
more documents in one transaction pays it once (BENCHMARKS.md, "Writes: full-text
documents in batches"). So a request's create writes its search tokens under names the
index does not hold (`held`), marks the party :Unindexed, and a Flusher of the server's
moves a batch of them into the indexed properties in one transaction, DELAY after a
create (or at once when BATCH are pending). A rewrite writes its document at once and
takes the party out of the batch (cypher.rewritten_parties).

Reads stay exact. Every statement that asks the index first gathers the pending parties
(`GATHERED`: a label scan, a delay's worth of creates at most), then waits for the queued
index updates (search.REFRESHED), then takes the index's hits that are not pending and the
pending parties whose held tokens match, tested in Cypher. A party pending when the
statement began is judged by its held tokens; one flushed before it began has its
document's update queued before the wait, so the index holds it. Parties left pending by
a server that stopped are flushed by the next one's flusher, at its start and on its
rounds (IDLE), from any process on the graph."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

log = logging.getLogger("contactgraph.neo4j")

LABEL = "Unindexed"
FIELDS = ("search", "fiscal_search", "email_keys", "dup_keys")
PREFIX = "pending_"
# at most this many documents a transaction, the first DELAY seconds after a create woke
# the flusher (the creates of that time gathered into one batch); a round every IDLE
# seconds finds what other servers left; a failed flush is tried again RETRY seconds on
BATCH = 500
DELAY = 0.05
IDLE = 5.0
RETRY = 1.0
# what a stopping server spends flushing its last batch
LAST_FLUSH = 5.0
# a create of more parties than this writes their documents itself: pending parties are
# what every index read tests in Cypher, so there are never many
HELD_MOST = 20
GATHERED = f"MATCH (q:{LABEL}) WITH collect(q) AS pending "
# the party takes its lock before its label and held tokens are read, so a rewrite that
# took it out of the batch (or another server's flush) is seen, never undone
FLUSH = (
    f"MATCH (p:{LABEL}) WITH p LIMIT $n SET p._lock = true REMOVE p._lock "
    f"WITH p WHERE p:{LABEL} SET "
    + ", ".join(f"p.{f} = p.{PREFIX}{f}" for f in FIELDS)
    + f" REMOVE p:{LABEL}, "
    + ", ".join(f"p.{PREFIX}{f}" for f in FIELDS)
    + " RETURN count(p) AS n"
)


def held(props: Mapping[str, Any]) -> dict[str, Any]:
    """A party's node properties with its indexed tokens under the names the index lacks."""
    return {(PREFIX + k if k in FIELDS else k): v for k, v in props.items()}


def current(var: str, field: str) -> str:
    """The expression of a party's tokens in `field`, pending or indexed."""
    return f"coalesce({var}.{PREFIX}{field}, {var}.{field})"


Flush = Callable[[], Awaitable[int]]


class Flusher:
    """The server's one task moving pending parties into the index, a batch a transaction.
    `flush` runs FLUSH once and answers how many parties it moved."""

    def __init__(self, flush: Flush) -> None:
        self._flush = flush
        self._woken = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Flush what an earlier server left, then go on in the background."""
        self._closing.clear()
        try:
            await self._drain()
        except Exception as error:  # Neo4j busy: the rounds try again
            log.warning("pending full-text documents not flushed at the start: %s", error)
        self._task = asyncio.create_task(self._rounds())

    def wake(self) -> None:
        """A create committed a pending party: flush within DELAY."""
        self._woken.set()

    async def _drain(self) -> None:
        while await self._flush() == BATCH:
            pass

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _rounds(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), IDLE)
            self._woken.clear()
            await self._pause(DELAY)
            try:
                await self._drain()
            except Exception as error:  # Neo4j away, a deadlock: the next round
                if self._closing.is_set():
                    raise
                log.warning("flushing pending full-text documents failed, tried again: %s", error)
                await self._pause(RETRY)
                self._woken.set()
            if self._closing.is_set():
                return

    async def close(self) -> None:
        """Flush what is pending and stop, in at most LAST_FLUSH seconds: a flush is not
        cancelled halfway (its transaction would hold its parties' locks in Neo4j until
        Neo4j saw the connection gone); what is left the next server flushes."""
        if self._task is None:
            return
        task, self._task = self._task, None
        self._closing.set()
        self._woken.set()
        try:
            async with asyncio.timeout(LAST_FLUSH):
                await task
        except Exception as error:  # TimeoutError too: left for the next start
            log.warning("pending full-text documents left for the next start: %r", error)
