"""Writing a synthetic seed: batches generated while the store writes the one before.

On a store that takes rows (the embedded one), the generator runs in a process of
its own, which also checks each batch and makes its rows (graph/sqlite/seed_rows.py):
sharing the writer's interpreter lock, it cost the writer a quarter of a million-party
seed. Elsewhere (Neo4j, whose own server does most of the work) it runs in a thread.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ..graph.errors import GraphError
from ..graph.model import Batch
from ..graph.store import GraphStore
from .progress import SeedRun
from .synthetic import synthetic_batches


class Prepare(Protocol):
    def __call__(self, batch: Batch) -> bytes:
        """A batch as the store's load_rows takes it, made in the generator's process."""

    def written(self, batch: Batch) -> None:
        """A batch an interrupted seed wrote already, which later ones may refer to."""


@runtime_checkable
class TakesRows(Protocol):
    async def seed_preparer(self) -> Prepare: ...

    async def load_rows(self, rows: bytes, progress: str) -> None: ...


class Made(NamedTuple):
    parties: int
    relationships: int
    activities: int
    batch: Any  # a Batch, or the bytes the store's Prepare made of one


class Done(NamedTuple):
    cpu_seconds: float  # the generator's process's, from start to end


def _generate(run: SeedRun, prepare: Prepare, out: Connection) -> None:
    """The generator's process: every batch `run` has not written yet, prepared and sent;
    then Done, or the error a batch was refused with."""
    try:
        batches = synthetic_batches(run.parties, run.seed, run.batch_size, run.today)
        for number, batch in enumerate(batches):
            if number < run.batches:
                prepare.written(batch)
                continue
            out.send(Made(*_sizes(batch), prepare(batch)))
        out.send(Done(time.process_time()))
    except GraphError as error:
        out.send(error.message)
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the seed was stopped, or its writer failed: the writer's side says so
    finally:
        out.close()


def _sizes(batch: Batch) -> tuple[int, int, int]:
    return len(batch.parties), len(batch.relationships), len(batch.activities)


@contextmanager
def _in_process(run: SeedRun, prepare: Prepare) -> Iterator[Iterator[Made | Done]]:
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(
        target=_generate, args=(run, prepare, sending), name="seed-generator", daemon=True
    )
    process.start()
    sending.close()

    def received() -> Iterator[Made | Done]:
        while True:
            try:
                message = receiving.recv()  # the sender blocks while one batch is unread
            except EOFError:
                process.join()
                raise GraphError(
                    f"the seed's generator stopped (exit code {process.exitcode})"
                ) from None
            if isinstance(message, str):
                raise GraphError(f"the seed's generator made a batch the store refuses: {message}")
            yield message
            if isinstance(message, Done):
                return

    try:
        yield received()
    finally:
        receiving.close()
        if process.is_alive():
            process.terminate()
        process.join()


def _in_thread(run: SeedRun) -> Iterator[Made | Done]:
    batches = synthetic_batches(run.parties, run.seed, run.batch_size, run.today)
    for batch in itertools.islice(batches, run.batches, None):
        yield Made(*_sizes(batch), batch)


async def write_synthetic(
    store: GraphStore, run: SeedRun, shown: Callable[[SeedRun], None]
) -> tuple[dict[str, int], float | None]:
    """Write the batches `run` has not written yet, each with the note of how far the seed
    then is (the note goes once the last batch is in); what was written, and the CPU
    seconds of the generator's process if it had one. `shown` hears of each batch done."""
    write: Callable[[Any, str], Awaitable[object]]
    source: AbstractContextManager[Iterator[Made | Done]]
    if isinstance(store, TakesRows):
        source, write = _in_process(run, await store.seed_preparer()), store.load_rows
    else:
        source = nullcontext(_in_thread(run))

        def write(batch: Batch, note: str) -> Awaitable[object]:
            return store.load_batch(replace(batch, progress=note))

    counts = Counter(parties=0, relationships=0, activities=0)
    cpu: float | None = None
    with source as made:
        writing: asyncio.Future[object] | None = None
        # the next batch is generated while the store writes the previous one
        while (item := await asyncio.to_thread(next, made, None)) is not None:
            if isinstance(item, Done):
                cpu = item.cpu_seconds
                continue
            if writing is not None:
                await writing
                shown(run)
            run = run.after(item.parties)
            writing = asyncio.ensure_future(write(item.batch, run.to_json()))
            counts.update(
                parties=item.parties, relationships=item.relationships, activities=item.activities
            )
        if writing is not None:
            await writing
    await store.load_batch(Batch(progress=""))
    shown(run)
    return counts, cpu
