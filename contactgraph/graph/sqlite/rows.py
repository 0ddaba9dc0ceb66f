"""SQLite rows as the shared flat records, with instants as fixed-width ISO text."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from ..codec import (
    PARTY_FIELDS,
    REL_FIELDS,
    activity_from_record,
    activity_record,
    category_from_record,
    category_record,
    party_from_record,
    party_record,
    relationship_from_record,
    relationship_record,
)
from ..levels import Level
from ..model import Activity, Category, Party, Relationship
from ..times import format_instant

PARTY_COLUMNS = ", ".join(PARTY_FIELDS)
# a merged party names its survivor in its details; an index on this finds them (schema.py)
MERGED_INTO = "json_extract(details, '$.merged_into')"
REL_COLUMNS = ", ".join(REL_FIELDS)


def stored_instant(text: str) -> datetime:
    """An instant as this store writes it (format_instant: UTC, +00:00), which
    fromisoformat returns with the UTC singleton already: parse_instant's checks, for
    what users send, cost five times the parse on every row read."""
    return datetime.fromisoformat(text)


def party_from_row(row: sqlite3.Row) -> Party:
    return party_from_record(dict(zip(row.keys(), row, strict=True)), stored_instant)


def party_params(party: Party) -> tuple[object, ...]:
    record = party_record(party, format_instant)
    return tuple(record[field] for field in PARTY_FIELDS)


def relationship_from_row(row: sqlite3.Row) -> Relationship:
    return relationship_from_record(dict(zip(row.keys(), row, strict=True)), stored_instant)


def relationship_params(rel: Relationship) -> tuple[object, ...]:
    record = relationship_record(rel, format_instant)
    return tuple(record[field] for field in REL_FIELDS)


def activity_from_row(row: sqlite3.Row, subject_ids: tuple[str, ...]) -> Activity:
    record = dict(zip(row.keys(), row, strict=True))
    return activity_from_record(record, subject_ids, stored_instant)


def activity_params(activity: Activity) -> tuple[object, ...]:
    return tuple(activity_record(activity, format_instant).values())


def category_from_row(row: sqlite3.Row) -> Category:
    return category_from_record(dict(zip(row.keys(), row, strict=True)))


CATEGORY_COLUMNS = "id, name, description, legal_forms, unit_types, definition"
# a category written whole: a new one, or the next version of one
UPSERT_CATEGORY = (
    f"INSERT INTO categories ({CATEGORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, "
    "legal_forms = excluded.legal_forms, unit_types = excluded.unit_types, "
    "definition = excluded.definition"
)


LEVELS_TABLE = """CREATE TABLE levels (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    rank        INTEGER NOT NULL UNIQUE,
    description TEXT NOT NULL
) WITHOUT ROWID"""
UPSERT_LEVEL = (
    "INSERT INTO levels (id, name, rank, description) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, rank = excluded.rank, "
    "description = excluded.description"
)


def level_params(level: Level) -> tuple[object, ...]:
    return (level.id, level.name, level.rank, level.description)


def category_params(category: Category) -> tuple[object, ...]:
    return tuple(category_record(category).values())
