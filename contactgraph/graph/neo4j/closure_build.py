"""Building the closure (closure.py) of a graph stored before it existed, at start.

A build spans many transactions (1.1 million rows for 200,000 parties), so it is claimed:
a `closure_build` meta node names the server building and when it last wrote, and only
that server writes; the others wait for the mark that it is built, and take over a build
whose server has been silent for STALE_MS (it died). Every write of the build first
renews the claim under the `closure` write lock, so a server that lost it stops. Servers
of a version without the closure must not write meanwhile: an upgrade stops them first.
A closure whose `closure` mark names an older layout of rows (ROWS_VERSION) is built again
the same way: the build clears what it finds first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from ..closure import ALWAYS, Edges, Row, propagate, rows
from ..ids import new_id
from . import cypher
from .closure import EVERY_EDGE, ROWS_VERSION, new_reaches, text
from .cypher import Tx

T = TypeVar("T")
Run = Callable[[Callable[[Tx], Awaitable[T]]], Awaitable[T]]

ROWS = 20_000  # per transaction
STALE_MS = 120_000  # a build not renewed for this long is taken over
WAIT_SECONDS = 2.0  # between looks at another server's build


class TakenOver(Exception):
    """Another server took this build over: this one waits for it instead."""


async def _claim(tx: Tx, builder: str) -> str:
    """'built', 'mine' (claimed now, or still), or 'wait' (another server's, alive)."""
    await tx.run("MERGE (l:WriteLock {name: 'closure'}) SET l.taken = timestamp()")
    result = await tx.run(
        "OPTIONAL MATCH (m:Meta {key: 'closure'}) OPTIONAL MATCH (b:Meta {key: 'closure_build'}) "
        "RETURN m.value = $version AS built, b.owner AS owner, timestamp() - b.beat AS age",
        version=ROWS_VERSION,
    )
    record = await result.single(strict=True)
    if record["built"]:
        return "built"
    if record["owner"] not in (None, builder) and record["age"] < STALE_MS:
        return "wait"
    await tx.run(
        "MERGE (b:Meta {key: 'closure_build'}) SET b.owner = $builder, b.beat = timestamp()",
        builder=builder,
    )
    return "mine"


async def _renewed(tx: Tx, builder: str) -> None:
    if await _claim(tx, builder) != "mine":
        raise TakenOver


async def _hierarchy(tx: Tx) -> Edges:
    """Every closure edge of every time."""
    result = await tx.run(
        f"CALL () {{ {EVERY_EDGE} }} "
        "RETURN collect([parent.id, child.id, toString(e.since), toString(e.until)]) AS edges"
    )
    found = (await result.single(strict=True))["edges"]
    return Edges((p, c, text(s), None if u is None else text(u)) for p, c, s, u in found)


def rebuilt(edges: Edges) -> Iterator[list[Row]]:
    """The closure of `edges`, a transaction's share at a time: one propagation down from
    each party that has anything below it."""
    everyone = set(edges.below) | set(edges.above)
    chunk: list[Row] = []
    for party in sorted(edges.below):
        chunk += rows(propagate({0: {(party, party): [ALWAYS]}}, edges, everyone))
        if len(chunk) >= ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _build(read: Run[Any], write: Run[Any], builder: str) -> None:
    async def cleared(tx: Tx) -> bool:
        """Up to a transaction's share of rows a build before left; whether any were."""
        await _renewed(tx, builder)
        result = await tx.run(
            "MATCH (h:Reach) WITH h LIMIT $n DETACH DELETE h RETURN count(h) AS n", n=ROWS
        )
        return bool((await result.single(strict=True))["n"])

    while await write(cleared):
        pass
    for chunk in rebuilt(await read(_hierarchy)):

        async def written(tx: Tx, chunk: list[Row] = chunk) -> None:
            await _renewed(tx, builder)
            await cypher.write(tx, new_reaches(chunk))

        await write(written)

    async def marked(tx: Tx) -> None:
        await _renewed(tx, builder)
        await tx.run(
            "MERGE (m:Meta {key: 'closure'}) SET m.value = $version "
            "WITH m MATCH (b:Meta {key: 'closure_build'}) DELETE b",
            version=ROWS_VERSION,
        )

    await write(marked)


async def build(read: Run[Any], write: Run[Any]) -> None:
    """Make sure the closure is built, by this server or another; returns once it is."""
    builder = new_id()
    while True:
        state = await write(lambda tx: _claim(tx, builder))
        if state == "built":
            return
        if state == "wait":
            await asyncio.sleep(WAIT_SECONDS)
            continue
        try:
            await _build(read, write, builder)
        except TakenOver:
            continue
