"""SQLite rows as the shared flat records, with instants as fixed-width ISO text."""

from __future__ import annotations

import sqlite3

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
from ..model import Activity, Category, Party, Relationship
from ..times import format_instant, parse_instant

PARTY_COLUMNS = ", ".join(PARTY_FIELDS)
# a merged party names its survivor in its details; an index on this finds them (schema.py)
MERGED_INTO = "json_extract(details, '$.merged_into')"
REL_COLUMNS = ", ".join(REL_FIELDS)


def party_from_row(row: sqlite3.Row) -> Party:
    return party_from_record(dict(zip(row.keys(), row, strict=True)), parse_instant)


def party_params(party: Party) -> tuple[object, ...]:
    record = party_record(party, format_instant)
    return tuple(record[field] for field in PARTY_FIELDS)


def relationship_from_row(row: sqlite3.Row) -> Relationship:
    return relationship_from_record(dict(zip(row.keys(), row, strict=True)), parse_instant)


def relationship_params(rel: Relationship) -> tuple[object, ...]:
    record = relationship_record(rel, format_instant)
    return tuple(record[field] for field in REL_FIELDS)


def activity_from_row(row: sqlite3.Row, subject_ids: tuple[str, ...]) -> Activity:
    return activity_from_record(dict(zip(row.keys(), row, strict=True)), subject_ids, parse_instant)


def activity_params(activity: Activity) -> tuple[object, ...]:
    return tuple(activity_record(activity, format_instant).values())


def category_from_row(row: sqlite3.Row) -> Category:
    return category_from_record(dict(zip(row.keys(), row, strict=True)))


def category_params(category: Category) -> tuple[object, ...]:
    return tuple(category_record(category).values())
