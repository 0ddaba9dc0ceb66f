"""The history tables: entries appended in the writer's transaction, read newest first.

`history` holds each entry once; `history_subjects` one row per (subject, entry), so a
node's history is one index range. Triggers refuse UPDATE and DELETE on both: no code
path, however wrong, rewrites the past.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

import orjson

from ..cursors import decode_cursor
from ..history import AuditQuery, Change, ChangeKind, ChangePage, snapshot
from ..merging import MAX_HOPS
from ..model import Page, Party
from ..times import format_instant, parse_instant
from .rows import MERGED_INTO

TABLES = """
CREATE TABLE history (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    actor_id    TEXT,
    request_id  TEXT,
    subject_ids TEXT NOT NULL,
    fields      TEXT NOT NULL,
    party_id    TEXT,
    version     INTEGER
);
CREATE INDEX history_time ON history(at, id);
CREATE INDEX history_actor ON history(actor_id, at, id) WHERE actor_id IS NOT NULL;
CREATE INDEX history_party ON history(party_id, at) WHERE party_id IS NOT NULL;
CREATE TABLE history_subjects (
    subject_id TEXT NOT NULL,
    at         TEXT NOT NULL,
    id         TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (subject_id, at, id)
) WITHOUT ROWID;
CREATE TRIGGER history_kept BEFORE UPDATE ON history
BEGIN SELECT RAISE(ABORT, 'history entries cannot be changed'); END;
CREATE TRIGGER history_not_removed BEFORE DELETE ON history
BEGIN SELECT RAISE(ABORT, 'history entries cannot be removed'); END;
CREATE TRIGGER history_subjects_kept BEFORE UPDATE ON history_subjects
BEGIN SELECT RAISE(ABORT, 'history entries cannot be changed'); END;
CREATE TRIGGER history_subjects_not_removed BEFORE DELETE ON history_subjects
BEGIN SELECT RAISE(ABORT, 'history entries cannot be removed'); END;
"""

COLUMNS = "h.id, h.at, h.kind, h.actor_id, h.request_id, h.subject_ids, h.fields, h.version"
_INSERT = (
    "INSERT INTO history (seq, id, at, kind, actor_id, request_id, subject_ids, fields, "
    "party_id, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_SUBJECT = "INSERT INTO history_subjects (subject_id, at, id, seq) VALUES (?, ?, ?, ?)"
_KINDS = {member.value: member for member in ChangeKind}


# seq, id, at, kind, actor, request, subjects, fields, party, version (_INSERT's order)
Entry = tuple[int, str, str, str, str | None, str | None, str, str, str | None, int | None]


class EntryRows(NamedTuple):
    """Entries as their insert statements take them, numbered from `first`: a seed makes
    them in the generator's process, numbered from where the history ends then."""

    first: int
    entries: list[Entry]
    subjects: list[tuple[str, str, str, int]]

    def numbered_from(self, first: int) -> EntryRows:
        """The same entries numbered from `first` (when others were appended meanwhile)."""
        shift = first - self.first
        return EntryRows(
            first,
            [(row[0] + shift, *row[1:]) for row in self.entries],
            [(*row[:3], row[3] + shift) for row in self.subjects],
        )


def entry_rows(changes: Iterable[Change], first: int) -> EntryRows:
    entries: list[Entry] = []
    subjects: list[tuple[str, str, str, int]] = []
    for seq, change in enumerate(changes, start=first):
        at = format_instant(change.at)
        entries.append(
            (
                seq,
                change.id,
                at,
                change.kind.value,
                change.actor_id,
                change.request_id,
                orjson.dumps(change.subject_ids).decode(),
                change.fields_json(),
                change.party_id,
                change.version,
            )
        )
        named = dict.fromkeys((*change.subject_ids, *change.mentions))
        subjects.extend((subject, at, change.id, seq) for subject in named)
    return EntryRows(first, entries, subjects)


def next_seq(conn: sqlite3.Connection) -> int:
    """The number the next entry takes: rows are numbered on from the last (the writer
    thread is the only one), so each subject row names its entry by rowid and no second
    index on the entries' ids is needed."""
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM history").fetchone()[0]) + 1


def write(conn: sqlite3.Connection, rows: EntryRows) -> None:
    """Append the entries, renumbered if the history grew since they were numbered."""
    first = next_seq(conn)
    if first != rows.first:
        rows = rows.numbered_from(first)
    conn.executemany(_INSERT, rows.entries)
    conn.executemany(_INSERT_SUBJECT, rows.subjects)


def append(conn: sqlite3.Connection, changes: Iterable[Change]) -> None:
    write(conn, entry_rows(changes, next_seq(conn)))


def change_of(row: sqlite3.Row) -> Change:
    return Change(
        id=row["id"],
        at=parse_instant(row["at"]),
        kind=_KINDS[row["kind"]],
        subject_ids=tuple(orjson.loads(row["subject_ids"])),
        actor_id=row["actor_id"],
        request_id=row["request_id"],
        fields=Change.fields_of(row["fields"]),
        version=row["version"],
    )


def _after(page: Page, at: str, id_: str) -> tuple[str, dict[str, object]]:
    """The keyset condition for a newest-first page, and its parameters."""
    if page.after is None:
        return "1", {}
    cursor_at, cursor_id = decode_cursor(page.after, 2)
    return f"({at}, {id_}) < (:cursor_at, :cursor_id)", {
        "cursor_at": cursor_at,
        "cursor_id": cursor_id,
    }


def _page(rows: list[sqlite3.Row], page: Page) -> ChangePage:
    return ChangePage([change_of(r) for r in rows[: page.first]], len(rows) > page.first)


def _lineage(conn: sqlite3.Connection, subject_id: str) -> list[str]:
    """The subject and every party merged into it, however many merges back: a survivor's
    history holds theirs (bounded as node(id) follows merges)."""
    found, frontier = [subject_id], [subject_id]
    for _ in range(MAX_HOPS):
        frontier = [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM parties WHERE {MERGED_INTO} IN (SELECT value FROM json_each(?))",
                (orjson.dumps(frontier).decode(),),
            )
        ]
        if not frontier:
            break
        found += frontier
    return found


def of_subjects(
    conn: sqlite3.Connection, subject_ids: Sequence[str], page: Page, hidden: Iterable[ChangeKind]
) -> dict[str, ChangePage]:
    after, params = _after(page, "h.at", "h.id")
    statement = (
        f"SELECT DISTINCT {COLUMNS} FROM history_subjects s JOIN history h ON h.seq = s.seq "
        f"WHERE s.subject_id IN (SELECT value FROM json_each(:lineage)) AND {after} "
        "AND h.kind NOT IN (SELECT value FROM json_each(:hidden)) "
        "ORDER BY h.at DESC, h.id DESC LIMIT :limit"
    )
    params.update(
        hidden=orjson.dumps(sorted(k.value for k in hidden)).decode(), limit=page.first + 1
    )
    return {
        subject: _page(
            conn.execute(
                statement,
                {**params, "lineage": orjson.dumps(_lineage(conn, subject)).decode()},
            ).fetchall(),
            page,
        )
        for subject in dict.fromkeys(subject_ids)
    }


def audit(conn: sqlite3.Connection, query: AuditQuery, page: Page) -> ChangePage:
    clauses: list[str] = []
    params: dict[str, object] = {"limit": page.first + 1}
    source = "history h"
    at, id_ = "h.at", "h.id"
    if query.subject_id is not None:
        source = "history_subjects s JOIN history h ON h.seq = s.seq"
        at, id_ = "s.at", "s.id"
        clauses.append("s.subject_id = :subject")
        params["subject"] = query.subject_id
    if query.actor_id is not None:
        clauses.append("h.actor_id = :actor")
        params["actor"] = query.actor_id
    if query.since is not None:
        clauses.append(f"{at} >= :since")
        params["since"] = format_instant(query.since)
    if query.until is not None:
        clauses.append(f"{at} < :until")
        params["until"] = format_instant(query.until)
    after, cursor = _after(page, at, id_)
    clauses.append(after)
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM {source} WHERE {' AND '.join(clauses)} "
        f"ORDER BY {at} DESC, {id_} DESC LIMIT :limit",
        {**params, **cursor},
    ).fetchall()
    return _page(rows, page)


def snapshots(
    conn: sqlite3.Connection, parties: Mapping[str, Party], as_of: datetime
) -> dict[str, Party]:
    """Each party's own fields as they were at `as_of`, for those that existed then."""
    at = format_instant(as_of)
    found: dict[str, Party] = {}
    for party_id, party in parties.items():
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM history h WHERE h.party_id = ? AND h.at > ?",
            (party_id, at),
        ).fetchall()
        last = conn.execute(
            "SELECT max(at) FROM history WHERE party_id = ? AND at <= ?", (party_id, at)
        ).fetchone()[0]
        past = snapshot(
            party,
            as_of,
            [change_of(r) for r in rows],
            None if last is None else parse_instant(last),
        )
        if past is not None:
            found[party_id] = past
    return found


def merges_of(conn: sqlite3.Connection, party_id: str) -> list[Change]:
    """The party's MERGED entries, latest first: as survivor and as the one merged."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM history h WHERE h.party_id = ? AND h.kind = 'MERGED' "
        "ORDER BY h.version DESC",
        (party_id,),
    )
    return [change_of(row) for row in rows]
