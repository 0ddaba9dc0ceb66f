"""Writing a synthetic seed: batches generated while the store writes the one before.

The generator runs in a process of its own, which also checks each batch and makes the
rows the store writes (graph/sqlite/seed_rows.py, graph/neo4j/seed_rows.py): in the
writer's process, sharing its interpreter lock, that work cost a quarter of a
million-party seed on the embedded store, and on Neo4j the server waited meanwhile.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import NamedTuple

from ..graph.errors import GraphError
from ..graph.model import Batch
from ..graph.seed_check import Prepare
from ..graph.store import GraphStore
from .progress import SeedRun
from .synthetic import synthetic_batches


class Made(NamedTuple):
    parties: int
    relationships: int
    activities: int
    batch: bytes  # what the store's Prepare made of one


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


async def write_synthetic(
    store: GraphStore, run: SeedRun, shown: Callable[[SeedRun], None]
) -> tuple[dict[str, int], float | None]:
    """Write the batches `run` has not written yet, each with the note of how far the seed
    then is (the note goes once the last batch is in); what was written, and the CPU
    seconds of the generator's process if it had one. `shown` hears of each batch done."""
    counts = Counter(parties=0, relationships=0, activities=0)
    cpu: float | None = None
    with _in_process(run, await store.seed_preparer()) as made:
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
            writing = asyncio.ensure_future(store.load_rows(item.batch, run.to_json()))
            counts.update(
                parties=item.parties, relationships=item.relationships, activities=item.activities
            )
        if writing is not None:
            await writing
    await store.load_batch(Batch(progress=""))
    shown(run)
    return counts, cpu
