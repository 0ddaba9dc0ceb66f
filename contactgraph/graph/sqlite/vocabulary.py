"""The embedded store's vocabulary parties are filed by: categories and levels. A write
of either is one transaction that reads them all, checks, and writes; a category's
fields are indexed for the attribute filters that name them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from .. import categories, levels
from ..attribute_filters import sqlite_path
from ..levels import Level
from ..model import Category, Party, Relationship
from . import history
from .accounts import SqliteAccounts
from .records import categories as read_categories
from .records import levels as read_levels
from .rows import UPSERT_CATEGORY, UPSERT_LEVEL, category_params, level_params


def check_part_of(conn: sqlite3.Connection, rel: Relationship, part: Party, whole: Party) -> None:
    """levels.check_part_of, with the levels and the part's category read."""
    if part.unit_type is not None and whole.unit_type is not None:
        found = read_categories(conn, [part.category_id] if part.category_id else [])
        levels.check_part_of(rel, part, whole, read_levels(conn), found)


def index_fields(conn: sqlite3.Connection, written: Iterable[Category]) -> None:
    """An index on each field's values, which attribute filters use."""
    for field in {f.name for category in written for f in category.fields}:
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS party_attr_{field} ON parties({sqlite_path(field)})"
        )


class SqliteVocabulary(SqliteAccounts):
    async def write_category(
        self, category_id: str, make: Callable[[Category | None], Category], at: datetime
    ) -> Category:
        def work(conn: sqlite3.Connection) -> Category:
            stored = read_categories(conn, None)
            written, change = categories.planned(stored, category_id, make, self._actor, at)
            if change is None:
                return written
            conn.execute(UPSERT_CATEGORY, category_params(written))
            index_fields(conn, [written])
            history.append(conn, [change])
            return written

        return await self._write(work)

    async def levels(self) -> dict[str, Level]:
        return await self._read(read_levels)

    async def write_level(self, make: Callable[[Mapping[str, Level]], Level]) -> Level:
        def work(conn: sqlite3.Connection) -> Level:
            written = make(read_levels(conn))
            conn.execute(UPSERT_LEVEL, level_params(written))
            return written

        return await self._write(work)
