"""Dumps on the embedded store: whole-graph reads in keyset pages, and an import written
in one transaction, so a dump that fails half-way leaves the graph as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from ..history import SYSTEM, Change, ChangeKind, mentioning
from ..identity import Grant
from ..interchange.format import DumpBatch
from ..model import Activity, Relationship
from ..opportunities import Opportunity
from ..process_runs import Outcome, RunStep, decode
from . import closure, history, identity, process_steps, records
from .opportunities import _COLUMNS as OPPORTUNITY_COLUMNS
from .opportunities import _of_row as opportunity_of_row
from .opportunities import upsert as upsert_opportunity
from .rows import (
    REL_COLUMNS,
    UPSERT_CATEGORY,
    UPSERT_LEVEL,
    category_params,
    level_params,
    relationship_from_row,
    relationship_params,
)
from .vocabulary import SqliteVocabulary, index_fields, store_pipeline


def _after(key: tuple[str, str] | None, first: str, second: str) -> tuple[str, tuple[str, ...]]:
    """A keyset condition past `key` in (first, second) order, as a row value: a seek on
    an index of both, and its parameters."""
    if key is None:
        return "1", ()
    return f"({first}, {second}) > (?, ?)", key


def _changes(conn: sqlite3.Connection, rows: Sequence[sqlite3.Row]) -> list[Change]:
    """Entries with what they mention besides their subjects, which only the subject rows
    hold. Only merges mention anything; their subject rows have no index by entry, so a
    page holding merges reads them in one scan of the subject rows."""
    merges = [row["seq"] for row in rows if row["kind"] in _MENTIONING]
    named: dict[int, list[str]] = {}
    if merges:
        for seq, subject in conn.execute(
            f"SELECT seq, subject_id FROM history_subjects WHERE seq {records.IN_LIST}",
            (records.bound_list(merges),),
        ):
            named.setdefault(seq, []).append(subject)
    return [mentioning(history.change_of(row), named.get(row["seq"], ())) for row in rows]


# the kinds of entries that mention records beside their subjects (merging.py)
_MENTIONING = frozenset({ChangeKind.MERGED.value, ChangeKind.UNMERGED.value})


def _write(conn: sqlite3.Connection, batch: DumpBatch) -> None:
    conn.executemany(UPSERT_LEVEL, [level_params(level) for level in batch.levels])
    conn.executemany(UPSERT_CATEGORY, [category_params(c) for c in batch.categories])
    index_fields(conn, batch.categories)
    records.insert_parties(conn, batch.parties)
    conn.executemany(records.INSERT_REL, [relationship_params(r) for r in batch.relationships])
    records.insert_activities(conn, batch.activities)
    for pipeline in batch.pipelines:
        store_pipeline(conn, pipeline)
    for deal in batch.opportunities:
        upsert_opportunity(conn, deal)
    # opened, then the done ones closed: the writes a run makes (their entries are in the dump)
    done = [step for step in batch.steps if step.done_at is not None]
    process_steps.write(conn, Outcome(batch.steps, done), SYSTEM)
    for grant in batch.grants:
        identity.add_grant(conn, grant)
    for token in batch.tokens:
        identity.add_token(conn, token)
        if token.revoked_at is not None:
            identity.end_token(conn, token.id, token.revoked_at)
    history.append(conn, batch.changes)


class SqliteDumps(SqliteVocabulary):
    async def relationship_page(
        self, after: tuple[str, str] | None, first: int
    ) -> list[Relationship]:
        where, params = _after(after, "from_id", "id")
        rows = await self._read(
            lambda conn: conn.execute(
                f"SELECT {REL_COLUMNS} FROM relationships WHERE {where} "
                "ORDER BY from_id, id LIMIT ?",
                (*params, first),
            ).fetchall()
        )
        return [relationship_from_row(row) for row in rows]

    async def activity_page(self, after: str | None, first: int) -> list[Activity]:
        def work(conn: sqlite3.Connection) -> list[Activity]:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM activities WHERE id > ? ORDER BY id LIMIT ?",
                    (after or "", first),
                )
            ]
            found = records.activities_by_id(conn, ids)
            return [found[i] for i in ids]

        return await self._read(work)

    async def change_page(self, after: tuple[str, str] | None, first: int) -> list[Change]:
        where, params = _after(after, "h.at", "h.id")

        def work(conn: sqlite3.Connection) -> list[Change]:
            rows = conn.execute(
                f"SELECT h.seq, {history.COLUMNS} FROM history h WHERE {where} "
                "ORDER BY h.at, h.id LIMIT ?",
                (*params, first),
            ).fetchall()
            return _changes(conn, rows)

        return await self._read(work)

    async def opportunity_page(self, after: str | None, first: int) -> list[Opportunity]:
        rows = await self._read(
            lambda conn: conn.execute(
                f"SELECT {OPPORTUNITY_COLUMNS} FROM opportunities WHERE id > ? ORDER BY id LIMIT ?",
                (after or "", first),
            ).fetchall()
        )
        return [opportunity_of_row(row) for row in rows]

    async def step_page(self, after: str | None, first: int) -> list[RunStep]:
        rows = await self._read(
            lambda conn: conn.execute(
                "SELECT body FROM process_steps WHERE id > ? ORDER BY id LIMIT ?",
                (after or "", first),
            ).fetchall()
        )
        return [decode(body) for (body,) in rows]

    async def all_grants(self) -> list[Grant]:
        def work(conn: sqlite3.Connection) -> list[Grant]:
            users = [row[0] for row in conn.execute("SELECT DISTINCT user_id FROM grants")]
            return sorted(
                (g for held in identity.grants(conn, users).values() for g in held),
                key=lambda g: g.id,
            )

        return await self._read(work)

    async def restore(self, batches: Iterable[DumpBatch]) -> None:
        """One transaction: a batch that fails rolls back every one before it. Foreign keys
        are checked at commit, since a party may name a contact or survivor further on;
        the closure is derived once from every edge at the end."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("PRAGMA defer_foreign_keys = ON")
            for batch in batches:
                _write(conn, batch)
            conn.execute("DELETE FROM hierarchy_reach")
            closure.rebuild(conn)

        await self._write(work)

    async def clear_unfinished_import(self) -> bool:
        return False  # an import is one transaction: one stopped half-way left nothing
