"""Activity search and timeline counts: store time of Query.activities and of the largest
roll-up's page, searched and counted.

    .venv/bin/python bench/activity_search.py --parties 20000 [--graph URL] [--runs 20]

Seeds an empty graph first (as bench/registry.py does; 20,000 parties carry about
100,000 activities, each type with its one summary, so a word of one type's summary
matches about a seventh of them). The roll-up roots are bench/timelines.py's: a company
and the nested holdings it adds, of which the largest is timed. Prints a Markdown table
of median and p95 milliseconds per store call.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from registry import arguments, timed
from timelines import pick, rollup

from contactgraph.graph.backends import open_store
from contactgraph.graph.model import ActivityQuery, Page
from contactgraph.graph.store import GraphStore

Timings = dict[str, tuple[float, float]]
COMMON = "updated offer"  # every EMAIL's summary
NOWHERE = "zeppelin"


async def store_timings(store: GraphStore, runs: int) -> tuple[str, Timings]:
    roots = await pick(store)
    name, (root, parties) = max(roots.items(), key=lambda item: item[1][1])
    company = roots["a company"][0]
    page = rollup()
    calls = {
        f"activities(search: {COMMON!r}), first 50": lambda: store.activities(
            ActivityQuery(Page(50), search=COMMON)
        ),
        f"activities(search: {NOWHERE!r}), nothing found": lambda: store.activities(
            ActivityQuery(Page(50), search=NOWHERE)
        ),
        "activities, unsearched, first 50": lambda: store.activities(ActivityQuery(Page(50))),
        "a company's own timeline with countsByType": lambda: store.timelines(
            [company], replace(page, rollup=None, count=True)
        ),
        f"roll-up of the {name}: first page": lambda: store.timelines([root], page),
        f"roll-up of the {name}: searched {COMMON!r}": lambda: store.timelines(
            [root], replace(page, search=COMMON)
        ),
        f"roll-up of the {name}: with countsByType": lambda: store.timelines(
            [root], replace(page, count=True)
        ),
        f"roll-up of the {name}: searched and counted": lambda: store.timelines(
            [root], replace(page, search=COMMON, count=True)
        ),
    }
    results = {label: await timed(runs, call) for label, call in calls.items()}
    counted = (await store.timelines([root], replace(page, count=True)))[root].counts_by_type
    return (
        f"{parties:,} parties in the largest roll-up, {sum((counted or {}).values()):,} "
        "activities counted",
        results,
    )


async def measure(url: str, runs: int) -> tuple[str, Timings]:
    store = open_store(url)
    await store.start()
    try:
        return await store_timings(store, runs)
    finally:
        await store.close()


def main() -> None:
    args = arguments(__doc__, 20_000, 20)
    about, results = asyncio.run(measure(args.graph, args.runs))
    print(about)
    print(f"\n| {args.parties:,} parties, {args.runs} runs | store median ms | store p95 ms |")
    print("|---|---:|---:|")
    for name, (median, p95) in results.items():
        print(f"| {name} | {median:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
