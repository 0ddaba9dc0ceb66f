"""Process steps on Neo4j: a (:ProcessStep) node per step, its definition as the run
started in `body` (process_runs.encode), beside the properties a party's runs and a
worklist are read by. Activity and party writes lock their parties first, so two writes
about one party judge its open steps one after the other."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from .. import process_context, process_dates
from ..attribute_filters import ATTRIBUTE_PREFIX
from ..history import Actor, Change
from ..model import DEFAULT_HIERARCHY_TYPES, Activity, Category, Party, Relationship, RelType
from ..process_context import Found, Wants
from ..process_runs import (
    Outcome,
    Pending,
    RunStep,
    decode,
    encode,
    on_activity,
    on_link,
    on_party,
)
from ..times import format_instant, parse_instant, utcnow
from ..worklist import WorklistPage, WorklistQuery
from . import cypher, identity, walks
from .cypher import VALID_AT, Prepared, Reach, Tx, Write

# the label of an open step whose OVERDUE is not told yet: its index holds only those, so
# the overdue watch reads its next wake-up and claims what fell due from its front
UNTOLD = "UntoldDue"
SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT process_step_id IF NOT EXISTS FOR (s:ProcessStep) REQUIRE s.id IS UNIQUE",
    "CREATE INDEX process_step_party IF NOT EXISTS FOR (s:ProcessStep) ON (s.party_id)",
    "CREATE INDEX process_step_assignee IF NOT EXISTS "
    "FOR (s:ProcessStep) ON (s.assignee_id, s.due_at)",
    f"CREATE INDEX process_step_untold IF NOT EXISTS FOR (s:{UNTOLD}) ON (s.due_at)",
)
# the open steps of a graph older than the index above, none of them told yet
MARK_UNTOLD = (
    "MATCH (s:ProcessStep) WHERE s.done_at IS NULL AND s.overdue_sent_at IS NULL "
    f"AND NOT s:{UNTOLD} WITH s LIMIT $batch SET s:{UNTOLD} RETURN count(s) AS done"
)
# levels above a party a RESPONSIBLE or ROLE step looks for its user
RESPONSIBLE_DEPTH = 64
SWEEP_LOCK = "MERGE (l:WriteLock {name: 'process-dates'}) SET l._lock = true REMOVE l._lock"


async def steps(tx: Tx, party_ids: Iterable[str], open_only: bool) -> dict[str, list[RunStep]]:
    """Each party's steps, oldest run first."""
    done = " AND s.done_at IS NULL" if open_only else ""
    result = await tx.run(
        f"UNWIND $ids AS id MATCH (s:ProcessStep {{party_id: id}}) WHERE true{done} "
        "WITH s ORDER BY s.seq RETURN collect([s.party_id, s.body]) AS rows",
        ids=list(dict.fromkeys(party_ids)),
    )
    return grouped(await cypher.collected(result))


def grouped(rows: Iterable[Sequence[str]]) -> dict[str, list[RunStep]]:
    """Steps read as [party id, body] rows, by party, in the order read."""
    found: dict[str, list[RunStep]] = defaultdict(list)
    for party_id, body in rows:
        found[party_id].append(decode(body))
    return found


async def found(tx: Tx, wants: Wants) -> Found:
    """What the write's new runs need (process_context), read now: the chains up of the
    parties whose steps go to a responsible user or a role holder, who is responsible
    at each party of them (the longest-standing edge there), the grants of the roles,
    and the categories of the parties' PART_OF and MEMBER_OF parents."""
    now = utcnow()
    starts = list(wants.chains())
    above = (
        await walks.ancestors(tx, starts, DEFAULT_HIERARCHY_TYPES, RESPONSIBLE_DEPTH, now)
        if starts
        else {}
    )
    chains = {s: [s, *(row.party.id for row in above[s].rows)] for s in starts}
    holder: dict[str, str] = {}
    if wants.responsible:
        result = await tx.run(
            f"UNWIND $ids AS id MATCH (:Party {{id: id}})<-[r:{RelType.RESPONSIBLE_FOR.value}]-(u) "
            f"WHERE {VALID_AT} WITH id, u, r ORDER BY r.since, r.id "
            "WITH id, collect(u.id)[0] AS holder RETURN collect([id, holder]) AS rows",
            ids=list({p for s in wants.responsible for p in chains[s]}),
            at=cypher.encode(now),
        )
        holder = dict(await cypher.collected(result))
    grants = await identity.grants_of_roles(tx, wants.role_names()) if wants.roles else []
    return Found(
        responsible=process_context.responsible({s: chains[s] for s in wants.responsible}, holder),
        holders=process_context.holders(wants, chains, grants),
        parent_categories=await _parent_categories(tx, wants.parents, now),
    )


async def _parent_categories(
    tx: Tx, party_ids: Iterable[str], now: datetime
) -> dict[str, frozenset[str]]:
    wanted = list(party_ids)
    if not wanted:
        return {}
    result = await tx.run(
        "UNWIND $ids AS id MATCH (:Party {id: id})-[r:PART_OF|MEMBER_OF]->(p:Party) "
        f"WHERE {VALID_AT} AND p.category_id IS NOT NULL "
        "WITH id, collect(DISTINCT p.category_id) AS found RETURN collect([id, found]) AS rows",
        ids=wanted,
        at=cypher.encode(now),
    )
    return {p: frozenset(c) for p, c in await cypher.collected(result)}


async def for_activity(tx: Tx, activity: Activity, read: Prepared, actor: Actor) -> Outcome:
    """What recording the activity does to the runs of its subjects (process_runs), from
    their open steps as its `cypher.preparing` read them."""
    held = open_of(read, activity.subject_ids)
    pending = on_activity(activity, read.parties, read.categories, held, actor)
    return pending.outcome(await found(tx, pending.wants()))


async def for_party(
    tx: Tx,
    party: Party,
    before: Party | None,
    actor: Actor,
    categories: Mapping[str, Category],
    held: Sequence[RunStep] = (),
) -> Outcome:
    """What writing the party does to its runs (process_runs.on_party), from the
    categories the write read and, for a change, the party's open steps (`open_of`)."""
    category = categories.get(party.category_id or "")
    pending = on_party(party, before, category, list(held), actor)
    return pending.outcome(await found(tx, pending.wants()))


def on_new_edge(
    rel: Relationship, ends: Mapping[str, Party], read: Prepared, actor: Actor
) -> Pending:
    """What creating the relationship does to the runs of its ends (process_runs.on_link),
    from their open steps as the link's `cypher.preparing` read them."""
    return on_link(rel, ends, read.categories, open_of(read, [rel.from_id, rel.to_id]), actor)


def open_of(read: Prepared, party_ids: Sequence[str]) -> list[RunStep]:
    """The open steps `read` holds of the parties, party by party, oldest run first."""
    held = grouped(read.open_steps)
    return [s for i in party_ids for s in held.get(i, [])]


async def sweep(tx: Tx) -> Outcome:
    """The runs of the dates reached today that have not started (process_dates): per
    DATE_REACHED process, a range of its attribute's index in its category. The sweep
    lock first: two sweeps at once take turns, the second seeing what the first stored."""
    await tx.run(SWEEP_LOCK)
    categories = await cypher.categories(tx)
    reached: list[process_dates.Reached] = []
    for watched in process_dates.watched(categories.values(), utcnow()):
        prop = f"{ATTRIBUTE_PREFIX}{watched.field}"
        result = await tx.run(
            f"MATCH (p:Party) WHERE p.`{prop}` <= $cutoff AND p.category_id = $category "
            f"AND p.archived_at IS NULL RETURN collect([p.id, p.`{prop}`]) AS rows",
            cutoff=watched.cutoff,
            category=watched.category.id,
        )
        reached += [
            process_dates.Reached(i, watched, date) for i, date in await cypher.collected(result)
        ]
    result = await tx.run(
        "UNWIND $ids AS id MATCH (s:ProcessStep {id: id}) RETURN collect(s.id) AS rows",
        ids=[r.first_step_id() for r in reached],
    )
    fresh = process_dates.fresh(reached, set(await cypher.collected(result)))
    parties = await cypher.parties(tx, list({r.party_id for r in fresh})) if fresh else {}
    pending = process_dates.pending(fresh, parties)
    return pending.outcome(await found(tx, pending.wants()))


def writes(outcome: Outcome, actor: Actor) -> tuple[list[Write], list[Change]]:
    """The writes of the steps opened and closed, and their history entries."""
    found = [
        Write(
            f"UNWIND $rows AS row CREATE (s:ProcessStep:{UNTOLD}) SET s = row",
            # the order they were opened in, the order a party's runs are read in
            [
                {**_props(s), "seq": f"{format_instant(s.opened_at)}#{i:04d}"}
                for i, s in enumerate(outcome.opened)
            ],
        ),
        Write(
            "UNWIND $rows AS row MATCH (s:ProcessStep {id: row.id}) "
            f"SET s.done_at = row.done_at, s.body = row.body REMOVE s:{UNTOLD}",
            [_props(s) for s in outcome.closed],
        ),
    ]
    return [w for w in found if w.rows], outcome.entries(actor, utcnow())


def _props(step: RunStep) -> dict[str, object]:
    return {
        "id": step.id,
        "party_id": step.party_id,
        "category_id": step.category_id,
        "assignee_id": step.assignee_id,
        "due_at": format_instant(step.due_at),
        "done_at": None if step.done_at is None else format_instant(step.done_at),
        "body": encode(step),
    }


async def worklist(tx: Tx, query: WorklistQuery, inside: Reach) -> WorklistPage:
    """A page of the assignee's open steps by (due, id), of parties the reader may see:
    a range of the worklist index (due times are fixed-width text, ordered as instants)."""
    after = query.after()
    result = await tx.run(
        "MATCH (s:ProcessStep) WHERE s.assignee_id = $assignee "
        "AND s.done_at IS NULL "
        "AND (size($categories) = 0 OR s.category_id IN $categories) "
        "AND ($due_before IS NULL OR s.due_at < $due_before) "
        "AND ($after_due IS NULL OR s.due_at > $after_due "
        "OR (s.due_at = $after_due AND s.id > $after_id)) "
        f"MATCH (p:Party {{id: s.party_id}}) WHERE {inside.test('p')} "
        "WITH s ORDER BY s.due_at, s.id LIMIT $limit RETURN collect(s.body) AS rows",
        {
            **inside.params,
            "assignee": query.assignee_id,
            "categories": list(query.category_ids),
            "due_before": None if query.due_before is None else format_instant(query.due_before),
            "after_due": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": query.page.first + 1,
        },
    )
    found = [decode(body) for body in await cypher.collected(result)]
    return WorklistPage(found[: query.page.first], len(found) > query.page.first)


async def next_due(tx: Tx) -> datetime | None:
    """When the next open step falls due that no process has told of yet."""
    result = await tx.run(
        f"MATCH (s:{UNTOLD}) WHERE s.due_at IS NOT NULL "
        "WITH s.due_at AS due ORDER BY due LIMIT 1 RETURN collect(due) AS rows"
    )
    found = await cypher.collected(result)
    return parse_instant(found[0]) if found else None


async def claim_overdue(tx: Tx, now: datetime, first: int) -> list[RunStep]:
    """Mark up to `first` open steps due before `now` as told, soonest first, and return
    them. Each is locked and read again before it is marked: of processes claiming at
    once, one claims each, and a step done meanwhile is not claimed."""
    at = format_instant(now)
    result = await tx.run(
        f"MATCH (s:{UNTOLD}) WHERE s.due_at < $now "
        "WITH s ORDER BY s.due_at, s.id LIMIT $first RETURN collect(s.id) AS rows",
        now=at,
        first=first,
    )
    ids = await cypher.collected(result)
    await tx.run(
        "UNWIND $ids AS id MATCH (s:ProcessStep {id: id}) SET s._lock = true REMOVE s._lock",
        ids=ids,
    )
    result = await tx.run(
        f"UNWIND $ids AS id MATCH (s:ProcessStep {{id: id}}) WHERE s:{UNTOLD} "
        f"REMOVE s:{UNTOLD} SET s.overdue_sent_at = $now "
        "WITH s ORDER BY s.due_at, s.id RETURN collect(s.body) AS rows",
        ids=ids,
        now=at,
    )
    return [decode(body) for body in await cypher.collected(result)]
