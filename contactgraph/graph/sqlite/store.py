"""The embedded default backend: stdlib sqlite3 in WAL mode (connections and jobs in
database.py). Each public method is one executor job: one round trip, however many
statements it runs inside."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from .. import history as entry
from .. import rules
from ..agenda import AgendaQuery
from ..attribute_filters import sqlite_clauses
from ..carried import waiting
from ..contactdata import normalised
from ..cursors import decode_cursor
from ..duplicates import DuplicateQuery, Match, PairPage
from ..errors import BadUserInput, Conflict, NotFound
from ..events import Above, ActivityRead
from ..filed_runs import Filed
from ..history import ChangeKind
from ..identity import Grant
from ..merging import DryRun, FieldChoice, MergePlan
from ..model import (
    Activity,
    ActivityPage,
    ActivityQuery,
    Batch,
    Category,
    ExternalId,
    Page,
    Party,
    PartyFilter,
    PartyPage,
    Relationship,
    TimelinePage,
    TimelineQuery,
)
from ..process_runs import Outcome, RunStep
from ..search import query_terms
from ..step_listeners import StepListeners
from ..store import Node
from ..tasks import TaskPage, TaskQuery
from ..times import format_instant, utcnow
from ..unmerging import UnmergePlan
from ..worklist import WorklistPage, WorklistQuery
from . import (
    activity_search,
    closure,
    duplicates,
    history,
    identity,
    keys,
    merges,
    plans,
    process_steps,
    records,
    scopes,
    seed_rows,
    timelines,
    vocabulary,
    walks,
)
from .dumps import SqliteDumps
from .opportunities import SqliteOpportunities
from .rows import (
    PARTY_COLUMNS,
    REL_COLUMNS,
    party_from_row,
    relationship_from_row,
    relationship_params,
)
from .timelines import Window
from .traversals import SqliteTraversals

T = TypeVar("T")
K = TypeVar("K")
SEED_CACHE_MIB = 2048  # the writer's page cache while seeding (else 256 MiB)


def _fts_query(text: str, fiscal: bool) -> str:
    """Every term as a quoted prefix, all required (terms are letters and digits only),
    in the names' column alone unless fiscal codes may match too."""
    column = "" if fiscal else "body : "
    return " ".join(f'{column}"{term}"*' for term in query_terms(text))


class SqliteStore(SqliteDumps, SqliteOpportunities, SqliteTraversals, StepListeners):
    # a seed's transactions: the larger, the fewer times each index page is rewritten
    # (1,000,000 parties: 970 s in batches of 20,000, 710 s in batches of 100,000; up to
    # about 3 GB of memory in the generator's process, 5.5 GB in the writer's)
    seed_batch_size = 100_000

    # -- reads ---------------------------------------------------------------

    async def get_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        def work(conn: sqlite3.Connection) -> dict[str, Node]:
            inside = self._inside(conn)
            nodes: dict[str, Node] = {}
            nodes.update(scopes.parties_inside(conn, inside, records.parties_by_id(conn, ids)))
            activities = records.activities_by_id(conn, ids)
            rows = conn.execute(
                f"SELECT {REL_COLUMNS} FROM relationships WHERE id {records.IN_LIST}",
                (records.bound_list(ids),),
            )
            rels = [relationship_from_row(row) for row in rows]
            allowed = inside.keep(
                conn,
                [p for a in activities.values() for p in a.subject_ids]
                + [p for r in rels for p in (r.from_id, r.to_id)],
            )
            nodes.update(
                (a.id, a) for a in activities.values() if allowed.intersection(a.subject_ids)
            )
            nodes.update((r.id, r) for r in rels if r.from_id in allowed and r.to_id in allowed)
            return nodes

        return await self._read(work)

    async def get_parties(self, ids: Sequence[str]) -> dict[str, Party]:
        return await self._read(
            lambda conn: scopes.parties_inside(
                conn, self._inside(conn), records.parties_by_id(conn, ids)
            )
        )

    async def list_parties(self, where: PartyFilter, page: Page, count: bool) -> PartyPage:
        clauses: list[str] = []
        params: dict[str, object] = {"limit": page.first + 1}
        for column, values in (
            ("kind", [k.value for k in where.kinds]),
            ("category_id", list(where.category_ids)),
            ("legal_form", [f.value for f in where.legal_forms]),
        ):
            if values:
                clauses.append(f"{column} IN (SELECT value FROM json_each(:{column}))")
                params[column] = records.bound_list(values)
        if not where.include_archived:
            clauses.append("archived_at IS NULL")
        if where.tags:
            clauses.append(
                "id IN (SELECT party_id FROM party_tags WHERE tag IN "
                "(SELECT value FROM json_each(:tags)) GROUP BY party_id HAVING count(*) = :tagged)"
            )
            params.update(tags=records.bound_list(set(where.tags)), tagged=len(set(where.tags)))
        if where.lead_statuses:
            clauses.append(
                "json_extract(details, '$.lead_status') IN (SELECT value FROM json_each(:leads))"
            )
            params["leads"] = records.bound_list(s.value for s in where.lead_statuses)
        clauses += sqlite_clauses(where.attributes, params)
        if where.search is not None:
            clauses.append(
                "seq IN (SELECT rowid FROM party_search WHERE party_search MATCH :search)"
            )
            params["search"] = _fts_query(where.search, where.search_fiscal)
        if page.after:
            params["after"] = decode_cursor(page.after, 1)[0]

        def work(conn: sqlite3.Connection) -> PartyPage:
            inside = self._inside(conn)
            kept = [*clauses, inside.members("id")] if self._scope else clauses
            where_sql = " AND ".join(kept) or "1"
            named = {**params, **inside.params}
            count_sql = f"SELECT count(*) FROM parties WHERE {where_sql}"
            total = conn.execute(count_sql, named).fetchone()[0] if count else None
            window = f"{where_sql} AND id > :after" if page.after else where_sql
            rows = conn.execute(
                f"SELECT {PARTY_COLUMNS} FROM parties WHERE {window} ORDER BY id LIMIT :limit",
                named,
            ).fetchall()
            parties = [party_from_row(row) for row in rows[: page.first]]
            return PartyPage(parties, has_next=len(rows) > page.first, total_count=total)

        slow = count or where.search or self._scope
        return await (self._walk if slow else self._read)(work)

    async def get_categories(self, ids: Sequence[str] | None) -> dict[str, Category]:
        return await self._read(lambda conn: records.categories(conn, ids))

    async def process_steps(self, party_ids: Sequence[str]) -> dict[str, list[RunStep]]:
        def work(conn: sqlite3.Connection) -> dict[str, list[RunStep]]:
            allowed = self._inside(conn).keep(conn, party_ids)
            return process_steps.steps(conn, [i for i in party_ids if i in allowed], False)

        return await self._read(work)

    async def worklist(self, query: WorklistQuery) -> WorklistPage:
        return await self._read(
            lambda conn: process_steps.worklist(conn, query, self._inside(conn))
        )

    async def claim_overdue(self, now: datetime, first: int) -> list[RunStep]:
        return await self._write(lambda conn: process_steps.claim_overdue(conn, now, first))

    async def next_due(self) -> datetime | None:
        return await self._read(process_steps.next_due)

    async def agenda(self, query: AgendaQuery) -> list[Activity]:
        return await self._read(lambda conn: plans.window(conn, query, self._inside(conn)))

    async def tasks(self, query: TaskQuery) -> TaskPage:
        return await self._read(lambda conn: plans.tasks(conn, query, self._inside(conn)))

    async def timelines(
        self, party_ids: Sequence[str], query: TimelineQuery
    ) -> dict[str, TimelinePage]:
        def window(conn: sqlite3.Connection, party_id: str, inside: scopes.Reach) -> Window:
            rollup = query.rollup
            if rollup is None:
                return timelines.own(conn, party_id, query)
            subtree = timelines.Subtree.of(conn, party_id, rollup, inside)
            found = timelines.rollup_window(conn, subtree, query)
            page = [a for a, _ in found[: query.page.first]]
            sources = timelines.sources(conn, subtree, party_id, page) if query.sources else {}
            counted = timelines.counts(conn, party_id, subtree, query) if query.count else None
            return found, sources, subtree.beyond, counted

        carried = waiting()

        def work(conn: sqlite3.Connection) -> dict[str, TimelinePage]:
            inside = self._inside(conn)
            records.carry(conn, inside, carried)
            # a party outside has no timeline; below one inside, the subtree keeps to it
            starts = inside.keep(conn, party_ids)
            windows = {p: window(conn, p, inside) for p in dict.fromkeys(party_ids) if p in starts}
            return timelines.pages(conn, windows, query)

        return await (self._read if query.rollup is None and not self._scope else self._walk)(work)

    async def activities(self, query: ActivityQuery) -> ActivityPage:
        def work(conn: sqlite3.Connection) -> ActivityPage:
            ids = activity_search.window(conn, query, self._inside(conn))
            found = records.activities_by_id(conn, ids[: query.page.first])
            return ActivityPage(
                [found[i] for i in ids[: query.page.first]], has_next=len(ids) > query.page.first
            )

        return await self._walk(work)

    async def parties_by_email(self, addresses: Sequence[str]) -> dict[str, list[str]]:
        return await self._holders(lambda conn: keys.by_email(conn, addresses))

    async def parties_by_external_id(
        self, ids: Sequence[ExternalId]
    ) -> dict[ExternalId, list[str]]:
        return await self._holders(lambda conn: keys.by_external_id(conn, ids))

    async def parties_by_code(
        self, codes: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], list[str]]:
        return await self._holders(lambda conn: keys.by_code(conn, codes))

    async def _holders(
        self, find: Callable[[sqlite3.Connection], dict[K, list[str]]]
    ) -> dict[K, list[str]]:
        """The parties `find` gives for each value, those the scope reaches."""

        def work(conn: sqlite3.Connection) -> dict[K, list[str]]:
            found = find(conn)
            if self._scope is None:
                return found
            allowed = self._inside(conn).keep(conn, {i for ids in found.values() for i in ids})
            return {value: [i for i in ids if i in allowed] for value, ids in found.items()}

        return await self._read(work)

    async def snapshots(self, party_ids: Sequence[str], as_of: datetime) -> dict[str, Party]:
        def work(conn: sqlite3.Connection) -> dict[str, Party]:
            found = scopes.parties_inside(
                conn, self._inside(conn), records.parties_by_id(conn, party_ids)
            )
            return history.snapshots(conn, found, as_of)

        return await self._read(work)

    async def merged_from(self, party_ids: Sequence[str]) -> dict[str, list[str]]:
        return await self._read(lambda conn: merges.merged_from(conn, party_ids))

    async def possible_duplicates(
        self, party_ids: Sequence[str], query: DuplicateQuery
    ) -> dict[str, list[Match]]:
        return await self._read(
            lambda conn: duplicates.possible(conn, party_ids, query, self._inside(conn))
        )

    async def duplicates_of(self, party: Party, query: DuplicateQuery) -> list[Match]:
        new = normalised(party, self.default_region)
        return await self._read(
            lambda conn: duplicates.of_new(conn, new, query, self._inside(conn))
        )

    async def duplicate_pairs(self, query: DuplicateQuery, after: str | None) -> PairPage:
        return await self._walk(
            lambda conn: duplicates.pairs(conn, query, after, self._inside(conn))
        )

    async def is_empty(self) -> bool:
        return await self._read(
            lambda conn: (
                conn.execute("SELECT NOT EXISTS (SELECT 1 FROM parties)").fetchone()[0] == 1
            )
        )

    async def seed_progress(self) -> str | None:
        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM meta WHERE key = 'seed'").fetchone()
            return None if row is None else str(row[0])

        return await self._read(work)

    # -- writes ---------------------------------------------------------------

    async def create_user(self, user: Party, grants: Sequence[Grant]) -> Party:
        def work(conn: sqlite3.Connection) -> Party:
            checked = records.check_party(conn, user, self.default_region)
            records.insert_parties(conn, [checked])
            entries = [entry.created(checked, self._actor)]
            for grant in grants:
                held = identity.add_grant(conn, grant)
                entries.append(entry.role_granted(held, self._actor))
            history.append(conn, entries)
            return checked

        return await self._write(work)

    async def create_party(self, party: Party) -> Party:
        def work(conn: sqlite3.Connection) -> tuple[Party, Outcome]:
            checked = records.check_party(conn, party, self.default_region)
            records.insert_parties(conn, [checked])
            runs = process_steps.for_party(conn, checked, None, self._actor)
            written = process_steps.write(conn, runs, self._actor)
            history.append(conn, [entry.created(checked, self._actor), *written])
            return checked, runs

        created, runs = await self._write(work)
        await self._committed(runs)
        return created

    async def update_party(
        self,
        party_id: str,
        changes: Mapping[str, object],
        expected_version: int | None,
        at: datetime,
    ) -> Party:
        def work(conn: sqlite3.Connection) -> tuple[Party, Outcome]:
            current = records.party_by_id(conn, party_id)
            if expected_version is not None and expected_version != current.version:
                raise Conflict(
                    f"party {party_id} is at version {current.version}, not {expected_version}"
                )
            updated = rules.apply_changes(current, changes, at)
            if updated is current:  # no new version, but it may set what a step asks for
                runs = process_steps.for_party(conn, current, current, self._actor)
                history.append(conn, process_steps.write(conn, runs, self._actor))
                return current, runs
            updated = records.check_party(conn, updated, self.default_region, current)
            records.rewrite_party(conn, updated)
            runs = process_steps.for_party(conn, updated, current, self._actor)
            written = process_steps.write(conn, runs, self._actor)
            history.append(conn, [entry.changed(current, updated, self._actor), *written])
            return updated, runs

        updated, runs = await self._write(work)
        await self._committed(runs)
        return updated

    async def archive_party(self, party_id: str, at: datetime, archive: bool = True) -> Party:
        def work(conn: sqlite3.Connection) -> Party:
            current = records.party_by_id(conn, party_id)
            changed = rules.archived(current, at, archive)
            if changed is not current:
                # a restore takes them back
                keys.check_claims(conn, rules.claims(changed, current), quote=False)
                records.rewrite_party(conn, changed)
                history.append(conn, [entry.changed(current, changed, self._actor)])
            return changed

        return await self._write(work)

    async def link(self, rel: Relationship, seen: dict[str, Party] | None = None) -> Relationship:
        def work(conn: sqlite3.Connection) -> tuple[Outcome, dict[str, Party]]:
            source, target = rules.found(
                records.parties_by_id(conn, [rel.from_id, rel.to_id]), [rel.from_id, rel.to_id]
            )
            rules.check_link(rel, source, target)
            vocabulary.check_part_of(conn, rel, source, target)
            rows = conn.execute(
                f"SELECT {REL_COLUMNS} FROM relationships "
                "WHERE from_id = ? AND to_id = ? AND type = ?",
                (rel.from_id, rel.to_id, rel.type.value),
            )
            rules.check_duplicate(rel, (relationship_from_row(row) for row in rows))
            # one writer thread: no other link can land between this check and the insert
            acyclic = rules.acyclic_edges([rel])
            entered = walks.entered(conn, [rel.from_id]) if acyclic else set()
            if rules.may_close_cycle(acyclic, entered) and walks.reaches(
                conn, rel.to_id, rel.from_id, rel.since
            ):
                raise rules.cycle(rel)
            conn.execute(records.INSERT_REL, relationship_params(rel))
            closure.edges_changed(conn, [rel])
            ends = {p.id: p for p in (source, target)}
            runs = process_steps.for_link(conn, rel, ends, self._actor)
            written = process_steps.write(conn, runs, self._actor)
            history.append(conn, [entry.linked(rel, self._actor), *written])
            return runs, ends

        runs, ends = await self._write(work)
        if seen is not None:
            seen.update(ends)
        await self._committed(runs)
        return rel

    async def unlink(self, rel_id: str, until: datetime) -> Relationship:
        def work(conn: sqlite3.Connection) -> Relationship:
            row = conn.execute(
                f"SELECT {REL_COLUMNS} FROM relationships WHERE id = ?",
                (rel_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"relationship {rel_id} does not exist")
            rel = relationship_from_row(row)
            if rel.until is not None:
                raise Conflict(f"relationship {rel_id} already ended at {rel.until.isoformat()}")
            if until <= rel.since:
                raise BadUserInput("until must be later than the relationship's since")
            conn.execute(
                "UPDATE relationships SET until = ? WHERE id = ?", (format_instant(until), rel_id)
            )
            ended = replace(rel, until=until)
            closure.edges_changed(conn, [ended])
            history.append(conn, [entry.unlinked(ended, self._actor)])
            return ended

        return await self._write(work)

    async def record_activity(
        self, activity: Activity, seen: ActivityRead | None = None
    ) -> Activity:
        depth = None if seen is None else seen.closure_depth()

        def work(conn: sqlite3.Connection) -> tuple[Outcome, dict[str, Party], Above | None]:
            parties = records.parties_by_id(conn, rules.activity_references([activity]))
            rules.check_activities([activity], parties)
            runs = process_steps.for_activity(conn, activity, parties, self._actor)
            records.insert_activities(conn, [activity])
            written = process_steps.write(conn, runs, self._actor)
            history.append(conn, [entry.recorded(activity, self._actor), *written])
            if depth is None:
                return runs, parties, None
            # what its live event reaches, read in the write: no read after it
            ids = closure.above(conn, activity.subject_ids, depth, format_instant(utcnow()))
            reached = records.parties_by_id(conn, set().union(*ids.values()))
            return runs, parties, {below: [reached[a] for a in up] for below, up in ids.items()}

        runs, named, above = await self._write(work)
        if seen is not None:
            seen.update(named)
            seen.above = above
        await self._committed(runs)
        return activity

    async def sweep_processes(self) -> int:
        def work(conn: sqlite3.Connection) -> Outcome:
            outcome, written = process_steps.sweep(conn, self._actor)
            history.append(conn, written)
            return outcome

        outcome = await self._write(work)
        await self._committed(outcome)
        return len(outcome.opened)

    async def change_activity(self, activity: Activity, kind: ChangeKind) -> Activity:
        def work(conn: sqlite3.Connection) -> Activity:
            before = records.activities_by_id(conn, [activity.id]).get(activity.id)
            if before is None:
                raise NotFound(f"activity {activity.id} does not exist")
            rules.check_changed_activity(before, activity)
            rules.check_activities(
                [activity], records.parties_by_id(conn, rules.activity_references([activity]))
            )
            plans.rewrite(conn, activity)
            history.append(conn, [entry.activity_changed(before, activity, self._actor, kind)])
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
        def work(conn: sqlite3.Connection) -> MergePlan:
            region, actor = self.default_region, self._actor
            plan = merges.merge(
                conn, survivor_id, merged_ids, choices, at, region, actor, move_grants
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
            lambda conn: merges.unmerge(conn, party_id, at, self._actor, move_grants)
        )

    async def seed_preparer(self) -> seed_rows.Preparer:
        """What makes a synthetic seed's batches into rows, in the generator's process.
        The seed command's writer then keeps 2 GiB of pages (its process ends with the
        seed): 1,000,000 parties took 659 s with 256 MiB, 532 s with 2 GiB."""
        await self._db.hold_more_pages(SEED_CACHE_MIB)
        return await self._read(
            lambda conn: seed_rows.preparer(conn, self.default_region, self._actor)
        )

    async def load_rows(self, rows: bytes, progress: str) -> None:
        """Write a batch the seed's Preparer made, in one transaction."""
        await self._write(lambda conn: seed_rows.write(conn, rows, progress))

    async def load_batch(self, batch: Batch) -> Batch:
        def work(conn: sqlite3.Connection) -> tuple[Batch, Outcome]:
            stored = records.parties_by_id(conn, rules.batch_references(batch))
            categories = records.categories(conn, None)
            checked = rules.check_batch(
                batch, categories, stored, self.default_region, records.levels(conn)
            )
            keys.check_claims(conn, [c for p in checked.parties for c in rules.claims(p)])
            added = rules.acyclic_edges(batch.relationships)
            sources = {rel.from_id for rel in added} & stored.keys()
            checking = rules.may_close_cycle(added, walks.entered(conn, sources))
            if checking:
                since = min(rel.since for rel in checking)
                above = walks.acyclic_above(conn, [rel.to_id for rel in checking], since)
                rules.check_batch_acyclic(checking, above)
            records.insert_parties(conn, checked.parties)
            conn.executemany(
                records.INSERT_REL, [relationship_params(r) for r in batch.relationships]
            )
            closure.edges_changed(conn, batch.relationships)
            records.insert_activities(conn, batch.activities)
            runs = Outcome([], [])
            if batch.processes:
                filed = Filed(checked, stored, categories, self._actor)
                held = process_steps.steps(conn, stored, True)
                runs = filed.outcome(held, process_steps.found(conn, filed.wants()))
            history.append(
                conn,
                entry.batch(checked.parties, batch.relationships, batch.activities, self._actor)
                + process_steps.write(conn, runs, self._actor),
            )
            if batch.progress == "":
                conn.execute("DELETE FROM meta WHERE key = 'seed'")
            elif batch.progress is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('seed', ?)",
                    (batch.progress,),
                )
            return checked, runs

        checked, runs = await self._write(work)
        await self._committed(runs)
        return checked
