"""The server's periodic sweep for DATE_REACHED processes (docs/processes.md): no write
happens when a date arrives, so each worker looks every few minutes. Two workers (or a
worker and a `sweepProcesses` call) sweeping together start each run once: the store
derives a run's step ids from what triggered it."""

import asyncio
import logging

from .graph.store import GraphStore

log = logging.getLogger("contactgraph.processes")


async def run(store: GraphStore, seconds: float) -> None:
    """Sweep every `seconds` until cancelled (0: never); a failed sweep is logged and the
    next one tries again."""
    if seconds <= 0:
        return
    while True:
        await asyncio.sleep(seconds)
        try:
            opened = await store.sweep_processes()
        except Exception:
            log.exception("the sweep for reached dates failed")
        else:
            if opened:
                log.info("the sweep for reached dates opened %d steps", opened)
