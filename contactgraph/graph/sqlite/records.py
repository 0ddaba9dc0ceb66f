"""Statements the embedded store's methods share, each run inside the caller's transaction:
reading records by id, checking and writing parties and activities."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from .. import attributes, rules, schedules
from ..carried import Carried
from ..codec import ACTIVITY_FIELDS, PARTY_KINDS
from ..errors import BadUserInput, Conflict
from ..levels import Level, check_level
from ..model import (
    Activity,
    Below,
    Category,
    Party,
    PartyKind,
    PartyRef,
    Relationship,
    TreeReading,
    TreeRow,
)
from ..search import fiscal_text, indexed_text
from ..times import format_instant
from . import activity_search, closure, keys
from .rows import (
    PARTY_COLUMNS,
    REL_COLUMNS,
    activity_from_row,
    activity_params,
    category_from_row,
    party_from_row,
    party_params,
    relationship_from_row,
)
from .scopes import Reach, parties_inside
from .walks import Reached

INSERT_PARTY = f"INSERT INTO parties ({PARTY_COLUMNS}) VALUES ({', '.join('?' * 16)})"
UPDATE_PARTY = (
    "UPDATE parties SET kind = ?, legal_form = ?, category_id = ?, display_name = ?, name = ?, "
    "first_name = ?, last_name = ?, unit_type = ?, username = ?, contact_id = ?, details = ?, "
    "version = ?, created_at = ?, updated_at = ?, archived_at = ? WHERE id = ?"
)
INSERT_SEARCH = (
    "INSERT INTO party_search (rowid, body, fiscal) "
    "VALUES ((SELECT seq FROM parties WHERE id = ?), ?, ?)"
)
INSERT_TAG = "INSERT OR IGNORE INTO party_tags (tag, party_id) VALUES (?, ?)"
INSERT_REL = f"INSERT INTO relationships ({REL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_ACTIVITY = (
    f"INSERT INTO activities ({', '.join(ACTIVITY_FIELDS)}, span_start, span_end) "
    f"VALUES ({', '.join('?' * (len(ACTIVITY_FIELDS) + 2))})"
)
# whose agenda an activity is on, found by the end of its span (schedules.span)
INSERT_PERSON = (
    "INSERT INTO activity_people (party_id, span_end, activity_id, span_start) VALUES (?, ?, ?, ?)"
)
INSERT_SUBJECT = (
    "INSERT INTO activity_subjects (party_id, occurred_at, activity_id, type, position) "
    "VALUES (?, ?, ?, ?, ?)"
)
IN_LIST = "IN (SELECT value FROM json_each(?))"


def bound_list(values: Iterable[object]) -> str:
    """A list bound as one JSON parameter, so IN lists have no variable limit."""
    return json.dumps(list(values))


def parties_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, Party]:
    rows = conn.execute(
        f"SELECT {PARTY_COLUMNS} FROM parties WHERE id {IN_LIST}",
        (bound_list(set(ids)),),
    )
    return {row["id"]: party_from_row(row) for row in rows}


def refs_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, PartyRef]:
    """Parties by id, kind and name only: decoding thousands of whole rows costs more than
    the statement that finds them."""
    found = conn.execute(
        f"SELECT id, kind, display_name FROM parties WHERE id {IN_LIST}", (bound_list(set(ids)),)
    )
    return {row[0]: PartyRef(row[0], PARTY_KINDS[row[1]], row[2]) for row in found}


def parties_read(
    conn: sqlite3.Connection, ids: Iterable[str], reading: TreeReading
) -> dict[str, Party | PartyRef]:
    """Whole parties when `reading` asks for them, else by id, kind and name."""
    if reading.parties:
        return dict(parties_by_id(conn, ids))
    return dict(refs_by_id(conn, ids))


def party_by_id(conn: sqlite3.Connection, party_id: str) -> Party:
    return rules.found(parties_by_id(conn, [party_id]), [party_id])[0]


def levels(conn: sqlite3.Connection) -> dict[str, Level]:
    rows = conn.execute("SELECT id, name, rank, description FROM levels ORDER BY rank")
    return {row[0]: Level(*row) for row in rows}


def categories(conn: sqlite3.Connection, ids: Sequence[str] | None) -> dict[str, Category]:
    if ids is None:
        rows = conn.execute("SELECT * FROM categories ORDER BY name")
    else:
        rows = conn.execute(f"SELECT * FROM categories WHERE id {IN_LIST}", (bound_list(ids),))
    return {row["id"]: category_from_row(row) for row in rows}


def activities_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, Activity]:
    bound = bound_list(set(ids))
    subjects: dict[str, list[str]] = defaultdict(list)
    for activity_id, party_id in conn.execute(
        f"SELECT activity_id, party_id FROM activity_subjects WHERE activity_id {IN_LIST} "
        "ORDER BY activity_id, position",
        (bound,),
    ):
        subjects[activity_id].append(party_id)
    rows = conn.execute(f"SELECT * FROM activities WHERE id {IN_LIST}", (bound,))
    return {row["id"]: activity_from_row(row, tuple(subjects[row["id"]])) for row in rows}


def _edges(
    conn: sqlite3.Connection, rows: Sequence[tuple[str, Reached]]
) -> dict[str, Relationship]:
    """The edges the parties a walk reached were reached by."""
    bound = bound_list({reached.rel_id for _, reached in rows})
    return {
        rel_row["id"]: relationship_from_row(rel_row)
        for rel_row in conn.execute(
            f"SELECT {REL_COLUMNS} FROM relationships WHERE id {IN_LIST}", (bound,)
        )
    }


def tree_rows(conn: sqlite3.Connection, rows: Sequence[tuple[str, Reached]]) -> list[TreeRow]:
    """Parties a walk reached, with their parties and the edges they were reached by."""
    parties = parties_by_id(conn, [party_id for party_id, _ in rows])
    rels = _edges(conn, rows)
    return [
        TreeRow(parties[party_id], reached.depth, reached.parent, rels[reached.rel_id])
        for party_id, reached in rows
    ]


def below(
    conn: sqlite3.Connection,
    rows: Sequence[tuple[str, Reached]],
    reading: TreeReading,
    named: Mapping[str, PartyRef] | None = None,
) -> list[Below]:
    """Parties a walk reached, read as `reading` asks (by id, kind and name from `named`
    when the walk's statement found them), with the edges they were reached by when those
    are read."""
    parties: Mapping[str, Party | PartyRef] = (
        named if named is not None else parties_read(conn, [p for p, _ in rows], reading)
    )
    rels = _edges(conn, rows) if reading.edges else {}
    return [
        Below(
            parties[party_id],
            reached.depth,
            reached.parent if reading.parents else None,
            rels.get(reached.rel_id),
        )
        for party_id, reached in rows
    ]


def check_party(
    conn: sqlite3.Connection, party: Party, region: str | None, before: Party | None = None
) -> Party:
    """The party to write, as rules.check_party gives it, once the unique values it takes
    are free; `before` is the stored party a change starts from."""
    wanted = party.category_id
    category = categories(conn, [wanted]).get(wanted) if wanted is not None else None
    party = rules.check_party(party, category, region, before)
    if party.unit_type is not None:
        check_level(party, levels(conn))
    named = attributes.references(party, category, before)
    if named:
        attributes.check_references(named, parties_by_id(conn, list(named.values())))
    keys.check_claims(conn, rules.claims(party, before))
    if party.username is not None:
        row = conn.execute(
            "SELECT id FROM parties WHERE username = ? AND id != ?", (party.username, party.id)
        ).fetchone()
        if row is not None:
            raise Conflict(f"username {party.username!r} is taken")
    if party.contact_id is not None:
        contact = party_by_id(conn, party.contact_id)
        if contact.kind is not PartyKind.CONTACT:
            raise BadUserInput(f"{party.contact_id} is a {contact.kind.value}, not a CONTACT")
    return party


class PartyRows(NamedTuple):
    """New parties as their insert statements take them: lists of plain tuples, which a
    seed makes in the generator's process and hands over as marshal's bytes."""

    parties: list[tuple[object, ...]]
    search: list[tuple[str, str, str]]
    tags: list[tuple[str, str]]
    keys: list[tuple[str, str, str]]


def party_rows(parties: Sequence[Party]) -> PartyRows:
    return PartyRows(
        [party_params(p) for p in parties],
        [(p.id, indexed_text(p), fiscal_text(p)) for p in parties],
        [(tag, p.id) for p in parties for tag in p.tags],
        [row for p in parties for row in keys.rows(p)],
    )


def write_parties(conn: sqlite3.Connection, rows: PartyRows) -> None:
    conn.executemany(INSERT_PARTY, rows.parties)
    closure.add_parties(conn, [str(row[0]) for row in rows.parties])
    conn.executemany(INSERT_SEARCH, rows.search)
    conn.executemany(INSERT_TAG, rows.tags)
    conn.executemany(keys.INSERT, rows.keys)


def insert_parties(conn: sqlite3.Connection, parties: Sequence[Party]) -> None:
    write_parties(conn, party_rows(parties))


def rewrite_party(conn: sqlite3.Connection, party: Party) -> None:
    params = party_params(party)
    conn.execute(UPDATE_PARTY, (*params[1:], party.id))
    conn.execute(
        "UPDATE party_search SET body = ?, fiscal = ? "
        "WHERE rowid = (SELECT seq FROM parties WHERE id = ?)",
        (indexed_text(party), fiscal_text(party), party.id),
    )
    conn.execute("DELETE FROM party_tags WHERE party_id = ?", (party.id,))
    conn.executemany(INSERT_TAG, [(tag, party.id) for tag in party.tags])
    keys.rewrite(conn, party)


def span_params(activity: Activity) -> tuple[str, str]:
    """Its span (schedules.span) in the stored text form."""
    start, end = schedules.span(activity)
    return format_instant(start), format_instant(end)


def people_rows(
    activities: Sequence[Activity], spans: Sequence[tuple[str, str]]
) -> list[tuple[str, str, str, str]]:
    """The rows that put each activity on its people's agendas; `spans` are span_params'."""
    rows = []
    for a, (start, end) in zip(activities, spans, strict=True):
        rows += [(person, end, a.id, start) for person in schedules.people(a)]
    return rows


def insert_people(conn: sqlite3.Connection, activities: Sequence[Activity]) -> None:
    spans = [span_params(a) for a in activities]
    conn.executemany(INSERT_PERSON, people_rows(activities, spans))


class ActivityRows(NamedTuple):
    """New activities as their insert statements take them (PartyRows says why)."""

    activities: list[tuple[object, ...]]
    people: list[tuple[str, str, str, str]]
    subjects: list[tuple[str, str, str, str, int]]
    text: list[tuple[str, str]]


def activity_rows(activities: Sequence[Activity]) -> ActivityRows:
    spans = [span_params(a) for a in activities]
    return ActivityRows(
        [(*activity_params(a), *span) for a, span in zip(activities, spans, strict=True)],
        people_rows(activities, spans),
        [
            (subject, format_instant(a.occurred_at), a.id, a.type.value, position)
            for a in activities
            for position, subject in enumerate(a.subject_ids)
        ],
        activity_search.rows(activities),
    )


def write_activities(conn: sqlite3.Connection, rows: ActivityRows) -> None:
    conn.executemany(INSERT_ACTIVITY, rows.activities)
    conn.executemany(INSERT_PERSON, rows.people)
    conn.executemany(INSERT_SUBJECT, rows.subjects)
    activity_search.write(conn, rows.text)


def insert_activities(conn: sqlite3.Connection, activities: Sequence[Activity]) -> None:
    write_activities(conn, activity_rows(activities))


def carry(conn: sqlite3.Connection, inside: Reach, carried: Carried | None) -> None:
    """Read the party a read carries (graph/carried.py), as get_parties does."""
    if carried is not None:
        found = parties_by_id(conn, [carried.party_id])
        carried.take(list(parties_inside(conn, inside, found).values()))
