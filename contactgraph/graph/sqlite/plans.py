"""Planned work on the embedded store: rewriting an activity, and the activities that
meet an agenda's window."""

from __future__ import annotations

import json
import sqlite3

from ..agenda import MAX_ACTIVITIES, AgendaQuery, too_many
from ..codec import ACTIVITY_FIELDS
from ..model import Activity
from ..tasks import TaskPage, TaskQuery
from ..times import format_instant
from . import activity_search, records
from .rows import activity_params
from .scopes import Reach
from .timelines import Subtree


def rewrite(conn: sqlite3.Connection, activity: Activity) -> None:
    """Store the activity's new state over its old one: its row, the times its subjects'
    timelines order it by, whose agenda it is on, and its words."""
    columns = ", ".join(f"{name} = ?" for name in (*ACTIVITY_FIELDS[1:], "span_start", "span_end"))
    conn.execute(
        f"UPDATE activities SET {columns} WHERE id = ?",
        (*activity_params(activity)[1:], *records.span_params(activity), activity.id),
    )
    conn.execute(
        "UPDATE activity_subjects SET occurred_at = ? WHERE activity_id = ?",
        (format_instant(activity.occurred_at), activity.id),
    )
    conn.execute("DELETE FROM activity_people WHERE activity_id = ?", (activity.id,))
    records.insert_people(conn, [activity])
    activity_search.reindex(conn, activity)


def window(conn: sqlite3.Connection, query: AgendaQuery, inside: Reach) -> list[Activity]:
    """The activities on the people's agendas whose span meets the window: a range of the
    (person, span end) index each, then their rows; those no subject of which is inside
    are left out."""
    clauses = ["p.party_id IN (SELECT value FROM json_each(:people))", "p.span_end >= :since"]
    clauses.append("p.span_start < :until")
    params: dict[str, object] = {
        "people": json.dumps(list(query.people)),
        "since": format_instant(query.since),
        "until": format_instant(query.until),
        "limit": MAX_ACTIVITIES + 1,
    }
    if query.types:
        clauses.append("a.type IN (SELECT value FROM json_each(:types))")
        params["types"] = json.dumps([t.value for t in query.types])
    if query.statuses:
        clauses.append("a.status IN (SELECT value FROM json_each(:statuses))")
        params["statuses"] = json.dumps([s.value for s in query.statuses])
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT p.activity_id FROM activity_people p "
            f"JOIN activities a ON a.id = p.activity_id WHERE {' AND '.join(clauses)} "
            "LIMIT :limit",
            params,
        )
    ]
    too_many(len(ids))
    found = records.activities_by_id(conn, ids)
    allowed = inside.keep(conn, [s for a in found.values() for s in a.subject_ids])
    return [a for a in found.values() if allowed.intersection(a.subject_ids)]


def tasks(conn: sqlite3.Connection, query: TaskQuery, inside: Reach) -> TaskPage:
    """A page of tasks by (due, id): of an assignee (a range of its agenda rows), about a
    subject or its subtree (the closure, or a walk, as roll-ups read it), or both; each
    with a subject the reader may see."""
    clauses = [
        "a.type = 'TASK'",
        "a.status IN (SELECT value FROM json_each(:statuses))",
        "EXISTS (SELECT 1 FROM activity_subjects v WHERE v.activity_id = a.id "
        f"AND {inside.test('v.party_id')})",
    ]
    params: dict[str, object] = {
        **inside.params,
        "statuses": json.dumps([s.value for s in query.statuses]),
        "limit": query.page.first + 1,
    }
    if query.assignee_id is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(a.schedule, '$.assigneeIds') WHERE value = :assignee)"
        )
        params["assignee"] = query.assignee_id
        source = "activity_people p JOIN activities a ON a.id = p.activity_id"
        clauses.append("p.party_id = :assignee")
        due = "p.span_end"
    else:
        source = "activities a"
        due = "a.span_end"
    if query.subject_id is not None:
        members = ":subject"
        if query.rollup is not None:
            subtree = Subtree.of(conn, query.subject_id, query.rollup)
            members = subtree.members
            params |= subtree.params
        clauses.append(
            "EXISTS (SELECT 1 FROM activity_subjects s WHERE s.activity_id = a.id "
            f"AND s.party_id IN ({members}))"
        )
        params["subject"] = query.subject_id
    if query.due_before is not None:
        clauses.append(f"{due} < :due_before")
        params["due_before"] = format_instant(query.due_before)
    after = query.after()
    if after is not None:
        clauses.append(f"({due}, a.id) > (:after_due, :after_id)")
        params["after_due"], params["after_id"] = after
    ids = [
        row[0]
        for row in conn.execute(
            f"SELECT a.id FROM {source} WHERE {' AND '.join(clauses)} "
            f"ORDER BY {due}, a.id LIMIT :limit",
            params,
        )
    ]
    found = records.activities_by_id(conn, ids)
    first = query.page.first
    return TaskPage([found[i] for i in ids[:first]], len(ids) > first)
