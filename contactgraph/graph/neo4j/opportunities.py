"""Opportunities on Neo4j: an (:Opportunity) node each, its document beside the
properties lists filter and page on (one sort key per order, each indexed with the id) and
the summary sums (an index holds them all, so it reads no node). A scoped reader sees those
whose organization is in its scope; a roll-up under a client reads the closure's rows
(:Reach) below it, as timelines do."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from .. import amount_units, leads, opportunities, rules
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
from . import cypher, history, keys, scopes, timelines
from .accounts import Neo4jAccounts
from .cypher import EVERYWHERE, REACHES, Reach, Tx, encode, valid_at
from .vocabulary import read_pipelines
from .walks import rows_of

_KEYS = {
    OpportunityOrder.CLOSE_DATE: "close_key",
    OpportunityOrder.AMOUNT: "amount_key",
    OpportunityOrder.UPDATED: "updated_key",
}
# What a summary reads of a deal, after its pipeline: it is read from the index alone
SUMMED = (
    *("stage_id", "currency", "chance", "amount_high", "amount_low", "amount_places"),
    *("owner_id", "close_key", "organization_id"),  # what it may be filtered by
)
NO_CHANCE = -1  # a deal's own probability when it has none: an index leaves out nulls
SCHEMA: tuple[str, ...] = (
    # a page in each order reads that order's index, ties by id; one pipeline's, its own
    *(
        f"CREATE INDEX opportunity_{key} IF NOT EXISTS FOR (o:Opportunity) ON (o.{key}, o.id)"
        for key in _KEYS.values()
    ),
    *(
        f"CREATE INDEX opportunity_pipeline_{key} IF NOT EXISTS "
        f"FOR (o:Opportunity) ON (o.pipeline_id, o.{key}, o.id)"
        for key in _KEYS.values()
    ),
    "CREATE INDEX opportunity_summed IF NOT EXISTS FOR (o:Opportunity) "
    f"ON (o.pipeline_id, {', '.join(f'o.{key}' for key in SUMMED)})",
)
_BATCH = 5_000  # deals a backfill transaction writes
# A client's page either reads every deal of its tree's organizations and sorts them
# (cost grows with the tree) or reads the order's index, probing each deal's organization
# against the closure until the page is full (cost grows with page * parties / the tree):
# the probe runs once the tree's closure rows pass sqrt(PROBE_COST_RATIO * page * parties).
# Measured on 20,000 parties and 100,000 deals, the two cost alike at 600 to 800 rows.
PROBE_COST_RATIO = 0.5
TREE_COUNTED = 20_000  # closure rows counted at most (on the index) to choose
_AT_OR_BEFORE = {"<": ">=", ">": "<="}  # for the cursor of an order's sign
RETURN = (
    "RETURN o.id AS id, o.version AS version, o.created_at AS created_at, "
    "o.updated_at AS updated_at, o.document AS document"
)


def deal_of(record: Any) -> Opportunity:
    return opportunities.of_document(
        record["id"],
        record["version"],
        record["created_at"],
        record["updated_at"],
        orjson.loads(record["document"]),
    )


def _seen(inside: Reach) -> str:
    """The opportunity's organization is in the reader's scope (for an unscoped reader no
    test: the subquery would still look each organization up)."""
    if inside is EVERYWHERE:
        return "true"
    return f"EXISTS {{ MATCH (org:Party {{id: o.organization_id}}) WHERE {inside.test('org')} }}"


def _where(query: OpportunityQuery, inside: Reach) -> tuple[str, dict[str, Any]]:
    """A MATCH of the filter's opportunities as o, and its parameters; a client's tree
    as the deals of each organization in it (cost grows with the tree's deals)."""
    tests, params = _tests(query, inside)
    match = "MATCH (o:Opportunity)"
    if query.organization_id is not None and query.include_descendants:
        match = (
            f"CALL () {{ MATCH (h:Reach)-[:{REACHES}]->(x:Party) "
            f"WHERE {rows_of('h', '$organization')} AND {valid_at('h', 'tree_at')} "
            "RETURN x.id AS tree_id "
            "UNION RETURN $organization AS tree_id } "
            "MATCH (o:Opportunity {organization_id: tree_id})"
        )
    return f"{match} WHERE {' AND '.join(tests)}", params


def _summed(query: OpportunityQuery, inside: Reach) -> tuple[str, dict[str, Any]]:
    """A MATCH of the deals a summary sums as o: of one pipeline, by the summary's index,
    every property it reads (and filters by) taken from the index alone."""
    if query.pipeline_id is None or query.organization_id is not None:
        return _where(query, inside)
    tests, params = _tests(query, inside)
    tests += [f"o.{key} IS NOT NULL" for key in SUMMED]
    hint = f"USING INDEX o:Opportunity(pipeline_id, {', '.join(SUMMED)})"
    return f"MATCH (o:Opportunity) {hint} WHERE {' AND '.join(tests)}", params


def _ordered(
    query: OpportunityQuery, inside: Reach, probed: bool
) -> tuple[str, dict[str, Any], list[str]]:
    """A MATCH of the filter's deals as o read in the order's index, (key, id), or (pipeline,
    key, id) for one pipeline, stopping once the page is full; `probed`: a client's tree,
    each deal's organization tested against the closure (about page * deals / the tree's
    deals of them are read). With the index's columns, which the page orders by."""
    tests, params = _tests(query, inside)
    key = _KEYS[query.order]
    columns = ["pipeline_id", key, "id"] if query.pipeline_id is not None else [key, "id"]
    tests.append(f"o.{key} IS NOT NULL AND o.id IS NOT NULL")
    if probed:
        tests.append(
            "(o.organization_id = $organization OR EXISTS { MATCH (:Party "
            f"{{id: o.organization_id}})<-[:{REACHES}]-(h:Reach) WHERE h.ancestor = "
            f"$organization AND {valid_at('h', 'tree_at')} }})"
        )
    hint = f"USING INDEX o:Opportunity({', '.join(columns)})"
    return f"MATCH (o:Opportunity) {hint} WHERE {' AND '.join(tests)}", params, columns


async def _probes(tx: Tx, query: OpportunityQuery) -> bool:
    """Whether a client's page is read by probing the order's index: its tree's closure
    rows (counted on the index) pass the point where that costs less."""
    if query.organization_id is None or not query.include_descendants:
        return False
    result = await tx.run(
        "RETURN COUNT { MATCH (q:Party) } AS parties, COUNT { MATCH (h:Reach) "
        f"WHERE {rows_of('h', '$organization')} RETURN h LIMIT $most }} AS rows",
        most=TREE_COUNTED,
        organization=query.organization_id,
    )
    found = await result.single(strict=True)
    limit = query.page.first + 1
    return bool(found["rows"] ** 2 >= PROBE_COST_RATIO * limit * found["parties"])


def _tests(query: OpportunityQuery, inside: Reach) -> tuple[list[str], dict[str, Any]]:
    """The filter's tests on deal o (but a client's tree), and their parameters."""
    tests = [_seen(inside)]
    params: dict[str, Any] = dict(inside.params)
    given: list[tuple[str, str, Any]] = [
        ("o.pipeline_id = $pipeline", "pipeline", query.pipeline_id),
        ("o.stage_id IN $stages", "stages", list(query.stage_ids)),
        ("o.owner_id IN $owners", "owners", list(query.owner_ids)),
        ("o.status IN $statuses", "statuses", [s.value for s in query.statuses]),
        ("o.close_key >= $close_after AND o.close_key < '9999'", "close_after", query.close_after),
        ("o.close_key < $close_before", "close_before", query.close_before),
    ]
    for test, name, value in given:
        if value:
            tests.append(test)
            params[name] = value if isinstance(value, list) else str(value)
    if query.organization_id is not None:
        params["organization"] = query.organization_id
        if query.include_descendants:
            params["tree_at"] = encode(query.now or utcnow())
        else:
            tests.append("o.organization_id = $organization")
    return tests, params


async def _page(tx: Tx, query: OpportunityQuery, inside: Reach) -> OpportunityPage:
    """One page: the deals of one organization by its index, of a small client's tree by
    its organizations, else read in the order's index (the planner keeps an index's order
    only when the page orders by its columns from the first)."""
    columns = [_KEYS[query.order], "id"]
    tree = query.organization_id is not None and query.include_descendants
    if query.organization_id is not None and not (tree and await _probes(tx, query)):
        match, params = _where(query, inside)
    else:
        match, params, columns = _ordered(query, inside, tree)
    key = f"o.{_KEYS[query.order]}"
    sign, way = ("<", "DESC") if query.order in DESCENDING else (">", "ASC")
    after = query.after()
    if after is not None:
        # a range the order's index seeks to, less the cursor's ties up to it (as a NOT: a
        # disjunction would be read as a union of two seeks, out of order)
        match += (
            f" AND {key} {sign}= $after_key "
            f"AND NOT ({key} = $after_key AND o.id {_AT_OR_BEFORE[sign]} $after_id)"
        )
        params.update(after_key=after[0], after_id=after[1])
    order = ", ".join(f"o.{column} {way}" for column in columns)
    result = await tx.run(
        f"{match} {RETURN} ORDER BY {order} LIMIT $limit",
        {**params, "limit": query.page.first + 1},
    )
    rows = [deal_of(r) async for r in result]
    return OpportunityPage(rows[: query.page.first], len(rows) > query.page.first)


async def backfill(tx: Tx) -> bool:
    """Write the properties read by id or summed (contact ids, the amount's units) of up to
    a batch of deals stored before they were kept; whether any were found."""
    result = await tx.run(
        f"MATCH (o:Opportunity) WHERE o.contact_ids IS NULL OR o.chance IS NULL {RETURN} LIMIT $n",
        n=_BATCH,
    )
    found = [deal_of(record) async for record in result]
    await tx.run(  # the probability, nullable, is kept as `chance`
        "UNWIND $rows AS row MATCH (o:Opportunity {id: row.id}) "
        "SET o += row.row REMOVE o.probability",
        rows=[{"id": deal.id, "row": _row(deal)} for deal in found],
    )
    return bool(found)


def _row(written: Opportunity) -> dict[str, Any]:
    """The properties of the opportunity's node: its document and what lists read."""
    order_keys = sort_keys(written)
    high, low, places = amount_units.parts(written.amount)
    return {
        "pipeline_id": written.pipeline_id,
        "stage_id": written.stage_id,
        "owner_id": written.owner_id,
        "organization_id": written.organization_id,
        "contact_ids": list(written.contact_ids),
        "status": written.status.value,
        "currency": written.currency,
        "amount": str(written.amount),
        "amount_high": high,
        "amount_low": low,
        "amount_places": places,
        "chance": NO_CHANCE if written.probability is None else written.probability,
        **{_KEYS[order]: key for order, key in order_keys.items()},
        "created_at": format_instant(written.created_at),
        "updated_at": format_instant(written.updated_at),
        "version": written.version,
        "document": orjson.dumps(opportunities.document(written)).decode(),
    }


async def store(tx: Tx, written: Opportunity) -> None:
    """The opportunity's node with its properties."""
    await tx.run("MERGE (o:Opportunity {id: $id}) SET o += $row", id=written.id, row=_row(written))


async def naming(
    tx: Tx, party_ids: Sequence[str] = (), ids: Sequence[str] = ()
) -> list[Opportunity]:
    """The deals naming any of the parties (organization, owner or contact: the contacts
    by a scan, as merges alone ask), and those of `ids`."""
    result = await tx.run(
        "MATCH (o:Opportunity) WHERE o.id IN $ids OR o.organization_id IN $named "
        "OR o.owner_id IN $named OR any(c IN o.contact_ids WHERE c IN $named) "
        f"{RETURN}",
        ids=list(ids),
        named=list(party_ids),
    )
    return [deal_of(r) async for r in result]


class Neo4jOpportunities(Neo4jAccounts):
    default_region: str | None = None

    async def _reach(self, tx: Tx) -> Reach:
        return await scopes.reach(tx, self._scope)

    async def get_opportunities(self, ids: Sequence[str]) -> dict[str, Opportunity]:
        async def work(tx: Tx) -> dict[str, Opportunity]:
            inside = await self._reach(tx)
            result = await tx.run(
                f"MATCH (o:Opportunity) WHERE o.id IN $ids AND {_seen(inside)} {RETURN}",
                {**inside.params, "ids": list(ids)},
            )
            return {r["id"]: deal_of(r) async for r in result}

        return await self._read(work)

    async def opportunity_timelines(
        self, opportunity_ids: Sequence[str], query: TimelineQuery
    ) -> dict[str, TimelinePage]:
        async def work(tx: Tx) -> dict[str, TimelinePage]:
            inside = await self._reach(tx)
            return await timelines.deal_timelines(tx, opportunity_ids, query, _seen(inside), inside)

        return await self._read(work)

    async def list_opportunities(self, query: OpportunityQuery) -> OpportunityPage:
        async def work(tx: Tx) -> OpportunityPage:
            return await _page(tx, query, await self._reach(tx))

        return await self._read(work)

    async def opportunities_under(
        self, organization_ids: Sequence[str], query: OpportunityQuery
    ) -> dict[str, OpportunityPage]:
        async def work(tx: Tx) -> dict[str, OpportunityPage]:
            inside = await self._reach(tx)
            return {
                org: await _page(tx, replace(query, organization_id=org), inside)
                for org in dict.fromkeys(organization_ids)
            }

        return await self._read(work)

    async def opportunity_figures(self, query: OpportunityQuery) -> list[Figure]:
        async def work(tx: Tx) -> list[Figure]:
            match, params = _summed(query, await self._reach(tx))
            result = await tx.run(  # grouped here: a record each costs the driver most
                f"{match} WITH o.stage_id AS stage, o.currency AS currency, "
                "o.chance AS chance, count(*) AS n, sum(o.amount_high) AS high, "
                "sum(o.amount_low) AS low, max(o.amount_places) AS places "
                "RETURN collect([stage, currency, chance, n, high, low, places])",
                params,
            )
            return [
                Figure(
                    stage,
                    currency,
                    amount_units.summed(high, low, places),
                    None if chance == NO_CHANCE else chance,
                    n,
                )
                for stage, currency, chance, n, high, low, places in await cypher.collected(result)
            ]

        return await self._read(work)

    async def write_opportunity(
        self, opportunity_id: str, make: Callable[[Opportunity | None], Opportunity]
    ) -> Opportunity:
        async def work(tx: Tx) -> Opportunity:
            result = await tx.run(
                f"MATCH (o:Opportunity {{id: $id}}) SET o._lock = true REMOVE o._lock {RETURN}",
                id=opportunity_id,
            )
            found = await result.single()
            before = None if found is None else deal_of(found)
            after = make(before)
            pipeline = (await read_pipelines(tx, [after.pipeline_id])).get(after.pipeline_id)
            parties = await cypher.parties(tx, after.references())
            written, change = opportunities.planned(before, after, pipeline, parties, self._actor)
            if change is None:
                return written
            await store(tx, written)
            await history.append(tx, [change])
            return written

        return await self._write(work)

    async def convert_lead(
        self, party_id: str, category_id: str, deal: Opportunity | None, at: datetime
    ) -> tuple[Party, Opportunity | None]:
        async def work(tx: Tx) -> tuple[Party, Opportunity | None]:
            await cypher.lock(tx, [party_id])
            current = rules.found(await cypher.parties(tx, [party_id]), [party_id])[0]
            party = leads.converted(current, category_id, at)
            party = await keys.check_party(tx, party, self.default_region, current)
            entries = [entry.changed(current, party, self._actor, ChangeKind.LEAD_CONVERTED)]
            written = None
            if deal is not None:
                pipeline = (await read_pipelines(tx, [deal.pipeline_id])).get(deal.pipeline_id)
                parties = await cypher.parties(tx, deal.references())
                written, change = opportunities.planned(None, deal, pipeline, parties, self._actor)
                entries += [change] if change is not None else []
                await store(tx, written)
            await cypher.write(tx, cypher.rewritten_parties([party]), history.new_entries(entries))
            return party, written

        return await self._write(work)
