"""Full-text search of activities on the embedded store: an FTS5 table keyed by each
activity's rowid, holding the tokens graph/search.py makes of its summary and body (so
both stores match the same words), written in the transaction that writes the activity;
and the graph-wide activity list that searches it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from ..cursors import decode_cursor
from ..model import Activity, ActivityQuery
from ..search import activity_text, query_terms
from ..times import format_instant
from .scopes import Reach

TABLE = "CREATE VIRTUAL TABLE activity_search USING fts5(body, tokenize = 'unicode61')"
_INSERT = (
    "INSERT INTO activity_search (rowid, body) "
    "VALUES ((SELECT rowid FROM activities WHERE id = ?), ?)"
)
# the ids of the activities matching :search, read once into a list that rows are tested
# against (`+` keeps the planner from reading the matches' subjects row by row instead)
MATCHING = (
    "SELECT m.id FROM activity_search f JOIN activities m ON m.rowid = f.rowid "
    "WHERE activity_search MATCH :search"
)


def fts_query(text: str) -> str:
    """Every term a quoted prefix, all required: terms are letters and digits only, so
    no user text is read as FTS5 syntax (quotes, NEAR, AND, *, column filters)."""
    return " ".join(f'"{term}"*' for term in query_terms(text))


def _matched(conn: sqlite3.Connection, search: str) -> tuple[int, int]:
    """How many activities a search matches, and about how many there are."""
    found = conn.execute(
        "SELECT count(*) FROM activity_search WHERE activity_search MATCH ?", (fts_query(search),)
    ).fetchone()[0]
    stored = conn.execute("SELECT coalesce(max(rowid), 0) FROM activities").fetchone()[0]
    return int(found), int(stored)


def share(conn: sqlite3.Connection, search: str) -> float:
    """The share of all activities a search matches: what a roll-up's plan weighs."""
    found, stored = _matched(conn, search)
    return found / stored if stored else 0.0


def rows(activities: Sequence[Activity]) -> list[tuple[str, str]]:
    """What `write` indexes of each activity: its id and its words."""
    return [(a.id, activity_text(a.summary, a.body)) for a in activities]


def write(conn: sqlite3.Connection, text: Sequence[tuple[str, str]]) -> None:
    """Index activities just inserted, in the caller's transaction."""
    conn.executemany(_INSERT, text)


def reindex(conn: sqlite3.Connection, activity: Activity) -> None:
    """Index a changed activity's words in place of its old ones, in the caller's
    transaction."""
    conn.execute(
        "DELETE FROM activity_search WHERE rowid = (SELECT rowid FROM activities WHERE id = ?)",
        (activity.id,),
    )
    write(conn, rows([activity]))


def migrate(conn: sqlite3.Connection) -> None:
    """15: activity text searchable; every stored activity indexed."""
    conn.execute(TABLE)
    rows = conn.execute("SELECT rowid, summary, body FROM activities")
    conn.executemany(
        "INSERT INTO activity_search (rowid, body) VALUES (?, ?)",
        ((rowid, activity_text(summary, body)) for rowid, summary, body in rows),
    )


def window(conn: sqlite3.Connection, query: ActivityQuery, inside: Reach) -> list[str]:
    """The ids of one page of the graph's activities newest first (ties by id), plus one to
    tell if more follow, each with a subject inside the reader's reach. Searched, the
    matches are read first and sorted by time: the cost grows with the matches."""
    clauses: list[str] = []
    params: dict[str, object] = {"limit": query.page.first + 1, **inside.params}
    if query.search is not None:
        # the matches sorted by time, or (`+`) all activities scanned newest first keeping
        # the matches: a page of a common word's is near, the rest of a rare one's far
        found, stored = _matched(conn, query.search)
        scan = "+" if found * found > stored * query.page.first else ""
        clauses.append(
            f"{scan}a.rowid IN (SELECT rowid FROM activity_search WHERE activity_search MATCH "
            ":search)"
        )
        params["search"] = fts_query(query.search)
    if query.types:
        clauses.append("a.type IN (SELECT value FROM json_each(:types))")
        params["types"] = json.dumps([t.value for t in query.types])
    if query.since:
        clauses.append("a.occurred_at >= :since")
        params["since"] = format_instant(query.since)
    if query.until:
        clauses.append("a.occurred_at < :until")
        params["until"] = format_instant(query.until)
    if query.page.after:
        clauses.append("(a.occurred_at, a.id) < (:after_time, :after_id)")
        params["after_time"], params["after_id"] = decode_cursor(query.page.after, 2)
    subject = f"s.activity_id = a.id AND {inside.test('s.party_id')}"
    if query.subject_ids:
        subject += " AND s.party_id IN (SELECT value FROM json_each(:subjects))"
        params["subjects"] = json.dumps(list(query.subject_ids))
    clauses.append(f"EXISTS (SELECT 1 FROM activity_subjects s WHERE {subject})")
    sql = (
        f"SELECT a.id FROM activities a WHERE {' AND '.join(clauses)} "
        "ORDER BY a.occurred_at DESC, a.id DESC LIMIT :limit"
    )
    return [row[0] for row in conn.execute(sql, params)]
