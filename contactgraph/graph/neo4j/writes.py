"""Writes on Neo4j: each one managed transaction that locks what its checks read first
(`cypher.preparing`), checks, and writes its records, history and closure rows together;
a party created with its links takes those locks in its write statement instead, and
reads again under them what it checked (load_batch)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

from .. import history as entry
from .. import rules
from ..errors import (
    BadUserInput,
    Conflict,
    GraphError,
    NotFound,
)
from ..events import ActivityRead
from ..filed_runs import Filed
from ..history import ChangeKind
from ..identity import Grant
from ..levels import checked_by_levels
from ..merging import DryRun, FieldChoice, MergePlan
from ..model import (
    Activity,
    Batch,
    Party,
    Relationship,
)
from ..process_context import Wants
from ..process_runs import Outcome, RunStep
from ..step_listeners import StepListeners
from ..times import utcnow
from ..unmerging import UnmergePlan
from . import (
    closure,
    cypher,
    history,
    identity,
    keys,
    merges,
    plans,
    process_steps,
    seed_rows,
    vocabulary,
    walks,
)
from .cypher import Tx
from .dumps import Neo4jDumps

log = logging.getLogger("contactgraph.neo4j")

# a batch naming at most this many stored parties locks them, so none is archived or merged
# while it writes (a party made with its links); a larger one (a seed) locks only those its
# hierarchy edges enter
LOCKED_REFERENCES = 100
# a batch that takes its parties' locks with its write (load_batch) tries this many times
# while what it read first keeps changing before it locks, then locks first
BRIEF_TRIES = 2


class _Stale(Exception):
    """What a write read before its locks changed before it took them: its transaction
    rolls back, nothing written."""


async def _edge(tx: Tx, rel_id: str) -> Relationship:
    found = await cypher.relationships_by_id(tx, [rel_id])
    if not found:
        raise NotFound(f"relationship {rel_id} does not exist")
    return found[0]


class Neo4jWrites(Neo4jDumps, StepListeners):
    # a batch is one transaction, held in Neo4j's heap until commit; 1,000 parties with
    # their activities and history entries fit the transaction memory of a 512 MiB heap
    seed_batch_size = 1_000
    default_region: str | None = None

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

        created = await self._write(work)
        self._flusher.wake()
        return created

    async def create_party(self, party: Party) -> Party:
        async def work(tx: Tx) -> tuple[Party, Outcome]:
            categories = await cypher.categories(tx)  # once, for the checks and the runs
            checked = await keys.check_party(tx, party, self.default_region, None, categories)
            runs = await process_steps.for_party(tx, checked, None, self._actor, categories)
            steps, written = process_steps.writes(runs, self._actor)
            await cypher.write(
                tx,
                cypher.new_parties([checked]),
                *steps,
                history.new_entries([entry.created(checked, self._actor), *written]),
            )
            return checked, runs

        created, runs = await self._write(work)
        self._flusher.wake()
        await self._committed(runs)
        return created

    async def update_party(
        self,
        party_id: str,
        changes: Mapping[str, object],
        expected_version: int | None,
        at: datetime,
    ) -> Party:
        async def work(tx: Tx) -> tuple[Party, Outcome]:
            if "fiscal" in changes:  # the fiscal lock first, as every write takes it
                await keys.lock(tx)
            # locked; read with the categories and its open steps, which a change may close
            read = await cypher.preparing([party_id], [party_id], steps_of=[party_id]).run(tx)
            current = rules.found(read.parties, [party_id])[0]
            categories, held = read.categories, process_steps.open_of(read, [party_id])
            if expected_version is not None and expected_version != current.version:
                raise Conflict(
                    f"party {party_id} is at version {current.version}, not {expected_version}"
                )
            updated = rules.apply_changes(current, changes, at)
            if updated is current:  # no new version, but it may set what a step asks for
                runs = await process_steps.for_party(
                    tx, current, current, self._actor, categories, held
                )
                done, written = process_steps.writes(runs, self._actor)
                await cypher.write(tx, *done, history.new_entries(written))
                return current, runs
            updated = await keys.check_party(tx, updated, self.default_region, current, categories)
            runs = await process_steps.for_party(
                tx, updated, current, self._actor, categories, held
            )
            steps, written = process_steps.writes(runs, self._actor)
            await cypher.write(
                tx,
                cypher.rewritten_parties([updated]),
                *steps,
                history.new_entries([entry.changed(current, updated, self._actor), *written]),
            )
            return updated, runs

        updated, runs = await self._write(work)
        await self._committed(runs)
        return updated

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

    async def link(self, rel: Relationship, seen: dict[str, Party] | None = None) -> Relationship:
        async def work(tx: Tx) -> tuple[Outcome, dict[str, Party]]:
            ends = [rel.from_id, rel.to_id]
            acyclic = rules.acyclic_edges([rel])
            # the closure's locks first: they go bottom up, and the ends are among them; the
            # ends' reads after them, in the statement that takes the last
            reads = cypher.preparing(
                ends, ends, [rel.from_id] if acyclic else [], between=rel, steps_of=ends
            )
            reaches, read = await closure.with_edge(tx, rel, reads)
            source, target = rules.found(read.parties, ends)
            rules.check_link(rel, source, target)
            await vocabulary.check_part_of(tx, rel, source, target)
            rules.check_duplicate(rel, read.between)
            if rules.may_close_cycle(acyclic, read.entered):
                await cypher.lock_hierarchy(tx)
                if await walks.reaches(tx, rel.to_id, rel.from_id, rel.since):
                    raise rules.cycle(rel)
            ended = {source.id: source, target.id: target}
            pending = process_steps.on_new_edge(rel, ended, read, self._actor)
            edge = [cypher.new_relationships([rel]), *reaches]
            wants = pending.wants()
            if wants != Wants():  # a step it opens may go to the user the edge makes responsible
                await cypher.write(tx, *edge)
                edge = []
            runs = pending.outcome(await process_steps.found(tx, wants))
            steps, written = process_steps.writes(runs, self._actor)
            await cypher.write(
                tx, *edge, *steps, history.new_entries([entry.linked(rel, self._actor), *written])
            )
            return runs, ended

        runs, ends = await self._write(work)
        if seen is not None:
            seen.update(ends)
        await self._committed(runs)
        return rel

    async def unlink(self, rel_id: str, until: datetime) -> Relationship:
        async def work(tx: Tx) -> Relationship:
            rel = await _edge(tx, rel_id)
            for _ in range(3):
                # the closure's locks before the edge's, which would take its ends out of
                # order; then its ends', which a merge holds from its read of their edges
                # to its rewrite of them (a KNOWS edge takes no closure locks); the edge is
                # read again after them, in the statement that takes the last
                reads = cypher.preparing([], [rel.from_id, rel.to_id], between=rel)
                reaches, read = await closure.with_edge(tx, replace(rel, until=until), reads)
                now = next((found for found in read.between if found.id == rel_id), None)
                if now is not None:
                    rel = now
                    break
                # a merge moved it since the first read (same id, another end): it is
                # ended where it is now
                rel = await _edge(tx, rel_id)
            else:
                raise Conflict(f"relationship {rel_id} keeps moving under merges: try again")
            if rel.until is not None:
                raise Conflict(f"relationship {rel_id} already ended at {rel.until.isoformat()}")
            if until <= rel.since:
                raise BadUserInput("until must be later than the relationship's since")
            ended = replace(rel, until=until)
            await cypher.write(
                tx,
                cypher.ended_relationship(rel, until),
                *reaches,
                history.new_entries([entry.unlinked(ended, self._actor)]),
            )
            return ended

        return await self._write(work)

    async def record_activity(
        self, activity: Activity, seen: ActivityRead | None = None
    ) -> Activity:
        # what its live event reaches, read with its checks where the closure goes as deep
        depth = None if seen is None else seen.closure_depth()
        above = None if depth is None else cypher.Above(activity.subject_ids, depth, utcnow())

        async def work(tx: Tx) -> tuple[Outcome, cypher.Prepared]:
            references = list(rules.activity_references([activity]))
            # locked: none is archived or merged meanwhile, and writes about one subject judge
            # its open steps (read with them) one after the other
            reads = cypher.preparing(
                references, references, steps_of=activity.subject_ids, above=above
            )
            read = await reads.run(tx)
            rules.check_activities([activity], read.parties)
            runs = await process_steps.for_activity(tx, activity, read, self._actor)
            steps, written = process_steps.writes(runs, self._actor)
            await cypher.write(
                tx,
                cypher.new_activities([activity]),
                *steps,
                history.new_entries([entry.recorded(activity, self._actor), *written]),
            )
            return runs, read

        runs, read = await self._write(work)
        if seen is not None:
            seen.update(read.parties)
            if above is not None:
                seen.above = read.above
        await self._committed(runs)
        return activity

    async def claim_overdue(self, now: datetime, first: int) -> list[RunStep]:
        async def work(tx: Tx) -> list[RunStep]:
            return await process_steps.claim_overdue(tx, now, first)

        return await self._write(work)

    async def next_due(self) -> datetime | None:
        return await self._read(process_steps.next_due)

    async def sweep_processes(self) -> int:
        async def work(tx: Tx) -> Outcome:
            outcome = await process_steps.sweep(tx)
            steps, written = process_steps.writes(outcome, self._actor)
            await cypher.write(tx, *steps, history.new_entries(written))
            return outcome

        outcome = await self._write(work)
        await self._committed(outcome)
        return len(outcome.opened)

    async def change_activity(self, activity: Activity, kind: ChangeKind) -> Activity:
        async def work(tx: Tx) -> Activity:
            # locked: no other change of it meanwhile
            await tx.run(
                "MATCH (a:Activity {id: $id}) SET a._lock = true REMOVE a._lock", id=activity.id
            )
            before = (await cypher.activities(tx, [activity.id])).get(activity.id)
            if before is None:
                raise NotFound(f"activity {activity.id} does not exist")
            rules.check_changed_activity(before, activity)
            references = list(rules.activity_references([activity]))
            read = await cypher.preparing(references, references).run(tx)
            rules.check_activities([activity], read.parties)
            await plans.rewrite(tx, activity)
            await history.append(tx, [entry.activity_changed(before, activity, self._actor, kind)])
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

    async def seed_preparer(self) -> seed_rows.Preparer:
        """What makes a synthetic seed's batches into statement rows, in the generator's
        process."""
        return await self._read(lambda tx: seed_rows.preparer(tx, self.default_region, self._actor))

    async def load_rows(self, rows: bytes, progress: str) -> None:
        """Write a batch the seed's Preparer made, in one transaction."""
        await self._write(lambda tx: seed_rows.write(tx, rows, progress))

    async def load_batch(self, batch: Batch) -> Batch:
        added = rules.acyclic_edges(batch.relationships)
        reach = closure.Plan.of(batch.relationships, [p.id for p in batch.parties])
        doors = reach.doors or []
        references = rules.batch_references(batch)
        # a new party's: as single writes do (they lock the parties whose steps they judge)
        locked = batch.processes or len(references) <= LOCKED_REFERENCES
        fiscal = locked and any(p.fiscal for p in batch.parties)
        # unlocked (a seed), no shortcut: what enters a source may be written meanwhile;
        # but the stored parties its hierarchy edges enter are locked, as every write
        # that adds such an edge locks them (a link may skip its search on that)
        sources = {rel.from_id for rel in added} & references if locked else set()
        locking = references if locked else {rel.to_id for rel in added} & references
        locking = locking | set(doors)  # their closure rows are read too
        # and the open steps its edges and activities may close or be refused by
        steps_of = references if batch.processes else set()
        reads = cypher.preparing(references, locking, sources, doors=doors, steps_of=steps_of)
        # a shape whose write needs no lock but its parties' (no fiscal lock, no cycle
        # search, no survey below them, no seed's note, no external ids to claim) may
        # take them with the write
        brief = locked and not fiscal and not sources and reach.doors is not None
        brief = brief and batch.progress is None
        brief = brief and not any(p.external_ids for p in batch.parties)

        async def checked_by(tx: Tx, read: cypher.Prepared) -> Batch:
            # a round trip fewer when nothing is checked against them
            levels = await vocabulary.read_levels(tx) if checked_by_levels(batch) else {}
            return rules.check_batch(
                batch, read.categories, read.parties, self.default_region, levels
            )

        async def written(tx: Tx, read: cypher.Prepared) -> tuple[Batch, Outcome] | None:
            """The write with its locks: what it locks is read before it, unlocked, and
            again after them (the categories, which they do not hold, once); a change
            between the two rolls it back (_Stale). None, and nothing written, when the
            write needs more than its parties' locks or refuses: it is then judged on
            what it reads under them."""
            try:
                checked = await checked_by(tx, read)
                runs = Outcome([], [])
                if batch.processes:
                    filed = Filed(checked, read.parties, read.categories, self._actor)
                    if filed.wants() != Wants():
                        return None
                    held = process_steps.grouped(read.open_steps)
                    runs = filed.outcome(held, await process_steps.found(tx, Wants()))
            except GraphError:
                return None
            # codes to claim need the keys' check; an edge that may close a cycle (among the
            # batch's own too: each edge of such a cycle leaves another's target) the
            # hierarchy's lock and search
            claims = [c for p in checked.parties for c in rules.claims(p)]
            if claims or rules.may_close_cycle(added, read.entered):
                return None
            steps, noted = process_steps.writes(runs, self._actor)
            again = await reads.run_before(
                tx,
                *self._batch_writes(checked, batch, reach, read),
                *steps,
                history.new_entries(noted),
            )
            if again is None:
                return None
            if again != replace(read, categories={}):
                raise _Stale
            return checked, runs

        async def work(tx: Tx, briefly: bool) -> tuple[Batch, Outcome]:
            if briefly:
                done = await written(tx, await reads.run(tx, locking=False))
                if done is not None:
                    return done
            if fiscal:  # the fiscal lock first
                await keys.lock(tx)
            read = await reads.run(tx)
            checked = await checked_by(tx, read)
            await keys.check_claims(tx, [c for p in checked.parties for c in rules.claims(p)])
            if locked:
                checking = rules.may_close_cycle(added, read.entered)
            else:
                checking = rules.may_meet_stored(added, {p.id for p in batch.parties})
            if checking:
                await cypher.lock_hierarchy(tx)
                since = min(rel.since for rel in checking)
                above = await walks.acyclic_above(tx, [rel.to_id for rel in checking], since)
                rules.check_batch_acyclic(checking, above)
            else:  # a cycle among the batch's own edges only
                rules.check_batch_acyclic(added, ())
            await cypher.write(tx, *self._batch_writes(checked, batch, reach, read))
            if reach.doors is None:  # its edges reach below stored parties: after them
                created = [p.id for p in checked.parties]
                changed = await closure.edges_changed(tx, batch.relationships, [*locking, *created])
                await cypher.write(tx, *changed)
            runs = Outcome([], [])
            if batch.processes:  # after the edges: a step may go to a user they make responsible
                filed = Filed(checked, read.parties, read.categories, self._actor)
                held = process_steps.grouped(read.open_steps)
                runs = filed.outcome(held, await process_steps.found(tx, filed.wants()))
                steps, noted = process_steps.writes(runs, self._actor)
                await cypher.write(tx, *steps, history.new_entries(noted))
            if batch.progress is not None:
                await seed_rows.note(tx, batch.progress)
            return checked, runs

        for _ in range(BRIEF_TRIES if brief else 0):
            try:
                checked, runs = await self._write(partial(work, briefly=True))
                break
            except _Stale:
                log.debug("a batch's parties changed before it locked them: written again")
        else:
            checked, runs = await self._write(partial(work, briefly=False))
        self._flusher.wake()
        await self._committed(runs)
        return checked

    def _batch_writes(
        self, checked: Batch, batch: Batch, reach: closure.Plan, read: cypher.Prepared
    ) -> list[cypher.Write]:
        """A batch's records, the closure rows its new parties hold and its history."""
        return [
            cypher.new_parties(checked.parties),
            cypher.new_relationships(batch.relationships),
            *reach.writes(closure.held_rows(read.held, reach.doors or [])),
            cypher.new_activities(batch.activities),
            history.new_entries(
                entry.batch(checked.parties, batch.relationships, batch.activities, self._actor)
            ),
        ]
