"""The embedded store's vocabulary parties and deals are filed by: categories, levels and
sales pipelines. A write of any is one transaction that reads them all, checks, and
writes; a category's fields are indexed for the attribute filters that name them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

import orjson

from .. import categories, levels, pipelines
from ..attribute_filters import sqlite_path
from ..levels import Level
from ..model import Category, Party, Relationship
from ..pipelines import Pipeline
from ..times import utcnow
from . import history, identity
from .accounts import SqliteAccounts
from .records import IN_LIST, bound_list
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


def read_pipelines(conn: sqlite3.Connection, ids: Sequence[str] | None) -> dict[str, Pipeline]:
    where, params = ("", ()) if ids is None else (f"WHERE id {IN_LIST}", (bound_list(ids),))
    rows = conn.execute(
        f"SELECT id, version, definition FROM pipelines {where} ORDER BY name", params
    )
    return {row[0]: pipelines.of_document(row[0], row[1], orjson.loads(row[2])) for row in rows}


def store_pipeline(conn: sqlite3.Connection, pipeline: Pipeline) -> None:
    conn.execute(
        "INSERT INTO pipelines (id, name, version, definition) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "version = excluded.version, definition = excluded.definition",
        (
            pipeline.id,
            pipeline.name,
            pipeline.version,
            orjson.dumps(pipelines.document(pipeline)).decode(),
        ),
    )


class SqliteVocabulary(SqliteAccounts):
    async def write_category(
        self, category_id: str, make: Callable[[Category | None], Category], at: datetime
    ) -> Category:
        def work(conn: sqlite3.Connection) -> Category:
            stored = read_categories(conn, None)
            roles = [r.name for r in identity.roles(conn)]
            written, change = categories.planned(stored, category_id, make, self._actor, at, roles)
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
            stored = read_levels(conn)
            written = make(stored)
            entry = levels.change(stored.get(written.id), written, self._actor, utcnow())
            if entry is not None:
                conn.execute(UPSERT_LEVEL, level_params(written))
                history.append(conn, [entry])
            return written

        return await self._write(work)

    async def pipelines(self, ids: Sequence[str] | None) -> dict[str, Pipeline]:
        return await self._read(lambda conn: read_pipelines(conn, ids))

    async def write_pipeline(
        self, pipeline_id: str | None, make: Callable[[Pipeline | None], Pipeline], at: datetime
    ) -> Pipeline:
        def work(conn: sqlite3.Connection) -> Pipeline:
            stored = read_pipelines(conn, None)
            written, change = pipelines.planned(stored, pipeline_id, make, self._actor, at)
            if change is None:
                return written
            kept = bound_list(s.id for s in written.stages)
            left = conn.execute(
                "SELECT 1 FROM opportunities WHERE pipeline_id = ? "
                f"AND stage_id NOT {IN_LIST} LIMIT 1",
                (written.id, kept),
            ).fetchone()
            pipelines.check_kept(written, left is not None)
            store_pipeline(conn, written)
            history.append(conn, [change])
            return written

        return await self._write(work)
