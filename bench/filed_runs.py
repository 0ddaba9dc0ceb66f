"""The cost of process runs on a party created under its parent (create_filed's batch).

    .venv/bin/python bench/filed_runs.py --parties 10000 [--graph URL] [--runs 200]

Seeds an empty graph first (as bench/registry.py does), then creates `runs` contacts
under one organization in each of three ways, taking turns: the batch as it was before
it judged runs (processes off), the batch judging runs in a category without processes
(what every create with a parent now pays), and in a category whose ENTERED process
opens a step. Prints the median and p95 milliseconds of each and the ratio of the first
two medians.
"""

from __future__ import annotations

import asyncio
import time

from processes import _category, _process
from registry import arguments, percentiles

from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import Batch, LegalForm, PartyKind, Relationship, RelType
from contactgraph.graph.records import new_party
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow


async def _create(store: GraphStore, parent: str, category: str, processes: bool) -> float:
    child = new_party(
        PartyKind.CONTACT,
        "Filed",
        last_name="Filed",
        legal_form=LegalForm.NATURAL_PERSON,
        category_id=category,
    )
    edge = Relationship(new_id(), RelType.MEMBER_OF, child.id, parent, utcnow())
    started = time.perf_counter()
    await store.load_batch(Batch([child], [edge], [], processes=processes))
    return (time.perf_counter() - started) * 1000


async def measure(url: str, runs: int) -> None:
    store = open_store(url)
    await store.start()
    try:
        tag = new_id()[-8:].lower()
        assignee = new_party(
            PartyKind.USER,
            "Bench Assignee",
            username=f"bench-{tag}",
            legal_form=LegalForm.NATURAL_PERSON,
        )
        parent = new_party(
            PartyKind.ORGANIZATION,
            None,
            name=f"Bench Parent {tag}",
            legal_form=LegalForm.LEGAL_PERSON,
        )
        await store.load_batch(Batch([assignee, parent], [], []))
        entered = _process(assignee.id, {"on": "ENTERED"})
        await _category(store, f"plain-{tag}", ())
        await _category(store, f"entered-{tag}", entered)
        ways = {
            "processes off (as before)": (f"plain-{tag}", False),
            "processes on, no process in the category": (f"plain-{tag}", True),
            "processes on, an ENTERED process opening a step": (f"entered-{tag}", True),
        }
        samples: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(runs + 1):  # the first of each warms
            for way, (category, processes) in ways.items():
                samples[way].append(await _create(store, parent.id, category, processes))
    finally:
        await store.close()
    found = {way: percentiles(taken[1:]) for way, taken in samples.items()}
    print(f"| create with parent, {runs} runs each | median ms | p95 ms |")
    print("|---|---:|---:|")
    for way, (median, p95) in found.items():
        print(f"| {way} | {median:.2f} | {p95:.2f} |")
    before, after = (found[way][0] for way in list(ways)[:2])
    print(f"| ratio on / off, no process (medians) | {after / before:.2f} | |")


def main() -> None:
    args = arguments(__doc__, 10_000, 200)
    asyncio.run(measure(args.graph, args.runs))


if __name__ == "__main__":
    main()
