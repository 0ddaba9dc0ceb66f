"""What the overdue watch costs the store (graph/worklist_events.py): its read of the next due
time, and its claims of steps fallen due, with many open steps waiting.

    .venv/bin/python bench/overdue.py --parties 100000 --runs 5000 [--graph URL]

Seeds an empty graph first (as bench/registry.py does), then opens `runs` + 1 process
steps (bench/processes.py's category and process, one AGREEMENT each) and, with none
due yet, times `next_due` (what the watch reads before each sleep) and an empty claim
(what it writes when it wakes and nothing fell due). Then claims them all, as of a
time past their due, in the watch's batches, and times each batch.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from processes import _agreement, prepare
from registry import arguments, percentiles, timed

from contactgraph.graph.backends import open_store
from contactgraph.graph.times import utcnow
from contactgraph.graph.worklist_events import BATCH


async def measure(url: str, runs: int) -> None:
    store = open_store(url)
    await store.start()
    try:
        user, with_, _ = await prepare(store, runs)
        for party in with_:
            await store.record_activity(_agreement(user, party))
        now = utcnow()
        waiting = await timed(300, store.next_due)
        empty = await timed(300, lambda: store.claim_overdue(now, BATCH))
        late, claims, claimed = now + timedelta(days=15), [], 0
        while True:
            started = time.perf_counter()
            found = await store.claim_overdue(late, BATCH)
            if not found:
                break
            claims.append((time.perf_counter() - started) * 1000)
            claimed += len(found)
    finally:
        await store.close()
    assert claimed >= len(with_), claimed
    rows = {
        "next due time (300 reads)": waiting,
        "a claim when none is due (300)": empty,
        f"a claim of {BATCH} due steps ({len(claims)} claims)": percentiles(claims),
    }
    print(f"| {claimed} open steps | median ms | p95 ms |\n|---|---:|---:|")
    for name, (median, p95) in rows.items():
        print(f"| {name} | {median:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    options = arguments(__doc__, 100_000, 5_000)
    asyncio.run(measure(options.graph, options.runs))
