"""A seed killed half-way leaves a graph that says so: `seed` refuses to start on top of it,
and `seed --resume` finishes it into the graph the whole seed would have made.

Ten batches: the seed is killed once two are in, so eight are left for the resume to
write, which takes far longer than the 10 ms the test polls at; more parties would only
make the resume longer."""

from __future__ import annotations

import asyncio
import os
import subprocess

from test_cli import CLI, run

from contactgraph.graph.backends import open_store
from contactgraph.graph.model import Page, PartyFilter
from contactgraph.seeds.progress import SeedRun

PARTIES, BATCH = 2000, 200


async def test_an_interrupted_seed_is_refused_then_resumed(graph_url: str) -> None:
    store = open_store(graph_url, create=True)
    await store.start()
    try:
        args = ["seed", "--synthetic", str(PARTIES), "--batch-size", str(BATCH)]
        seeding = subprocess.Popen(  # noqa: ASYNC220 - killed below, on purpose
            [*CLI, *args, "--graph", graph_url],
            env={**os.environ, "CI": "true"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(3000):
            note = await store.seed_progress()
            if note is not None and SeedRun.from_json(note).batches >= 2:
                break
            await asyncio.sleep(0.01)
        seeding.kill()
        seeding.wait()
        left = SeedRun.from_json(await store.seed_progress() or "")
        assert left.batches >= 2 and left.written < PARTIES

        again = await asyncio.to_thread(run, *args, "--graph", graph_url)
        assert again.returncode != 0
        assert "--resume" in again.stderr and f"{left.written:,} of {PARTIES:,}" in again.stderr

        resumed = await asyncio.to_thread(run, "seed", "--resume", "--graph", graph_url)
        assert resumed.returncode == 0, resumed.stderr
        assert await store.seed_progress() is None
        page = await store.list_parties(PartyFilter(include_archived=True), Page(1), count=True)
        assert page.total_count == PARTIES

        nothing = await asyncio.to_thread(run, "seed", "--resume", "--graph", graph_url)
        assert nothing.returncode != 0 and "no unfinished seed" in nothing.stderr
    finally:
        await store.close()
