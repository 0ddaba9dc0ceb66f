"""Planned work on Neo4j: rewriting an activity, and the activities that meet an
agenda's window."""

from __future__ import annotations

from typing import Any

from ..agenda import MAX_ACTIVITIES, AgendaQuery, too_many
from ..model import Activity
from ..tasks import TaskPage, TaskQuery
from . import cypher
from .cypher import ACTIVITY_MAP, ACTIVITY_TIMES, WITH_SUBJECTS, Reach, Tx, encode
from .walks import Hierarchy

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


async def tasks(tx: Tx, query: TaskQuery, inside: Reach) -> TaskPage:
    """A page of tasks by (due, id): of an assignee, about a subject or the parties below
    it (a walk down the roll-up's hierarchy), or both; each with a subject the reader
    may see."""
    after = query.after()
    params: dict[str, Any] = {
        **inside.params,
        "statuses": [s.value for s in query.statuses],
        "assignee": query.assignee_id,
        "subject": query.subject_id,
        "due_before": encode(query.due_before) if query.due_before else None,
        "after_due": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": query.page.first + 1,
    }
    if query.subject_id is None:
        match = "MATCH (a:Activity {type: 'TASK'}) WHERE $assignee IN a.assignees"
    else:
        depth = 0
        if query.rollup is not None:
            depth = query.rollup.max_depth
            params["at"] = encode(query.rollup.as_of)
        down = Hierarchy(query.rollup.types if query.rollup else (), downward=True)
        match = (
            f"MATCH (root:Party {{id: $subject}}) CALL (root) {{ {down.members('root', depth)} }} "
            "MATCH (x)<-[:ABOUT]-(a:Activity {type: 'TASK'}) WITH DISTINCT a "
            "WHERE ($assignee IS NULL OR $assignee IN a.assignees)"
        )
    result = await tx.run(
        f"{match} AND coalesce(a.status, 'DONE') IN $statuses AND {inside.shows('a')} "
        "AND ($due_before IS NULL OR a.span_end < datetime($due_before)) "
        "AND ($after_due IS NULL OR a.span_end > datetime($after_due) "
        "OR (a.span_end = datetime($after_due) AND a.id > $after_id)) "
        "WITH a ORDER BY a.span_end, a.id LIMIT $limit "
        f"{WITH_SUBJECTS} RETURN collect([{ACTIVITY_MAP}, subjects]) AS rows",
        params,
    )
    found = [cypher.activity(row, subjects) for row, subjects in await cypher.collected(result)]
    first = query.page.first
    return TaskPage(found[:first], len(found) > first)
