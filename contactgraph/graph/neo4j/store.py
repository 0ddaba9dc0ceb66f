"""The Neo4j backend: the official async driver, managed transactions, parameterised Cypher.

Parties are :Party nodes with a second label for their kind; relationships are
Neo4j relationships of the domain type; activities are :Activity nodes linked
to their subjects by :ABOUT. Labels and relationship types only ever come from
the domain enums. Each public method is one managed transaction: one round
trip in the port's sense, whatever it runs inside; batched reads use UNWIND.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from .. import rules
from ..agenda import AgendaQuery
from ..attribute_filters import cypher_clauses
from ..codec import category_from_record, category_record
from ..contactdata import normalised
from ..cursors import decode_cursor
from ..duplicates import DuplicateQuery, Match, PairPage
from ..model import (
    WHOLE_ROWS,
    Activity,
    ActivityPage,
    ActivityQuery,
    Ancestry,
    Category,
    Direction,
    ExternalId,
    Network,
    Page,
    Party,
    PartyFilter,
    PartyPage,
    PartyRef,
    Path,
    Relationship,
    RelType,
    TimelinePage,
    TimelineQuery,
    TreePage,
    TreeReading,
    display_order,
)
from ..process_runs import RunStep
from ..shipped_categories import DEFAULT_CATEGORIES
from ..store import Node
from ..tasks import TaskPage, TaskQuery
from ..worklist import WorklistPage, WorklistQuery
from . import (
    activity_search,
    carrying,
    closure_build,
    cypher,
    duplicates,
    history,
    identity,
    keys,
    merges,
    opportunities,
    plans,
    process_steps,
    scopes,
    search,
    timelines,
    vocabulary,
    walks,
)
from .cypher import (
    CHILD_MAP,
    PARTY_MAP,
    REL_MAP,
    VALID_AT,
    Reach,
    Tx,
    encode,
    type_expression,
)
from .opportunities import Neo4jOpportunities
from .writes import Neo4jWrites

SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT party_id IF NOT EXISTS FOR (p:Party) REQUIRE p.id IS UNIQUE",
    "CREATE CONSTRAINT user_username IF NOT EXISTS FOR (u:User) REQUIRE u.username IS UNIQUE",
    "CREATE CONSTRAINT activity_id IF NOT EXISTS FOR (a:Activity) REQUIRE a.id IS UNIQUE",
    "CREATE CONSTRAINT category_id IF NOT EXISTS FOR (c:Category) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT level_id IF NOT EXISTS FOR (l:Level) REQUIRE l.id IS UNIQUE",
    "CREATE CONSTRAINT pipeline_id IF NOT EXISTS FOR (p:Pipeline) REQUIRE p.id IS UNIQUE",
    "CREATE CONSTRAINT opportunity_id IF NOT EXISTS FOR (o:Opportunity) REQUIRE o.id IS UNIQUE",
    "CREATE CONSTRAINT write_lock IF NOT EXISTS FOR (l:WriteLock) REQUIRE l.name IS UNIQUE",
    "CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (m:Meta) REQUIRE m.key IS UNIQUE",
    *(
        f"CREATE CONSTRAINT rel_{t.value.lower()}_id IF NOT EXISTS "
        f"FOR ()-[r:{t.value}]-() REQUIRE r.id IS UNIQUE"
        for t in RelType
    ),
    "CREATE INDEX activity_time IF NOT EXISTS FOR (a:Activity) ON (a.occurred_at)",
    # a roll-up scan of one activity type: that type's activities alone, newest first
    "CREATE INDEX activity_type_time IF NOT EXISTS FOR (a:Activity) ON (a.type, a.occurred_at)",
    "CREATE INDEX about_time IF NOT EXISTS FOR ()-[s:ABOUT]-() ON (s.occurred_at)",
    "CREATE INDEX party_kind IF NOT EXISTS FOR (p:Party) ON (p.kind)",
    "CREATE INDEX opportunity_pipeline IF NOT EXISTS FOR (o:Opportunity) ON (o.pipeline_id)",
    "CREATE INDEX opportunity_organization IF NOT EXISTS "
    "FOR (o:Opportunity) ON (o.organization_id)",
    # a deal's timeline: the activities for it, newest first
    "CREATE INDEX activity_opportunity_time IF NOT EXISTS "
    "FOR (a:Activity) ON (a.opportunity_id, a.occurred_at)",
    # and counted by type from the index alone
    "CREATE INDEX activity_opportunity_type IF NOT EXISTS "
    "FOR (a:Activity) ON (a.opportunity_id, a.type, a.occurred_at)",
    "CREATE INDEX party_category IF NOT EXISTS FOR (p:Party) ON (p.category_id)",
    "CREATE INDEX party_merged IF NOT EXISTS FOR (p:Party) ON (p.merged_into)",
    "CREATE INDEX party_lead IF NOT EXISTS FOR (p:Party) ON (p.lead_status)",
    # (ancestor) alone: reach_rank's prefix serves its readers (walks.rows_of)
    "DROP INDEX reach_ancestor IF EXISTS",
    "DROP INDEX reach_depth IF EXISTS",
    # a subtree in page order, a level of it in one seek, and counted from the index alone
    "CREATE INDEX reach_rank IF NOT EXISTS FOR (h:Reach) ON (h.ancestor, h.rank, h.since, h.until)",
    # the rows that share their party with a row of another depth, few: a count's surplus
    "CREATE INDEX reach_shared IF NOT EXISTS FOR (h:Reach) ON (h.shared, h.rank, h.since, h.until)",
    *search.SCHEMA,
    *activity_search.SCHEMA,
    *identity.SCHEMA,
    *keys.SCHEMA,
    *history.SCHEMA,
    *plans.SCHEMA,
    *process_steps.SCHEMA,
    *opportunities.SCHEMA,
)


# the name of the index or constraint a SCHEMA statement creates or drops
_SCHEMA_NAME = re.compile(r"(CREATE|DROP) (?:[A-Z]+ )*?(?:CONSTRAINT|INDEX) (\w+) IF (NOT )?EXISTS")


def schema_changes(present: set[str]) -> list[str]:
    """The SCHEMA statements with something to do: a start on an up-to-date graph then
    reads the schema (two round trips) instead of sending every statement (39)."""
    changes = []
    for statement in SCHEMA:
        found = _SCHEMA_NAME.match(statement)
        assert found is not None, statement
        if (found[1] == "CREATE") != (found[2] in present):
            changes.append(statement)
    return changes


Backfill = Callable[[Tx], Awaitable[bool]]
# the data written before a property existed, a batch per transaction until none is left
_BACKFILLS: tuple[Backfill, ...] = (
    search.split_fiscal,
    keys.backfill,
    activity_search.backfill,
    opportunities.backfill,
)

# a scoped page of parties first tests the next this many pages of all parties
SCOPED_SCAN_PAGES = 4


class Neo4jStore(Neo4jWrites, Neo4jOpportunities):
    async def _inside(self, tx: Tx) -> Reach:
        return await scopes.reach(tx, self._scope)

    async def _backfill(self, statement: str) -> None:
        """Run a statement that changes up to $batch nodes and returns how many (`done`)
        until it changes fewer: a transaction per batch, whatever the graph's size."""
        done = plans.BACKFILL_BATCH
        while done == plans.BACKFILL_BATCH:
            records, _, _ = await self.driver.execute_query(
                statement, batch=plans.BACKFILL_BATCH, database_=self._database
            )
            done = records[0]["done"]

    async def agenda(self, query: AgendaQuery) -> list[Activity]:
        async def work(tx: Tx) -> list[Activity]:
            return await plans.window(tx, query, await self._inside(tx))

        return await self._read(work)

    async def tasks(self, query: TaskQuery) -> TaskPage:
        async def work(tx: Tx) -> TaskPage:
            return await plans.tasks(tx, query, await self._inside(tx))

        return await self._read(work)

    async def migrate(self) -> None:
        """Create constraints, indexes and default categories; idempotent and awaited.

        A start on an up-to-date graph costs four round trips: the schema read, the
        defaults with a first batch of each backfill, the closure's claim, nothing else."""
        # a uniqueness constraint (the only kind Community has) owns an index of its name
        records, _, _ = await self.driver.execute_query(
            "SHOW INDEXES YIELD name RETURN name", database_=self._database
        )
        present = {record["name"] for record in records}
        changes = schema_changes(present)
        for statement in changes:
            await self.driver.execute_query(statement, database_=self._database)
        if changes:
            await self.driver.execute_query("CALL db.awaitIndexes(300)", database_=self._database)
        if "activity_span" not in present:  # activities stored before scheduling existed
            await self._backfill(plans.BACKFILL)
        if "process_step_untold" not in present:  # steps opened before overdue was told
            await self._backfill(process_steps.MARK_UNTOLD)

        async def defaults(tx: Tx) -> list[Backfill]:
            await tx.run(
                "UNWIND $rows AS row MERGE (c:Category {id: row.id}) ON CREATE SET c = row",
                rows=[category_record(c) for c in DEFAULT_CATEGORIES],
            )
            await tx.run("UNWIND ['hierarchy', 'fiscal'] AS name MERGE (:WriteLock {name: name})")
            await identity.write_roles(tx)
            await vocabulary.write_default_levels(tx)
            return [fill for fill in _BACKFILLS if await fill(tx)]

        for fill in await self._write(defaults):
            while await self._write(fill):
                pass
        await closure_build.build(self._read, self._write)

    # -- reads ---------------------------------------------------------------

    async def get_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        async def work(tx: Tx) -> dict[str, Node]:
            inside = await self._inside(tx)
            nodes: dict[str, Node] = {}
            nodes.update(await cypher.parties(tx, ids, inside))
            nodes.update(await cypher.activities(tx, ids, inside))
            nodes.update((r.id, r) for r in await cypher.relationships_by_id(tx, ids, inside))
            return nodes

        return await self._read(work)

    async def get_parties(self, ids: Sequence[str]) -> dict[str, Party]:
        async def work(tx: Tx) -> dict[str, Party]:
            return await cypher.parties(tx, ids, await self._inside(tx))

        return await self._read(work)

    async def list_parties(self, where: PartyFilter, page: Page, count: bool) -> PartyPage:
        # only the filters given become predicates, so the planner can pick their indexes
        filters = {
            "kinds": ("p.kind IN $kinds", [k.value for k in where.kinds]),
            "categories": ("p.category_id IN $categories", list(where.category_ids)),
            "forms": ("p.legal_form IN $forms", [f.value for f in where.legal_forms]),
            "tags": ("all(tag IN $tags WHERE tag IN p.tags)", sorted(set(where.tags))),
            "leads": ("p.lead_status IN $leads", [s.value for s in where.lead_statuses]),
        }
        conditions = [clause for clause, values in filters.values() if values]
        params: dict[str, Any] = {name: values for name, (_, values) in filters.items() if values}
        if not where.include_archived:
            conditions.append("p.archived_at IS NULL")
        conditions += cypher_clauses(where.attributes, params)
        # every id is greater than "": the range on the id index also yields id order
        params["after"] = decode_cursor(page.after, 1)[0] if page.after else ""
        params["limit"] = page.first + 1
        if where.search is not None:
            params |= search.parameters(where.search, where.search_fiscal)

        async def work(tx: Tx) -> PartyPage:
            # counts and pages are of the parties inside: the scope's, found down from its
            # anchors (scopes.py), or the search's, each tested
            inside = await self._inside(tx)
            named = {**params, **inside.params}
            filtered = " AND ".join(conditions) or "true"
            if where.search is not None:  # counted with its page, by one full-text search
                matching = f"{search.SOURCE} WHERE {filtered} AND {inside.test('p')}"
                found = await tx.run(
                    search.page_and_count(matching),
                    named | {"sorted_most": search.SORTED_MOST, "window": search.WINDOW},
                )
                record = await found.single(strict=True)
                matched = [cypher.party(row) for row in record["rows"]]
                total = record["n"] if count else None
                return PartyPage(matched[: page.first], len(matched) > page.first, total)
            matching = f"{inside.parties('p')} WHERE {filtered}"
            total = None
            if count:
                counted = await tx.run(f"{matching} RETURN count(p) AS n", named)
                total = (await counted.single(strict=True))["n"]
            paged = f"WITH p ORDER BY p.id LIMIT $limit RETURN collect({PARTY_MAP}) AS rows"
            rows: list[Party] = []
            if self._scope is not None:
                # a scope that holds most parties fills its page from the next few pages of
                # all parties, each tested, sooner than its parties are all found
                result = await tx.run(
                    f"MATCH (p:Party) WHERE {filtered} AND p.id > $after "
                    f"WITH p ORDER BY p.id LIMIT $window WITH p WHERE {inside.test('p')} {paged}",
                    named | {"window": SCOPED_SCAN_PAGES * params["limit"]},
                )
                rows = [cypher.party(row) for row in await cypher.collected(result)]
            if len(rows) < params["limit"]:
                result = await tx.run(f"{matching} AND p.id > $after {paged}", named)
                rows = [cypher.party(row) for row in await cypher.collected(result)]
            return PartyPage(rows[: page.first], has_next=len(rows) > page.first, total_count=total)

        slow = count or where.search or self._scope
        return await (self._walk if slow else self._read)(work)

    async def get_categories(self, ids: Sequence[str] | None) -> dict[str, Category]:
        async def work(tx: Tx) -> dict[str, Category]:
            result = await tx.run(
                "MATCH (c:Category) WHERE $ids IS NULL OR c.id IN $ids "
                "RETURN properties(c) AS c ORDER BY c.name",
                ids=list(ids) if ids is not None else None,
            )
            return {c.id: c for c in [category_from_record(r["c"]) async for r in result]}

        return await self._read(work)

    async def process_steps(self, party_ids: Sequence[str]) -> dict[str, list[RunStep]]:
        async def work(tx: Tx) -> dict[str, list[RunStep]]:
            inside = await self._inside(tx)
            kept = await cypher.parties(tx, party_ids, inside)
            return await process_steps.steps(tx, [i for i in party_ids if i in kept], False)

        return await self._read(work)

    async def worklist(self, query: WorklistQuery) -> WorklistPage:
        async def work(tx: Tx) -> WorklistPage:
            return await process_steps.worklist(tx, query, await self._inside(tx))

        return await self._read(work)

    async def relationships(
        self,
        party_ids: Sequence[str],
        types: Sequence[RelType],
        direction: Direction,
        as_of: datetime | None,
    ) -> dict[str, list[Relationship]]:
        pattern = {
            Direction.OUTGOING: "(p)-[r]->(other)",
            Direction.INCOMING: "(p)<-[r]-(other)",
            Direction.BOTH: "(p)-[r]-(other)",
        }[direction]

        async def work(tx: Tx) -> dict[str, list[Relationship]]:
            inside = await self._inside(tx)
            read = await carrying.collected(
                tx,
                f"UNWIND $ids AS id MATCH (p:Party {{id: id}}) WHERE {inside.test('p')} "
                f"MATCH {pattern} WHERE type(r) IN $types AND ($at IS NULL OR {VALID_AT}) "
                f"AND {inside.test('other')} WITH id, r ORDER BY r.since, r.id ",
                f"collect([id, {REL_MAP}])",
                {
                    "ids": list(dict.fromkeys(party_ids)),
                    "types": [t.value for t in types],
                    "at": encode(as_of) if as_of else None,
                    **inside.params,
                },
                inside,
            )
            found: dict[str, list[Relationship]] = defaultdict(list)
            for party_id, edge in read:
                found[party_id].append(cypher.rel(edge))
            return found

        return await self._read(work)

    async def role_holders(
        self, unit_ids: Sequence[str], as_of: datetime
    ) -> dict[str, list[tuple[str, str]]]:
        async def work(tx: Tx) -> dict[str, list[tuple[str, str]]]:
            inside = await self._inside(tx)
            result = await tx.run(
                f"UNWIND $ids AS id MATCH (p:Party {{id: id}}) WHERE {inside.test('p')} "
                "MATCH (p)-[r:EMPLOYS|MEMBER_OF]-(other:Party) "
                f"WHERE r.role IS NOT NULL AND {VALID_AT} "
                "AND (type(r) = 'EMPLOYS') = (startNode(r) = p) "
                f"AND {inside.test('other')} RETURN collect([id, other.id, r.role]) AS rows",
                {"ids": list(dict.fromkeys(unit_ids)), "at": encode(as_of), **inside.params},
            )
            found: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for unit, holder, role in await cypher.collected(result):
                found[unit].append((holder, role))
            return found

        return await self._read(work)

    async def children(
        self,
        parent_ids: Sequence[str],
        types: Sequence[RelType],
        as_of: datetime,
        reading: TreeReading = WHOLE_ROWS,
    ) -> dict[str, list[tuple[Party | PartyRef, Relationship | None]]]:
        """Each direction's types named in its own pattern, so that Neo4j expands only
        those edges of a parent (not its activities); whole parties and the edges only
        when `reading` asks: the rest of 1,000 parties' properties cost the most here."""
        forward, backward = rules.walk_directions(types, downward=True)
        child = CHILD_MAP if reading.parties else cypher.ref_list("child")
        edge = REL_MAP if reading.edges else "null"
        patterns = [
            f"(p)-[r:{type_expression(forward)}]->(child:Party)" if forward else "",
            f"(p)<-[r:{type_expression(backward)}]-(child:Party)" if backward else "",
        ]

        async def work(tx: Tx) -> dict[str, list[tuple[Party | PartyRef, Relationship | None]]]:
            inside = await self._inside(tx)
            below = " UNION ALL ".join(
                f"MATCH {pattern} WHERE {VALID_AT} AND {inside.test('child')} RETURN r, child"
                for pattern in patterns
                if pattern
            )
            read = await carrying.collected(
                tx,
                f"UNWIND $ids AS id MATCH (p:Party {{id: id}}) WHERE {inside.test('p')} "
                f"CALL (p) {{ {below} }} ",
                f"collect([id, {edge}, {child}])",
                {"ids": list(dict.fromkeys(parent_ids)), "at": encode(as_of), **inside.params},
                inside,
            )
            found: dict[str, list[tuple[Party | PartyRef, Relationship | None]]] = defaultdict(list)
            for parent_id, edge_row, child_row in read:
                found[parent_id].append(
                    (
                        cypher.party(child_row) if reading.parties else cypher.party_ref(child_row),
                        cypher.rel(edge_row) if edge_row is not None else None,
                    )
                )
            for items in found.values():
                items.sort(key=lambda item: display_order(item[0]))
            return found

        return await self._read(work)

    async def descendants(
        self,
        root_ids: Sequence[str],
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
        page: Page,
        count: bool,
        reading: TreeReading = WHOLE_ROWS,
        tell_beyond: bool = False,
    ) -> dict[str, TreePage]:
        async def work(tx: Tx) -> dict[str, TreePage]:
            inside = await self._inside(tx)
            return await walks.descendants(
                tx, root_ids, types, max_depth, as_of, page, count, reading, inside, tell_beyond
            )

        return await self._walk(work)

    async def ancestors(
        self,
        party_ids: Sequence[str],
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
        tell_beyond: bool = False,
    ) -> dict[str, Ancestry]:
        async def work(tx: Tx) -> dict[str, Ancestry]:
            inside = await self._inside(tx)
            return await walks.ancestors(
                tx, party_ids, types, max_depth, as_of, inside, tell_beyond
            )

        return await self._walk(work)

    async def neighborhood(
        self,
        root_ids: Sequence[str],
        types: Sequence[RelType],
        depth: int,
        limit: int,
        as_of: datetime,
    ) -> dict[str, Network]:
        async def work(tx: Tx) -> dict[str, Network]:
            inside = await self._inside(tx)
            return await walks.neighborhood(tx, root_ids, types, depth, limit, as_of, inside)

        return await self._walk(work)

    async def shortest_path(
        self,
        from_id: str,
        to_id: str,
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
    ) -> Path | None:
        async def work(tx: Tx) -> Path | None:
            inside = await self._inside(tx)
            return await walks.shortest_path(tx, from_id, to_id, types, max_depth, as_of, inside)

        return await self._walk(work)

    async def timelines(
        self, party_ids: Sequence[str], query: TimelineQuery
    ) -> dict[str, TimelinePage]:
        async def work(tx: Tx) -> dict[str, TimelinePage]:
            return await timelines.timelines(tx, party_ids, query, await self._inside(tx))

        run = self._read if query.rollup is None and self._scope is None else self._walk
        return await run(work)

    async def activities(self, query: ActivityQuery) -> ActivityPage:
        async def work(tx: Tx) -> ActivityPage:
            ids = await activity_search.window(tx, query, await self._inside(tx))
            found = await cypher.activities(tx, ids[: query.page.first])
            return ActivityPage(
                [found[i] for i in ids[: query.page.first]], has_next=len(ids) > query.page.first
            )

        return await self._walk(work)

    async def parties_by_email(self, addresses: Sequence[str]) -> dict[str, list[str]]:
        async def work(tx: Tx) -> dict[str, list[str]]:
            return await keys.by_email(tx, addresses, await self._inside(tx))

        return await self._read(work)

    async def parties_by_external_id(
        self, ids: Sequence[ExternalId]
    ) -> dict[ExternalId, list[str]]:
        async def work(tx: Tx) -> dict[ExternalId, list[str]]:
            return await keys.by_external_id(tx, ids, await self._inside(tx))

        return await self._read(work)

    async def parties_by_code(
        self, codes: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], list[str]]:
        async def work(tx: Tx) -> dict[tuple[str, str], list[str]]:
            return await keys.by_code(tx, codes, await self._inside(tx))

        return await self._read(work)

    async def snapshots(self, party_ids: Sequence[str], as_of: datetime) -> dict[str, Party]:
        async def work(tx: Tx) -> dict[str, Party]:
            found = await cypher.parties(tx, party_ids, await self._inside(tx))
            return await history.snapshots(tx, found, as_of)

        return await self._read(work)

    async def merged_from(self, party_ids: Sequence[str]) -> dict[str, list[str]]:
        return await self._read(lambda tx: merges.merged_from(tx, party_ids))

    async def possible_duplicates(
        self, party_ids: Sequence[str], query: DuplicateQuery
    ) -> dict[str, list[Match]]:
        async def work(tx: Tx) -> dict[str, list[Match]]:
            return await duplicates.possible(tx, party_ids, query, await self._inside(tx))

        return await self._read(work)

    async def duplicates_of(self, party: Party, query: DuplicateQuery) -> list[Match]:
        party = normalised(party, self.default_region)

        async def work(tx: Tx) -> list[Match]:
            return await duplicates.of_new(tx, party, query, await self._inside(tx))

        return await self._read(work)

    async def duplicate_pairs(self, query: DuplicateQuery, after: str | None) -> PairPage:
        async def work(tx: Tx) -> PairPage:
            return await duplicates.pairs(tx, query, after, await self._inside(tx))

        return await self._walk(work)

    async def is_empty(self) -> bool:
        async def work(tx: Tx) -> bool:
            record = await (await tx.run("MATCH (p:Party) RETURN count(p) = 0 AS empty")).single()
            return bool(record and record["empty"])

        return await self._read(work)

    async def seed_progress(self) -> str | None:
        async def work(tx: Tx) -> str | None:
            result = await tx.run("MATCH (m:Meta {key: 'seed'}) RETURN m.value AS value")
            record = await result.single()
            return None if record is None else str(record["value"])

        return await self._read(work)
