"""The Neo4j backend: the official async driver, managed transactions, parameterised Cypher.

Parties are :Party nodes with a second label for their kind; relationships are
Neo4j relationships of the domain type; activities are :Activity nodes linked
to their subjects by :ABOUT. Labels and relationship types only ever come from
the domain enums. Each public method is one managed transaction: one round
trip in the port's sense, whatever it runs inside; batched reads use UNWIND.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from .. import history as entry
from .. import rules
from ..codec import category_from_record, category_record
from ..contactdata import normalised
from ..cursors import decode_cursor
from ..duplicates import DuplicateQuery, Match, PairPage
from ..errors import (
    BadUserInput,
    Conflict,
    NotFound,
)
from ..identity import Grant
from ..merging import DryRun, FieldChoice, MergePlan, UnmergePlan
from ..model import (
    DEFAULT_CATEGORIES,
    WHOLE_ROWS,
    Activity,
    Batch,
    Category,
    Direction,
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
    TreeRow,
    display_order,
)
from ..store import Node
from . import (
    closure,
    closure_build,
    cypher,
    duplicates,
    history,
    identity,
    keys,
    merges,
    scopes,
    search,
    timelines,
    walks,
)
from .accounts import Neo4jAccounts
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

SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT party_id IF NOT EXISTS FOR (p:Party) REQUIRE p.id IS UNIQUE",
    "CREATE CONSTRAINT user_username IF NOT EXISTS FOR (u:User) REQUIRE u.username IS UNIQUE",
    "CREATE CONSTRAINT activity_id IF NOT EXISTS FOR (a:Activity) REQUIRE a.id IS UNIQUE",
    "CREATE CONSTRAINT category_id IF NOT EXISTS FOR (c:Category) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT write_lock IF NOT EXISTS FOR (l:WriteLock) REQUIRE l.name IS UNIQUE",
    "CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (m:Meta) REQUIRE m.key IS UNIQUE",
    *(
        f"CREATE CONSTRAINT rel_{t.value.lower()}_id IF NOT EXISTS "
        f"FOR ()-[r:{t.value}]-() REQUIRE r.id IS UNIQUE"
        for t in RelType
    ),
    "CREATE INDEX activity_time IF NOT EXISTS FOR (a:Activity) ON (a.occurred_at)",
    "CREATE INDEX about_time IF NOT EXISTS FOR ()-[s:ABOUT]-() ON (s.occurred_at)",
    "CREATE INDEX party_kind IF NOT EXISTS FOR (p:Party) ON (p.kind)",
    "CREATE INDEX party_category IF NOT EXISTS FOR (p:Party) ON (p.category_id)",
    "CREATE INDEX party_merged IF NOT EXISTS FOR (p:Party) ON (p.merged_into)",
    "CREATE INDEX reach_ancestor IF NOT EXISTS FOR (h:Reach) ON (h.ancestor)",
    *search.SCHEMA,
    *identity.SCHEMA,
    *keys.SCHEMA,
    *history.SCHEMA,
)


# a batch naming at most this many stored parties locks them, so none is archived or merged
# while it writes (a party made with its links); a larger one (a seed) locks only those its
# hierarchy edges enter
LOCKED_REFERENCES = 100
# a scoped page of parties first tests the next this many pages of all parties
SCOPED_SCAN_PAGES = 4


class Neo4jStore(Neo4jAccounts):
    # a batch is one transaction, held in Neo4j's heap until commit; 1,000 parties with
    # their activities and history entries fit the transaction memory of a 512 MiB heap
    seed_batch_size = 1_000
    default_region: str | None = None

    async def _inside(self, tx: Tx) -> Reach:
        return await scopes.reach(tx, self._scope)

    async def migrate(self) -> None:
        """Create constraints, indexes and default categories; idempotent and awaited."""
        for statement in SCHEMA:
            await self.driver.execute_query(statement, database_=self._database)
        await self.driver.execute_query("CALL db.awaitIndexes(300)", database_=self._database)

        async def categories(tx: Tx) -> None:
            await tx.run(
                "UNWIND $rows AS row MERGE (c:Category {id: row.id}) ON CREATE SET c = row",
                rows=[category_record(c) for c in DEFAULT_CATEGORIES],
            )
            await tx.run("MERGE (:WriteLock {name: 'hierarchy'})")
            await tx.run("MERGE (:WriteLock {name: 'fiscal'})")
            await identity.write_roles(tx)

        await self._write(categories)
        while await self._write(search.split_fiscal):
            pass
        while await self._write(keys.backfill):
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
        }
        conditions = [clause for clause, values in filters.values() if values]
        params: dict[str, Any] = {name: values for name, (_, values) in filters.items() if values}
        if not where.include_archived:
            conditions.append("p.archived_at IS NULL")
        # every id is greater than "": the range on the id index also yields id order
        params["after"] = decode_cursor(page.after, 1)[0] if page.after else ""
        params["limit"] = page.first + 1
        if where.search is not None:
            params["search"] = search.query(where.search, where.search_fiscal)

        async def work(tx: Tx) -> PartyPage:
            # counts and pages are of the parties inside: the scope's, found down from its
            # anchors (scopes.py), or the search's, each tested
            inside = await self._inside(tx)
            named = {**params, **inside.params}
            filtered = " AND ".join(conditions) or "true"
            if where.search is None:
                matching = f"{inside.parties('p')} WHERE {filtered}"
            else:
                matching = f"{search.SOURCE} WHERE {filtered} AND {inside.test('p')}"
            total = None
            if count:
                counted = await tx.run(f"{matching} RETURN count(p) AS n", named)
                total = (await counted.single(strict=True))["n"]
            paged = f"WITH p ORDER BY p.id LIMIT $limit RETURN collect({PARTY_MAP}) AS rows"
            rows: list[Party] = []
            if self._scope is not None and where.search is None:
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
            result = await tx.run(
                f"UNWIND $ids AS id MATCH (p:Party {{id: id}}) WHERE {inside.test('p')} "
                f"MATCH {pattern} WHERE type(r) IN $types AND ($at IS NULL OR {VALID_AT}) "
                f"AND {inside.test('other')} WITH id, r ORDER BY r.since, r.id "
                f"RETURN collect([id, {REL_MAP}]) AS rows",
                {
                    "ids": list(dict.fromkeys(party_ids)),
                    "types": [t.value for t in types],
                    "at": encode(as_of) if as_of else None,
                    **inside.params,
                },
            )
            found: dict[str, list[Relationship]] = defaultdict(list)
            for party_id, edge in await cypher.collected(result):
                found[party_id].append(cypher.rel(edge))
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
            result = await tx.run(
                f"UNWIND $ids AS id MATCH (p:Party {{id: id}}) WHERE {inside.test('p')} "
                f"CALL (p) {{ {below} }} RETURN collect([id, {edge}, {child}]) AS rows",
                {"ids": list(dict.fromkeys(parent_ids)), "at": encode(as_of), **inside.params},
            )
            found: dict[str, list[tuple[Party | PartyRef, Relationship | None]]] = defaultdict(list)
            for parent_id, edge_row, child_row in await cypher.collected(result):
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
        root_id: str,
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
        page: Page,
        count: bool,
        reading: TreeReading = WHOLE_ROWS,
    ) -> TreePage:
        async def work(tx: Tx) -> TreePage:
            inside = await self._inside(tx)
            return await walks.descendants(
                tx, root_id, types, max_depth, as_of, page, count, reading, inside
            )

        return await self._walk(work)

    async def ancestors(
        self, party_ids: Sequence[str], types: Sequence[RelType], max_depth: int, as_of: datetime
    ) -> dict[str, list[TreeRow]]:
        async def work(tx: Tx) -> dict[str, list[TreeRow]]:
            inside = await self._inside(tx)
            return await walks.ancestors(tx, party_ids, types, max_depth, as_of, inside)

        return await self._walk(work)

    async def neighborhood(
        self,
        root_id: str,
        types: Sequence[RelType],
        depth: int,
        limit: int,
        as_of: datetime,
    ) -> Network:
        async def work(tx: Tx) -> Network:
            inside = await self._inside(tx)
            return await walks.neighborhood(tx, root_id, types, depth, limit, as_of, inside)

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

    async def parties_by_email(self, addresses: Sequence[str]) -> dict[str, list[str]]:
        async def work(tx: Tx) -> dict[str, list[str]]:
            return await keys.by_email(tx, addresses, await self._inside(tx))

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

    # -- writes ---------------------------------------------------------------

    async def create_user(self, user: Party, grants: Sequence[Grant]) -> Party:
        async def work(tx: Tx) -> Party:
            checked = await keys.check_party(tx, user, self.default_region)
            await cypher.write(tx, cypher.new_parties([checked]))
            entries = [entry.created(checked, self._actor)]
            for grant in grants:
                held = await identity.add_grant(tx, grant)
                entries.append(entry.role_granted(held, self._actor))
            await history.append(tx, entries)
            return checked

        return await self._write(work)

    async def create_party(self, party: Party) -> Party:
        async def work(tx: Tx) -> Party:
            checked = await keys.check_party(tx, party, self.default_region)
            await cypher.write(
                tx,
                cypher.new_parties([checked]),
                history.new_entries([entry.created(checked, self._actor)]),
            )
            return checked

        return await self._write(work)

    async def update_party(
        self,
        party_id: str,
        changes: Mapping[str, object],
        expected_version: int | None,
        at: datetime,
    ) -> Party:
        async def work(tx: Tx) -> Party:
            if "fiscal" in changes:  # the fiscal lock first, as every write takes it
                await keys.lock(tx)
            await cypher.lock(tx, [party_id])
            current = rules.found(await cypher.parties(tx, [party_id]), [party_id])[0]
            if expected_version is not None and expected_version != current.version:
                raise Conflict(
                    f"party {party_id} is at version {current.version}, not {expected_version}"
                )
            updated = rules.apply_changes(current, changes, at)
            if updated is current:
                return current
            updated = await keys.check_party(tx, updated, self.default_region, current)
            await cypher.write(
                tx,
                cypher.rewritten_parties([updated]),
                history.new_entries([entry.changed(current, updated, self._actor)]),
            )
            return updated

        return await self._write(work)

    async def archive_party(self, party_id: str, at: datetime, archive: bool = True) -> Party:
        async def work(tx: Tx) -> Party:
            if not archive:  # a restore may take unique codes back: the fiscal lock first
                await keys.lock(tx)
            await cypher.lock(tx, [party_id])
            current = rules.found(await cypher.parties(tx, [party_id]), [party_id])[0]
            changed = rules.archived(current, at, archive)
            if changed is not current:
                await keys.check_claims(tx, rules.claims(changed, current), quote=False)
                await cypher.write(
                    tx,
                    cypher.rewritten_parties([changed]),
                    history.new_entries([entry.changed(current, changed, self._actor)]),
                )
            return changed

        return await self._write(work)

    async def link(self, rel: Relationship) -> Relationship:
        async def work(tx: Tx) -> Relationship:
            ends = [rel.from_id, rel.to_id]
            acyclic = rules.acyclic_edges([rel])
            # the closure's locks first: they go bottom up, and the ends are among them
            reaches = await closure.edges_changed(tx, [], [], pending=[rel])
            read = await cypher.prepare(
                tx, ends, ends, sources=[rel.from_id] if acyclic else [], between=rel
            )
            source, target = rules.found(read.parties, ends)
            rules.check_link(rel, source, target)
            rules.check_duplicate(rel, read.between)
            if rules.may_close_cycle(acyclic, read.entered):
                await cypher.lock_hierarchy(tx)
                if await walks.reaches(tx, rel.to_id, rel.from_id, rel.since):
                    raise rules.cycle(rel)
            await cypher.write(
                tx,
                cypher.new_relationships([rel]),
                *reaches,
                history.new_entries([entry.linked(rel, self._actor)]),
            )
            return rel

        return await self._write(work)

    async def unlink(self, rel_id: str, until: datetime) -> Relationship:
        async def work(tx: Tx) -> Relationship:
            found = await cypher.relationships_by_id(tx, [rel_id])
            if not found:
                raise NotFound(f"relationship {rel_id} does not exist")
            rel = found[0]
            if rel.until is not None:
                raise Conflict(f"relationship {rel_id} already ended at {rel.until.isoformat()}")
            if until <= rel.since:
                raise BadUserInput("until must be later than the relationship's since")
            ended = replace(rel, until=until)
            # the closure's locks before the edge's, which would take its ends out of order
            reaches = await closure.edges_changed(tx, [], [], pending=[ended])
            # it was read before the closure's locks: since then a merge may have moved it
            # (same id, another end) or another request ended it
            result = await tx.run(
                f"MATCH (:Party {{id: $from_id}})-[r:{rel.type.value} {{id: $id}}]->"
                "(:Party {id: $to_id}) WHERE r.until IS NULL "
                "SET r.until = datetime($until) RETURN count(r) AS n",
                id=rel_id,
                from_id=rel.from_id,
                to_id=rel.to_id,
                until=encode(until),
            )
            if (await result.single(strict=True))["n"] != 1:
                raise Conflict(
                    f"relationship {rel_id} was ended or moved by a merge meanwhile: read it again"
                )
            await cypher.write(
                tx,
                *reaches,
                history.new_entries([entry.unlinked(ended, self._actor)]),
            )
            return ended

        return await self._write(work)

    async def record_activity(self, activity: Activity) -> Activity:
        async def work(tx: Tx) -> Activity:
            references = list(rules.activity_references([activity]))
            # locked: none is archived or merged meanwhile
            read = await cypher.prepare(tx, references, references)
            rules.check_activities([activity], read.parties)
            await cypher.write(
                tx,
                cypher.new_activities([activity]),
                history.new_entries([entry.recorded(activity, self._actor)]),
            )
            return activity

        return await self._write(work)

    async def merge_parties(
        self,
        survivor_id: str,
        merged_ids: Sequence[str],
        choices: Sequence[FieldChoice],
        at: datetime,
        dry_run: bool,
        move_grants: bool = True,
    ) -> MergePlan:
        async def work(tx: Tx) -> MergePlan:
            region, actor = self.default_region, self._actor
            plan = await merges.merge(
                tx, survivor_id, merged_ids, choices, at, region, actor, move_grants
            )
            if dry_run:
                raise DryRun(plan)
            return plan

        try:
            return await self._write(work)
        except DryRun as done:
            return done.plan

    async def unmerge_party(
        self, party_id: str, at: datetime, move_grants: bool = True
    ) -> UnmergePlan:
        return await self._write(
            lambda tx: merges.unmerge(tx, party_id, at, self._actor, move_grants)
        )

    async def load_batch(self, batch: Batch) -> Batch:
        added = rules.acyclic_edges(batch.relationships)
        reach = closure.Plan.of(batch.relationships, [p.id for p in batch.parties])
        doors = reach.doors or []

        async def work(tx: Tx) -> Batch:
            references = rules.batch_references(batch)
            locked = len(references) <= LOCKED_REFERENCES  # a new party's: as single writes do
            if locked and any(p.fiscal for p in batch.parties):  # the fiscal lock first
                await keys.lock(tx)
            # unlocked (a seed), no shortcut: what enters a source may be written meanwhile;
            # but the stored parties its hierarchy edges enter are locked, as every write
            # that adds such an edge locks them (a link may skip its search on that)
            sources = {rel.from_id for rel in added} & references if locked else set()
            locking = references if locked else {rel.to_id for rel in added} & references
            locking = locking | set(doors)  # their closure rows are read too
            read = await cypher.prepare(tx, references, locking, sources, doors=doors)
            checked = rules.check_batch(batch, read.categories, read.parties, self.default_region)
            await keys.check_claims(tx, [c for p in checked.parties for c in rules.claims(p)])
            checking = rules.may_close_cycle(added, read.entered) if locked else added
            if checking:
                await cypher.lock_hierarchy(tx)
                since = min(rel.since for rel in checking)
                above = await walks.acyclic_above(tx, [rel.to_id for rel in checking], since)
                rules.check_batch_acyclic(checking, above)
            await cypher.write(
                tx,
                cypher.new_parties(checked.parties),
                cypher.new_relationships(batch.relationships),
                *reach.writes(closure.held_rows(read.held, doors)),
                cypher.new_activities(batch.activities),
                history.new_entries(
                    entry.batch(checked.parties, batch.relationships, batch.activities, self._actor)
                ),
            )
            if reach.doors is None:  # its edges reach below stored parties: after them
                created = [p.id for p in checked.parties]
                changed = await closure.edges_changed(tx, batch.relationships, [*locking, *created])
                await cypher.write(tx, *changed)
            if batch.progress == "":
                await tx.run("MATCH (m:Meta {key: 'seed'}) DELETE m")
            elif batch.progress is not None:
                await tx.run(
                    "MERGE (m:Meta {key: 'seed'}) SET m.value = $value", value=batch.progress
                )
            return checked

        return await self._write(work)
