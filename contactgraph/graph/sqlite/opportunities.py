"""Opportunities on the embedded store: one row each, its document beside the columns
lists filter and page on (one sort key per order). A scoped reader sees those whose
organization is in its scope, tested in the same statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from .. import amount_units, leads, opportunities
from .. import history as entry
from ..history import ChangeKind
from ..model import Party, TimelinePage, TimelineQuery
from ..opportunities import Opportunity
from ..opportunity_reads import (
    DESCENDING,
    Figure,
    OpportunityOrder,
    OpportunityPage,
    OpportunityQuery,
    sort_keys,
)
from ..times import format_instant, utcnow
from . import history, opportunity_sums, records, timelines
from .accounts import SqliteAccounts
from .records import IN_LIST, bound_list
from .vocabulary import read_pipelines

_KEY_COLUMNS = {
    OpportunityOrder.CLOSE_DATE: "close_key",
    OpportunityOrder.AMOUNT: "amount_key",
    OpportunityOrder.UPDATED: "updated_key",
}
_COLUMNS = "id, version, created_at, updated_at, document"
_WRITTEN = ", ".join(
    (
        "id, pipeline_id, stage_id, owner_id, organization_id, status, currency, amount",
        "probability, close_key, amount_key, updated_key, created_at, updated_at, version",
        "document",
        *opportunity_sums.SUM_COLUMNS,
    )
)


def _of_row(row: Sequence[Any]) -> Opportunity:
    return opportunities.of_document(row[0], row[1], row[2], row[3], orjson.loads(row[4]))


def _where(query: OpportunityQuery, inside: Any) -> tuple[list[str], dict[str, Any]]:
    """The filter's conditions and their parameters."""
    tests = [inside.test("o.organization_id")]
    params: dict[str, Any] = dict(inside.params)
    given: list[tuple[str, str, Any]] = [
        ("o.pipeline_id = :pipeline", "pipeline", query.pipeline_id),
        (f"o.stage_id {IN_LIST.replace('?', ':stages')}", "stages", query.stage_ids),
        (f"o.owner_id {IN_LIST.replace('?', ':owners')}", "owners", query.owner_ids),
        (
            f"o.status {IN_LIST.replace('?', ':statuses')}",
            "statuses",
            tuple(s.value for s in query.statuses),
        ),
        ("o.close_key >= :close_after AND o.close_key < '9999'", "close_after", query.close_after),
        ("o.close_key < :close_before", "close_before", query.close_before),
    ]
    for test, name, value in given:
        if value:
            tests.append(test)
            params[name] = bound_list(value) if isinstance(value, tuple) else str(value)
    if query.organization_id is not None:
        params["organization"] = query.organization_id
        if query.include_descendants:
            tests.append(
                "o.organization_id IN (SELECT descendant_id FROM hierarchy_reach "
                "WHERE ancestor_id = :organization AND since <= :tree_at AND until > :tree_at)"
            )
            params["tree_at"] = format_instant(query.now or utcnow())
        else:
            tests.append("o.organization_id = :organization")
    return tests, params


def _page(conn: sqlite3.Connection, query: OpportunityQuery, inside: Any) -> OpportunityPage:
    tests, params = _where(query, inside)
    key = _KEY_COLUMNS[query.order]
    sign, way = ("<", "DESC") if query.order in DESCENDING else (">", "ASC")
    after = query.after()
    if after is not None:
        tests.append(f"({key}, id) {sign} (:after_key, :after_id)")
        params.update(after_key=after[0], after_id=after[1])
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM opportunities o WHERE {' AND '.join(tests)} "
        f"ORDER BY {key} {way}, id {way} LIMIT :limit",
        {**params, "limit": query.page.first + 1},
    ).fetchall()
    found = [_of_row(row) for row in rows[: query.page.first]]
    return OpportunityPage(found, len(rows) > query.page.first)


def naming(
    conn: sqlite3.Connection, party_ids: Sequence[str] = (), ids: Sequence[str] = ()
) -> list[Opportunity]:
    """The deals naming any of the parties (organization, owner or contact: the contacts
    by a scan, as merges alone ask), and those of `ids`."""
    named = bound_list(party_ids)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM opportunities WHERE id {IN_LIST} OR organization_id {IN_LIST} "
        f"OR owner_id {IN_LIST} OR EXISTS (SELECT 1 FROM json_each(document, '$.contactIds') "
        f"WHERE value {IN_LIST})",
        (bound_list(ids), named, named, named),
    )
    return [_of_row(row) for row in rows]


class SqliteOpportunities(SqliteAccounts):
    def _seen(self, conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Opportunity]:
        """The deals of `ids` whose organization the reader may see."""
        inside = self._inside(conn)
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM opportunities o WHERE id {IN_LIST.replace('?', ':ids')} "
            f"AND {inside.test('o.organization_id')}",
            {**inside.params, "ids": bound_list(ids)},
        )
        return {row[0]: _of_row(row) for row in rows}

    async def get_opportunities(self, ids: Sequence[str]) -> dict[str, Opportunity]:
        return await self._read(lambda conn: self._seen(conn, ids))

    async def opportunity_timelines(
        self, opportunity_ids: Sequence[str], query: TimelineQuery
    ) -> dict[str, TimelinePage]:
        def work(conn: sqlite3.Connection) -> dict[str, TimelinePage]:
            seen = self._seen(conn, opportunity_ids)
            windows = {o: timelines.own(conn, o, query, timelines.DEAL) for o in seen}
            return timelines.pages(conn, windows, query)

        return await self._read(work)

    async def list_opportunities(self, query: OpportunityQuery) -> OpportunityPage:
        return await self._read(lambda conn: _page(conn, query, self._inside(conn)))

    async def opportunities_under(
        self, organization_ids: Sequence[str], query: OpportunityQuery
    ) -> dict[str, OpportunityPage]:
        def work(conn: sqlite3.Connection) -> dict[str, OpportunityPage]:
            inside = self._inside(conn)
            return {
                org: _page(conn, replace(query, organization_id=org), inside)
                for org in dict.fromkeys(organization_ids)
            }

        return await self._read(work)

    async def opportunity_figures(self, query: OpportunityQuery) -> list[Figure]:
        def work(conn: sqlite3.Connection) -> list[Figure]:
            tests, params = _where(query, self._inside(conn))
            return opportunity_sums.figures(conn, tests, params)

        return await self._read(work)

    async def write_opportunity(
        self, opportunity_id: str, make: Callable[[Opportunity | None], Opportunity]
    ) -> Opportunity:
        def work(conn: sqlite3.Connection) -> Opportunity:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM opportunities WHERE id = ?", (opportunity_id,)
            ).fetchone()
            before = None if row is None else _of_row(row)
            after = make(before)
            pipeline = read_pipelines(conn, [after.pipeline_id]).get(after.pipeline_id)
            parties = records.parties_by_id(conn, after.references())
            written, change = opportunities.planned(before, after, pipeline, parties, self._actor)
            if change is None:
                return written
            upsert(conn, written)
            history.append(conn, [change])
            return written

        return await self._write(work)

    async def convert_lead(
        self, party_id: str, category_id: str, deal: Opportunity | None, at: datetime
    ) -> tuple[Party, Opportunity | None]:
        def work(conn: sqlite3.Connection) -> tuple[Party, Opportunity | None]:
            current = records.party_by_id(conn, party_id)
            party = leads.converted(current, category_id, at)
            party = records.check_party(conn, party, self.default_region, current)
            entries = [entry.changed(current, party, self._actor, ChangeKind.LEAD_CONVERTED)]
            written = None
            if deal is not None:
                pipeline = read_pipelines(conn, [deal.pipeline_id]).get(deal.pipeline_id)
                parties = records.parties_by_id(conn, deal.references())
                written, change = opportunities.planned(None, deal, pipeline, parties, self._actor)
                entries += [change] if change is not None else []
                upsert(conn, written)
            records.rewrite_party(conn, party)
            history.append(conn, entries)
            return party, written

        return await self._write(work)


def upsert(conn: sqlite3.Connection, written: Opportunity) -> None:
    keys = sort_keys(written)
    conn.execute(
        f"INSERT OR REPLACE INTO opportunities ({_WRITTEN}) VALUES ({', '.join('?' * 19)})",
        (
            written.id,
            written.pipeline_id,
            written.stage_id,
            written.owner_id,
            written.organization_id,
            written.status.value,
            written.currency,
            str(written.amount),
            written.probability,
            keys[OpportunityOrder.CLOSE_DATE],
            keys[OpportunityOrder.AMOUNT],
            keys[OpportunityOrder.UPDATED],
            format_instant(written.created_at),
            format_instant(written.updated_at),
            written.version,
            orjson.dumps(opportunities.document(written)).decode(),
            *amount_units.parts(written.amount),
        ),
    )
