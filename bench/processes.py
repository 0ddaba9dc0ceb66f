"""The cost of process evaluation on recordActivity, and a user's worklist, at the store.

    .venv/bin/python bench/processes.py --parties 100000 [--graph URL] [--runs 300]

Seeds an empty graph first (as bench/registry.py does), then adds two categories, one
with a process (an AGREEMENT opens a 14-day step assigned to a named user, blocking
nothing, so every agreement opens one) and one without, and `runs` contacts in each.
Records an AGREEMENT about a contact of each category in turn, `runs` times, and prints
the median and p95 milliseconds of each and their ratio: the same write, with and
without a matching process, in one run. Then times that user's worklist (first 20, the
next page, and the overdue ones at a date when all are) over the steps those agreements
opened. Last, the sweep for reached dates: `runs` contacts of a third category whose
DATE_REACHED process is due (their date is yesterday); the first sweep starts their
runs, the next ones find them started and open nothing (the cost a sweep pays every
time, which grows with the parties whose date is reached).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from registry import arguments, percentiles, timed

from contactgraph.graph import categories, processes
from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import (
    Activity,
    ActivityType,
    Batch,
    Category,
    FieldDef,
    FieldType,
    LegalForm,
    Page,
    PartyKind,
)
from contactgraph.graph.records import new_party
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow
from contactgraph.graph.worklist import WorklistQuery, cursor


def _process(user_id: str, trigger: dict[str, Any] | None = None) -> tuple[processes.Process, ...]:
    return processes.decoded(
        [
            {
                "id": "bench",
                "name": "Bench",
                "trigger": trigger or {"on": "ACTIVITY_RECORDED", "activityTypes": ["AGREEMENT"]},
                "conditions": {"legalForms": ["NATURAL_PERSON"]},
                "steps": [
                    {
                        "id": "confirm",
                        "title": "Confirm",
                        "dueDays": 14,
                        "satisfiedBy": {"activityType": "DOCUMENT", "tag": "bench"},
                        "assignee": {"rule": "USER", "userId": user_id},
                    }
                ],
            }
        ]
    )


async def _category(
    store: GraphStore,
    key: str,
    defined: tuple[processes.Process, ...],
    fields: tuple[FieldDef, ...] = (),
) -> None:
    wanted = Category(key, key.title(), fields=fields, processes=defined)
    await store.write_category(key, lambda current: categories.created(wanted, current), utcnow())


async def prepare(store: GraphStore, runs: int) -> tuple[str, list[str], list[str]]:
    user = new_party(
        PartyKind.USER,
        "Bench Assignee",
        username=f"bench-{new_id()}",
        legal_form=LegalForm.NATURAL_PERSON,
    )
    await store.load_batch(Batch([user], [], []))
    tag = new_id()[-8:].lower()
    await _category(store, f"with-{tag}", _process(user.id))
    await _category(store, f"without-{tag}", ())
    groups = []
    for key in (f"with-{tag}", f"without-{tag}"):
        groups.append(await _contacts(store, key, runs + 1, {}))
    return user.id, groups[0], groups[1]


async def _contacts(
    store: GraphStore, key: str, count: int, attributes: dict[str, Any]
) -> list[str]:
    parties = [
        new_party(
            PartyKind.CONTACT,
            f"Bench {i}",
            first_name="Bench",
            last_name=str(i),
            legal_form=LegalForm.NATURAL_PERSON,
            category_id=key,
            attributes=attributes,
        )
        for i in range(count)
    ]
    await store.load_batch(Batch(parties, [], []))
    return [p.id for p in parties]


async def sweeps(store: GraphStore, user: str, runs: int) -> dict[str, tuple[float, float]]:
    key = f"dated-{new_id()[-8:].lower()}"
    trigger = {"on": "DATE_REACHED", "attribute": "due_on"}
    due = (utcnow().date() - timedelta(days=1)).isoformat()
    await _category(store, key, _process(user, trigger), (FieldDef("due_on", FieldType.DATE),))
    await _contacts(store, key, runs, {"due_on": due})
    started = time.perf_counter()
    opened = await store.sweep_processes()
    first = (time.perf_counter() - started) * 1000
    assert opened == runs, opened

    async def again() -> None:
        assert await store.sweep_processes() == 0

    return {
        f"first sweep, starting {runs} runs": (first, first),
        f"a later sweep, {runs} dates reached and started": await timed(20, again),
    }


def _agreement(author: str, party: str) -> Activity:
    return Activity(new_id(), ActivityType.AGREEMENT, utcnow(), "signed", author, (party,))


async def writes(
    store: GraphStore, user: str, with_: list[str], without: list[str]
) -> dict[str, tuple[float, float]]:
    samples: dict[str, list[float]] = {"with": [], "without": []}
    for first, second in zip(with_, without, strict=True):
        for key, party in (("with", first), ("without", second)):
            started = time.perf_counter()
            await store.record_activity(_agreement(user, party))
            samples[key].append((time.perf_counter() - started) * 1000)
    return {key: percentiles(found[1:]) for key, found in samples.items()}  # the first warms


async def worklists(store: GraphStore, user: str, runs: int) -> dict[str, tuple[float, float]]:
    first = await store.worklist(WorklistQuery(user, Page(20)))
    after = cursor(first.steps[-1])
    late = datetime(2999, 1, 1, tzinfo=UTC)

    async def page(query: WorklistQuery) -> None:
        assert len((await store.worklist(query)).steps) == 20

    return {
        "worklist(first: 20)": await timed(runs, lambda: page(WorklistQuery(user, Page(20)))),
        "the next page": await timed(runs, lambda: page(WorklistQuery(user, Page(20, after)))),
        "overdue, first 20": await timed(
            runs, lambda: page(WorklistQuery(user, Page(20), due_before=late))
        ),
    }


async def measure(url: str, runs: int) -> None:
    store = open_store(url)
    await store.start()
    try:
        user, with_, without = await prepare(store, runs)
        wrote = await writes(store, user, with_, without)
        listed = await worklists(store, user, runs)
        swept = await sweeps(store, user, runs)
    finally:
        await store.close()
    print(f"| {runs} runs each | median ms | p95 ms |")
    print("|---|---:|---:|")
    for key, (median, p95) in wrote.items():
        print(f"| recordActivity(AGREEMENT), {key} a matching process | {median:.2f} | {p95:.2f} |")
    ratio = wrote["with"][0] / wrote["without"][0]
    print(f"| ratio with / without (medians) | {ratio:.2f} | |")
    for key, (median, p95) in listed.items():
        print(f"| {key}, {runs + 1} open steps | {median:.2f} | {p95:.2f} |")
    for key, (median, p95) in swept.items():
        print(f"| {key} | {median:.2f} | {p95:.2f} |")


def main() -> None:
    args = arguments(__doc__, 100_000, 300)
    asyncio.run(measure(args.graph, args.runs))


if __name__ == "__main__":
    main()
