"""Sales pipeline reads: store time of pipelineSummary over every opportunity of a
pipeline, and of the roll-up of opportunities under the largest client.

    .venv/bin/python bench/pipeline.py --parties 20000 --opportunities 100000 [--graph URL]
        [--server-pid PID]

Seeds an empty graph first (as bench/registry.py does), then one pipeline of five
stages and --opportunities deals spread evenly over its organizations, written through
the store as createOpportunity writes them, WRITERS at a time. The client rolled up is the
largest tree of the first 300 companies (organizations, when none has that level).
Run again with the same --graph, it measures the deals the first run wrote.
Prints a Markdown table of median and p95 milliseconds per store call.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import server_cpu
from registry import arguments, timed
from timelines import size

from contactgraph.graph import pipelines
from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import Page, PartyFilter, PartyKind, UnitType
from contactgraph.graph.opportunities import Opportunity, StageChange
from contactgraph.graph.opportunity_reads import OpportunityQuery, summary
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow

WRITERS = 8  # deals written at once while seeding, as by that many clients
COMPANIES = 300  # the organizations (companies when levels tell) the client is chosen among
STAGES = [("Qualify", 10, "OPEN"), ("Propose", 40, "OPEN"), ("Negotiate", 70, "OPEN")]
STAGES += [("Won", 100, "WON"), ("Lost", 0, "LOST")]


async def seed(store: GraphStore, count: int, server: int | None) -> tuple[str, str]:
    """The pipeline and the client with the largest tree among the first companies, with
    `count` deals spread evenly over every organization."""
    every = PartyFilter(kinds=(PartyKind.ORGANIZATION,))
    orgs = await store.list_parties(every, Page(100_000), False)
    companies = [o.id for o in orgs.parties if o.unit_type == UnitType.COMPANY][:COMPANIES]
    companies = companies or [o.id for o in orgs.parties[:COMPANIES]]
    parties, largest = max([(await size(store, c), c) for c in companies])
    print(f"the client: the largest tree of {len(companies)} organizations, {parties:,} parties")
    earlier = [p for p in (await store.pipelines(None)).values() if p.name.startswith("Bench ")]
    if earlier:  # a run before on this --graph wrote them: measure again, write none
        print(f"reusing the deals of pipeline {earlier[0].name!r}")
        return earlier[0].id, largest
    drafts = [
        pipelines.StageDraft(name, i, p, pipelines.StageOutcome(o))
        for i, (name, p, o) in enumerate(STAGES)
    ]
    made = pipelines.created(f"Bench {new_id()}", drafts)
    pipeline = await store.write_pipeline(None, lambda _: made, utcnow())
    users = await store.list_parties(PartyFilter(kinds=(PartyKind.USER,)), Page(50), False)
    owners = [u.id for u in users.parties]
    rng = random.Random(1)
    started, now = time.perf_counter(), utcnow()
    used = server_cpu.seconds(server) if server else 0.0
    deals = []
    for i in range(count):
        stage = rng.choice(pipeline.stages)
        deals.append(
            Opportunity(
                id=new_id(),
                title=f"Deal {i}",
                organization_id=rng.choice(orgs.parties).id,
                owner_id=rng.choice(owners),
                pipeline_id=pipeline.id,
                stage_id=stage.id,
                amount=Decimal(rng.randrange(100, 10_000_000)) / 100,
                currency=rng.choice(("EUR", "EUR", "EUR", "USD", "CHF")),
                created_at=now,
                updated_at=now,
                expected_close=date(2030, 1, 1) + timedelta(days=rng.randrange(730)),
                lost_reason="Price" if stage.outcome is pipelines.StageOutcome.LOST else None,
                stages=(StageChange(stage.id, now, None),),
            )
        )
    for start in range(0, count, WRITERS):  # as many clients writing at once
        await asyncio.gather(
            *(
                store.write_opportunity(d.id, lambda _, d=d: d)
                for d in deals[start : start + WRITERS]
            )
        )
    print(f"wrote {count:,} opportunities in {time.perf_counter() - started:.0f} s", end="")
    print(f", server CPU {server_cpu.seconds(server) - used:.1f} s" if server else "")
    return pipeline.id, largest


async def run(url: str, count: int, runs: int, server: int | None) -> None:
    store = open_store(url)
    await store.start()
    try:
        pipeline_id, client = await seed(store, count, server)
        pipeline = (await store.pipelines([pipeline_id]))[pipeline_id]
        whole = OpportunityQuery(Page(0), pipeline_id=pipeline_id)
        tree = OpportunityQuery(
            Page(50), organization_id=client, include_descendants=True, now=utcnow()
        )

        async def summed() -> object:
            return summary(pipeline, await store.opportunity_figures(whole))

        calls = {
            f"pipelineSummary over {count:,} opportunities": summed,
            "the pipeline's first 50 by close date": lambda: store.list_opportunities(
                replace(whole, page=Page(50))
            ),
            "opportunities under the largest client, first 50": lambda: store.list_opportunities(
                tree
            ),
            "the same, the rest of 2030 only": lambda: store.list_opportunities(
                replace(tree, close_after=date(2030, 6, 1), close_before=date(2031, 1, 1))
            ),
        }
        cpu = " server CPU ms |" if server else ""
        print(f"| call | median ms | p95 ms |{cpu}\n|---|---:|---:|{'---:|' if server else ''}")
        for name, call in calls.items():
            median, p95 = await timed(runs, call)
            used = f" {await server_cpu.per_call(server, runs, call):.1f} |" if server else ""
            print(f"| {name} | {median:.1f} | {p95:.1f} |{used}")
    finally:
        await store.close()


def main() -> None:
    def more(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--opportunities", type=int, default=100_000)
        server_cpu.add_argument(parser)

    args = arguments(__doc__, 20_000, 20, more)
    asyncio.run(run(args.graph, args.opportunities, args.runs, args.server_pid))


if __name__ == "__main__":
    main()
