"""Dumps on Neo4j: whole-graph reads in keyset pages, and an import written in batches.

An import of millions of records does not fit one transaction's memory, so it writes a
transaction a batch, under an `import` note made first in the empty graph. When a batch
fails the import deletes everything the graph holds but its schema, categories and roles
(all of it came from the import) and the note last; an import killed before it could
leaves the note, and the next import clears what it finds under it first. The dump's
categories are written with the last batch, so the ones the graph had stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from functools import partial
from typing import Any

from ..codec import category_record
from ..history import SYSTEM, Change, mentioning
from ..identity import Grant
from ..interchange.format import DumpBatch
from ..levels import Level
from ..model import Activity, Category, Relationship, RelType
from ..opportunities import Opportunity
from ..process_runs import Outcome, RunStep, decode
from . import closure_build, cypher, history, identity, process_steps
from .cypher import ACTIVITY_MAP, REL_MAP, WITH_SUBJECTS, Tx, type_expression
from .opportunities import RETURN as OPPORTUNITY_RETURN
from .opportunities import deal_of as opportunity_of
from .opportunities import store as store_opportunity
from .vocabulary import Neo4jVocabulary, store_pipeline

# what an import writes, and a failed one deletes; a transaction's share of it at a time
WRITTEN = (
    "Party",
    "Activity",
    "Pipeline",
    "Opportunity",
    "ProcessStep",
    "Change",
    "Mention",
    "Grant",
    "ApiToken",
    "Reach",
)
CLEARED = 5_000
# by hint: the planner would read the instant's entries by the (at) index and sort them
ORDER = "USING INDEX c:Change(at, id)"


async def _write(tx: Tx, batch: DumpBatch) -> None:
    # opened, then the done ones closed: the writes a run makes (their entries are in the dump)
    done = [step for step in batch.steps if step.done_at is not None]
    steps, _ = process_steps.writes(Outcome(batch.steps, done), SYSTEM)
    await cypher.write(
        tx,
        cypher.new_parties(batch.parties, held=False),
        cypher.new_relationships(batch.relationships),
        cypher.new_activities(batch.activities),
        *steps,
        history.new_entries(batch.changes),
    )
    for pipeline in batch.pipelines:
        await store_pipeline(tx, pipeline)
    for deal in batch.opportunities:
        await store_opportunity(tx, deal)
    for grant in batch.grants:
        await identity.add_grant(tx, grant)
    for token in batch.tokens:
        await identity.add_token(tx, token)
        if token.revoked_at is not None:
            await identity.end_token(tx, token.id, token.revoked_at)


async def _categories(tx: Tx, categories: list[Category], levels: list[Level]) -> None:
    await tx.run(
        "UNWIND $rows AS row MERGE (l:Level {id: row.id}) SET l = row",
        rows=[asdict(level) for level in levels],
    )
    await tx.run(
        "UNWIND $rows AS row MERGE (c:Category {id: row.id}) SET c = row",
        rows=[category_record(c) for c in categories],
    )
    await tx.run("MATCH (m:Meta) WHERE m.key IN ['import', 'closure'] DELETE m")


class Neo4jDumps(Neo4jVocabulary):
    async def relationship_page(
        self, after: tuple[str, str] | None, first: int
    ) -> list[Relationship]:
        """By (from, id): the party id index gives the first, each party's edges the rest."""
        start, rel_id = after or ("", "")

        async def work(tx: Tx) -> list[Relationship]:
            result = await tx.run(
                f"MATCH (p:Party) WHERE p.id >= $start "
                f"MATCH (p)-[r:{type_expression(RelType)}]->(:Party) "
                "WHERE p.id > $start OR r.id > $rel_id "
                f"WITH p, r ORDER BY p.id, r.id LIMIT $n RETURN collect({REL_MAP})",
                start=start,
                rel_id=rel_id,
                n=first,
            )
            return [cypher.rel(row) for row in await cypher.collected(result)]

        return await self._read(work)

    async def activity_page(self, after: str | None, first: int) -> list[Activity]:
        async def work(tx: Tx) -> list[Activity]:
            result = await tx.run(
                "MATCH (a:Activity) WHERE a.id > $after WITH a ORDER BY a.id LIMIT $n "
                f"{WITH_SUBJECTS} RETURN collect([{ACTIVITY_MAP}, subjects])",
                after=after or "",
                n=first,
            )
            return [
                cypher.activity(row, subjects) for row, subjects in await cypher.collected(result)
            ]

        return await self._read(work)

    async def change_page(self, after: tuple[str, str] | None, first: int) -> list[Change]:
        """The rest of the instant of the last page, then what follows it: each a seek
        on the (at, id) index, where one range over both would read the whole instant."""
        at, change_id = after or ("", "")

        async def work(tx: Tx) -> list[Change]:
            result = await tx.run(
                f"CALL () {{ MATCH (c:Change) {ORDER} WHERE c.at = $at AND c.id > $id "
                "RETURN c ORDER BY c.at, c.id LIMIT $n UNION ALL "
                f"MATCH (c:Change) {ORDER} WHERE c.at > $at AND c.id IS NOT NULL "
                "RETURN c ORDER BY c.at, c.id LIMIT $n } "
                "WITH c ORDER BY c.at, c.id LIMIT $n "
                "CALL (c) { OPTIONAL MATCH (m:Mention)-[:OF]->(c) "
                "RETURN collect(m.subject_id) AS named } "
                f"RETURN collect([{history.MAP}, named])",
                at=at,
                id=change_id,
                n=first,
            )
            return [
                mentioning(history.change_of(row), named)
                for row, named in await cypher.collected(result)
            ]

        return await self._read(work)

    async def opportunity_page(self, after: str | None, first: int) -> list[Opportunity]:
        async def work(tx: Tx) -> list[Opportunity]:
            result = await tx.run(
                f"MATCH (o:Opportunity) WHERE o.id > $after {OPPORTUNITY_RETURN} "
                "ORDER BY o.id LIMIT $n",
                after=after or "",
                n=first,
            )
            return [opportunity_of(record) async for record in result]

        return await self._read(work)

    async def step_page(self, after: str | None, first: int) -> list[RunStep]:
        async def work(tx: Tx) -> list[RunStep]:
            result = await tx.run(
                "MATCH (s:ProcessStep) WHERE s.id > $after "
                "WITH s ORDER BY s.id LIMIT $n RETURN collect(s.body)",
                after=after or "",
                n=first,
            )
            return [decode(body) for body in await cypher.collected(result)]

        return await self._read(work)

    async def all_grants(self) -> list[Grant]:
        async def work(tx: Tx) -> list[Grant]:
            result = await tx.run("MATCH (g:Grant) RETURN collect(DISTINCT g.user_id)")
            held = await identity.grants(tx, await cypher.collected(result))
            return sorted((g for grants in held.values() for g in grants), key=lambda g: g.id)

        return await self._read(work)

    async def restore(self, batches: Iterable[DumpBatch]) -> None:
        async def note(tx: Tx) -> None:
            await tx.run("MERGE (m:Meta {key: 'import'}) SET m.at = timestamp()")

        await self._write(note)
        categories: list[Category] = []
        levels: list[Level] = []
        try:
            for batch in batches:
                categories += batch.categories
                levels += batch.levels
                await self._write(partial(_write, batch=batch))
            await self._write(lambda tx: _categories(tx, categories, levels))
            await self.index_fields(categories)
            await closure_build.build(self._read, self._write)  # its mark went with the note
        except BaseException:
            await self._clear()
            raise

    async def clear_unfinished_import(self) -> bool:
        async def noted(tx: Tx) -> bool:
            result = await tx.run("MATCH (m:Meta {key: 'import'}) RETURN count(m) > 0")
            return bool((await result.single(strict=True))[0])

        if not await self._read(noted):
            return False
        await self._clear()
        return True

    async def _clear(self) -> None:
        async def some(tx: Tx) -> Any:
            result = await tx.run(
                f"MATCH (n) WHERE {' OR '.join(f'n:{label}' for label in WRITTEN)} "
                "WITH n LIMIT $n DETACH DELETE n RETURN count(*)",
                n=CLEARED,
            )
            return (await result.single(strict=True))[0]

        while await self._write(some):
            pass
        await self._write(lambda tx: _categories(tx, [], []))
        await closure_build.build(self._read, self._write)
