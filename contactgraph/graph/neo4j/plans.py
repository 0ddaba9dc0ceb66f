"""Planned work on Neo4j: rewriting an activity, and the activities that meet an
agenda's window."""

from __future__ import annotations

from typing import Any

from ..agenda import MAX_ACTIVITIES, AgendaQuery, too_many
from ..model import Activity
from . import cypher
from .cypher import ACTIVITY_MAP, ACTIVITY_TIMES, WITH_SUBJECTS, Reach, Tx, encode

# an agenda's window is an index range: what ends at or after its start
SCHEMA = ("CREATE INDEX activity_span IF NOT EXISTS FOR (a:Activity) ON (a.span_end)",)
# activities recorded before scheduling existed get their span and people in batches of
# this many, once, when the index above is made
BACKFILL_BATCH = 10_000
BACKFILL = (
    "MATCH (a:Activity) WHERE a.span_end IS NULL WITH a LIMIT $batch "
    "SET a.span_start = a.occurred_at, a.span_end = a.occurred_at, a.people = [a.author_id] "
    "RETURN count(a) AS done"
)


async def rewrite(tx: Tx, activity: Activity) -> None:
    """Store the activity's new state over its old one, and the times its subjects'
    timelines order it by."""
    await tx.run(
        f"MATCH (a:Activity {{id: $id}}) SET a = $props, {ACTIVITY_TIMES} "
        "WITH a MATCH (a)-[s:ABOUT]->() SET s.occurred_at = a.occurred_at",
        id=activity.id,
        props=cypher.planned_props(activity),
    )


async def window(tx: Tx, query: AgendaQuery, inside: Reach) -> list[Activity]:
    """The activities on the people's agendas whose span meets the window, that the
    reader may see."""
    params: dict[str, Any] = {
        "people": list(query.people),
        "since": encode(query.since),
        "until": encode(query.until),
        "types": [t.value for t in query.types],
        "statuses": [s.value for s in query.statuses],
        "limit": MAX_ACTIVITIES + 1,
        **inside.params,
    }
    result = await tx.run(
        "MATCH (a:Activity) WHERE a.span_end >= datetime($since) "
        "AND a.span_start < datetime($until) AND any(p IN a.people WHERE p IN $people) "
        "AND ($types = [] OR a.type IN $types) "
        "AND ($statuses = [] OR coalesce(a.status, 'DONE') IN $statuses) "
        f"AND {inside.shows('a')} WITH a LIMIT $limit "
        f"{WITH_SUBJECTS} RETURN collect([{ACTIVITY_MAP}, subjects]) AS rows",
        params,
    )
    found = [cypher.activity(row, subjects) for row, subjects in await cypher.collected(result)]
    too_many(len(found))
    return found
