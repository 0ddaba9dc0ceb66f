"""Opportunity timelines: store time of one deal's timeline (a page, counted, one type)
and of a page of deals each asking theirs, as Opportunity.timeline reads them.

    .venv/bin/python bench/deal_timeline.py --parties 5000 --linked 50000 [--graph URL]
        [--server-pid PID]

Seeds an empty graph first (as bench/registry.py does, its activities the background),
then a pipeline and DEALS deals with the first organization, --linked activities
linked to the first deal and OTHERS to each other one, loaded in batches as an import
loads them. Prints a Markdown table of median and p95 milliseconds per store call.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import timedelta
from decimal import Decimal

import server_cpu
from registry import arguments, timed

from contactgraph.graph import pipelines
from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import (
    Activity,
    ActivityType,
    Batch,
    Page,
    PartyFilter,
    PartyKind,
    TimelineQuery,
)
from contactgraph.graph.opportunities import Opportunity, StageChange
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow

DEALS = 20  # a page of deals, as a list shows them
OTHERS = 200  # activities linked to each deal but the first
BATCH = 2_000  # activities loaded per transaction


async def seed(store: GraphStore, linked: int) -> list[str]:
    """The deals, the first with `linked` activities, the others with OTHERS each."""
    orgs = await store.list_parties(PartyFilter(kinds=(PartyKind.ORGANIZATION,)), Page(1), False)
    users = await store.list_parties(PartyFilter(kinds=(PartyKind.USER,)), Page(1), False)
    client, owner = orgs.parties[0].id, users.parties[0].id
    draft = pipelines.StageDraft("Open", 1, 50, pipelines.StageOutcome.OPEN)
    made = pipelines.created(f"Bench {new_id()}", [draft])
    now = utcnow()
    pipeline = await store.write_pipeline(None, lambda _: made, now)
    stage = pipeline.stages[0].id
    deals = []
    for i in range(DEALS):
        deal = Opportunity(
            id=new_id(),
            title=f"Deal {i}",
            organization_id=client,
            owner_id=owner,
            pipeline_id=pipeline.id,
            stage_id=stage,
            amount=Decimal(1000),
            currency="EUR",
            created_at=now,
            updated_at=now,
            stages=(StageChange(stage, now, owner),),
        )
        deals.append((await store.write_opportunity(deal.id, lambda _, d=deal: d)).id)
    rng = random.Random(1)
    work = [deals[0]] * linked + [d for d in deals[1:] for _ in range(OTHERS)]
    types = list(ActivityType)
    for start in range(0, len(work), BATCH):
        activities = [
            Activity(
                id=new_id(),
                type=rng.choice(types),
                occurred_at=now - timedelta(minutes=rng.randrange(5_000_000)),
                summary=f"work {start + i}",
                author_id=owner,
                subject_ids=(client,),
                opportunity_id=deal,
            )
            for i, deal in enumerate(work[start : start + BATCH])
        ]
        await store.load_batch(Batch(activities=activities))
    print(
        f"{DEALS} deals with {client}: {linked:,} activities on the first, {OTHERS} on each other"
    )
    return deals


async def measure(
    url: str, runs: int, linked: int, server: int | None
) -> list[tuple[str, float, float, float | None]]:
    store = open_store(url)
    await store.start()
    try:
        deals = await seed(store, linked)
        first = TimelineQuery(Page(20))
        calls = {
            f"one deal's timeline ({linked:,} activities), first 20": lambda: (
                store.opportunity_timelines(deals[:1], first)
            ),
            "the same, with totalCount and countsByType": lambda: store.opportunity_timelines(
                deals[:1], TimelineQuery(Page(20), count=True)
            ),
            "the same deal, CALL only, first 20": lambda: store.opportunity_timelines(
                deals[:1], TimelineQuery(Page(20), types=(ActivityType.CALL,))
            ),
            f"{DEALS} deals' timelines in one call, first 5 each": lambda: (
                store.opportunity_timelines(deals, TimelineQuery(Page(5)))
            ),
        }
        rows = []
        for name, call in calls.items():
            median, p95 = await timed(runs, call)
            used = await server_cpu.per_call(server, runs, call) if server else None
            rows.append((name, median, p95, used))
        return rows
    finally:
        await store.close()


def main() -> None:
    def more(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--linked", type=int, default=50_000)
        server_cpu.add_argument(parser)

    args = arguments(__doc__, 5_000, 50, more)
    rows = asyncio.run(measure(args.graph, args.runs, args.linked, args.server_pid))
    cpu = " server CPU ms |" if args.server_pid else ""
    print(f"\n| call | median ms | p95 ms |{cpu}\n|---|---:|---:|{'---:|' if cpu else ''}")
    for name, median, p95, used in rows:
        print(f"| {name} | {median:.1f} | {p95:.1f} |{'' if used is None else f' {used:.1f} |'}")


if __name__ == "__main__":
    main()
