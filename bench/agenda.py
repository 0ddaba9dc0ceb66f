"""The agenda of a 20-user team over a month: store time and GraphQL over HTTP.

    .venv/bin/python bench/agenda.py --parties 20000 [--graph URL] [--runs 20]

Seeds an empty graph first (as bench/registry.py does), then adds a home
organization with a team of 20 users and, for each user, a month of plans: three
appointments each working day (one of them overlapping the next, so conflicts are
flagged), a task due each working day, and a weekly recurring meeting in
Europe/Vienna, with a client organization as subject; about 1,800 activities, the
series expanded on read. Times the store's read of the month for the team (the
activities whose span meets it) and the whole `agenda(teamId, from, to, first:
100)` request: team members read, occurrences expanded, merged, conflicts found,
one page answered. Prints a Markdown table of median and p95 milliseconds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from registry import arguments, serving, timed

from contactgraph.graph.agenda import AgendaQuery, entries
from contactgraph.graph.backends import open_store
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import (
    Activity,
    ActivityStatus,
    ActivityType,
    Batch,
    Direction,
    LegalForm,
    PartyKind,
    Relationship,
    RelType,
    Schedule,
    UnitType,
)
from contactgraph.graph.records import new_party

USERS = 20
MONTH = (datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 4, 1, tzinfo=UTC))
AGENDA = """
query($team: ID!, $from: DateTime!, $to: DateTime!) {
  agenda(teamId: $team, from: $from, to: $to, first: 100) {
    pageInfo { hasNextPage }
    edges { node { startsAt endsAt conflict userIds activity { id summary status } } }
  }
}"""


def _plans(users: list[str], client: str) -> list[Activity]:
    plans = []
    start, end = MONTH
    for user in users:

        def plan(kind: ActivityType, summary: str, schedule: Schedule, user: str = user) -> None:
            plans.append(
                Activity(
                    id=new_id(),
                    type=kind,
                    occurred_at=schedule.starts_at or schedule.due_at or start,
                    summary=summary,
                    author_id=user,
                    subject_ids=(client,),
                    status=ActivityStatus.PLANNED,
                    schedule=schedule,
                )
            )

        weekly = start.replace(hour=8)
        plan(
            ActivityType.MEETING,
            "weekly",
            Schedule(
                weekly,
                weekly + timedelta(hours=1),
                "Europe/Vienna",
                recurrence="FREQ=WEEKLY;COUNT=52",
                assignee_ids=(user,),
            ),
        )
        day = start
        while day < end:
            if day.weekday() < 5:
                for hour, length in ((9, 90), (10, 60), (14, 60)):  # 9:00-10:30 meets 10:00
                    at = day.replace(hour=hour)
                    plan(
                        ActivityType.MEETING,
                        "meeting",
                        Schedule(at, at + timedelta(minutes=length), assignee_ids=(user,)),
                    )
                plan(
                    ActivityType.TASK,
                    "task",
                    Schedule(due_at=day.replace(hour=17), assignee_ids=(user,)),
                )
            day += timedelta(days=1)
    return plans


async def prepare(url: str) -> str:
    """The team, its users and their month; the team's id."""
    store = open_store(url)
    await store.start()
    try:
        home = new_party(
            PartyKind.ORGANIZATION,
            "Bench Home",
            name="Bench Home",
            legal_form=LegalForm.LEGAL_PERSON,
            category_id="home-organization",
        )
        team = new_party(
            PartyKind.ORGANIZATION,
            "Bench Team",
            name="Bench Team",
            legal_form=LegalForm.LEGAL_PERSON,
            unit_type=UnitType.TEAM,
        )
        client = new_party(
            PartyKind.ORGANIZATION,
            "Bench Client",
            name="Bench Client",
            legal_form=LegalForm.LEGAL_PERSON,
        )
        users = [
            new_party(
                PartyKind.USER,
                f"Bench User {i}",
                username=f"bench-{new_id()}",
                legal_form=LegalForm.NATURAL_PERSON,
            )
            for i in range(USERS)
        ]
        now = datetime.now(UTC)
        edges = [Relationship(new_id(), RelType.PART_OF, team.id, home.id, now)]
        edges += [Relationship(new_id(), RelType.EMPLOYS, team.id, u.id, now) for u in users]
        plans = _plans([u.id for u in users], client.id)
        await store.load_batch(Batch([home, team, client, *users], edges, plans))
        print(f"{len(plans):,} activities planned for {USERS} users")
        return team.id
    finally:
        await store.close()


async def store_timing(url: str, team: str, runs: int) -> tuple[tuple[float, float], int]:
    store = open_store(url)
    await store.start()
    try:
        members = await store.relationships([team], (RelType.EMPLOYS,), Direction.OUTGOING, None)
        users = tuple(sorted(r.to_id for r in members[team]))
        query = AgendaQuery(users, *MONTH)

        async def read() -> int:
            return len(entries(await store.agenda(query), query))

        count = await read()
        return await timed(runs, read), count
    finally:
        await store.close()


async def http_timing(base: str, team: str, runs: int) -> tuple[float, float]:
    variables = {"team": team, "from": MONTH[0].isoformat(), "to": MONTH[1].isoformat()}
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for _ in range(300):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)

        async def ask() -> None:
            answer = (
                await client.post("/graphql", json={"query": AGENDA, "variables": variables})
            ).json()
            assert "errors" not in answer, answer["errors"]
            assert len(answer["data"]["agenda"]["edges"]) == 100

        return await timed(runs, ask)


def main() -> None:
    args = arguments(__doc__, 20_000, 20)
    team = asyncio.run(prepare(args.graph))
    (median, p95), count = asyncio.run(store_timing(args.graph, team, args.runs))
    with serving(args.graph, "--insecure-anonymous-admin", "--rate-limit", "0") as base:
        http_median, http_p95 = asyncio.run(http_timing(base, team, args.runs))
    print(
        f"| {args.parties:,} parties, {USERS} users, {count:,} entries a month, "
        f"{args.runs} runs | median ms | p95 ms |"
    )
    print("|---|---:|---:|")
    print(f"| store: read and expand the month | {median:.1f} | {p95:.1f} |")
    print(f"| HTTP: agenda(teamId, a month, first: 100) | {http_median:.1f} | {http_p95:.1f} |")


if __name__ == "__main__":
    main()
