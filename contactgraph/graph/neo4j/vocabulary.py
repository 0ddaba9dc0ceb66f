"""The vocabulary parties and deals are filed by on Neo4j: categories, levels and sales
pipelines. A write of any is one transaction that takes the vocabulary lock, reads them
all, checks and writes; then each category field parties are filtered by gets its
property index, which Neo4j makes outside a data transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime

import orjson

from .. import categories, levels, pipelines
from ..attribute_filters import ATTRIBUTE_PREFIX
from ..codec import category_record
from ..levels import DEFAULT_LEVELS, Level
from ..model import Category, Party, Relationship
from ..pipelines import Pipeline
from ..times import utcnow
from . import cypher, history, identity
from .accounts import Neo4jAccounts
from .cypher import Tx

LOCK = "MERGE (l:WriteLock {name: 'vocabulary'}) SET l._lock = true REMOVE l._lock"


async def read_levels(tx: Tx) -> dict[str, Level]:
    result = await tx.run(
        "MATCH (l:Level) RETURN l.id AS id, l.name AS name, l.rank AS rank, "
        "l.description AS description ORDER BY l.rank"
    )
    return {r["id"]: Level(r["id"], r["name"], r["rank"], r["description"]) async for r in result}


async def read_pipelines(tx: Tx, ids: Sequence[str] | None) -> dict[str, Pipeline]:
    result = await tx.run(
        "MATCH (p:Pipeline) WHERE $ids IS NULL OR p.id IN $ids "
        "RETURN p.id AS id, p.version AS version, p.definition AS definition ORDER BY p.name",
        ids=None if ids is None else list(ids),
    )
    return {
        r["id"]: pipelines.of_document(r["id"], r["version"], orjson.loads(r["definition"]))
        async for r in result
    }


async def store_pipeline(tx: Tx, pipeline: Pipeline) -> None:
    await tx.run(
        "MERGE (p:Pipeline {id: $id}) SET p.name = $name, p.version = $version, "
        "p.definition = $definition",
        id=pipeline.id,
        name=pipeline.name,
        version=pipeline.version,
        definition=orjson.dumps(pipelines.document(pipeline)).decode(),
    )


async def write_default_levels(tx: Tx) -> None:
    """At start: the built-in levels a graph lacks; unit types stored before levels were
    data are their ids already."""
    await tx.run(
        "UNWIND $rows AS row MERGE (l:Level {id: row.id}) ON CREATE SET l = row",
        rows=[asdict(level) for level in DEFAULT_LEVELS],
    )


async def check_level(tx: Tx, party: Party) -> None:
    if party.unit_type is not None:
        levels.check_level(party, await read_levels(tx))


async def check_part_of(tx: Tx, rel: Relationship, part: Party, whole: Party) -> None:
    """levels.check_part_of, with the levels and the categories read."""
    if part.unit_type is not None and whole.unit_type is not None:
        found = await cypher.categories(tx)
        levels.check_part_of(rel, part, whole, await read_levels(tx), found)


class Neo4jVocabulary(Neo4jAccounts):
    async def write_category(
        self, category_id: str, make: Callable[[Category | None], Category], at: datetime
    ) -> Category:
        async def work(tx: Tx) -> Category:
            await tx.run(LOCK)  # names are compared across all categories
            stored = await cypher.categories(tx)
            roles = [r.name for r in await identity.roles(tx)]
            written, change = categories.planned(stored, category_id, make, self._actor, at, roles)
            if change is None:
                return written
            await tx.run(
                "MERGE (c:Category {id: $row.id}) SET c = $row", row=category_record(written)
            )
            await history.append(tx, [change])
            return written

        written = await self._write(work)
        await self.index_fields([written])
        return written

    async def index_fields(self, written: Iterable[Category]) -> None:
        """A property index on each field's values, which attribute filters use."""
        for field in {f.name for category in written for f in category.fields}:
            prop = f"{ATTRIBUTE_PREFIX}{field}"
            await self.driver.execute_query(
                f"CREATE INDEX party_{prop} IF NOT EXISTS FOR (p:Party) ON (p.{prop})",
                database_=self._database,
            )

    async def levels(self) -> dict[str, Level]:
        return await self._read(read_levels)

    async def write_level(self, make: Callable[[Mapping[str, Level]], Level]) -> Level:
        async def work(tx: Tx) -> Level:
            await tx.run(LOCK)  # ranks are compared across all levels
            stored = await read_levels(tx)
            written = make(stored)
            entry = levels.change(stored.get(written.id), written, self._actor, utcnow())
            if entry is not None:
                await tx.run("MERGE (l:Level {id: $row.id}) SET l = $row", row=asdict(written))
                await history.append(tx, [entry])
            return written

        return await self._write(work)

    async def pipelines(self, ids: Sequence[str] | None) -> dict[str, Pipeline]:
        return await self._read(lambda tx: read_pipelines(tx, ids))

    async def write_pipeline(
        self, pipeline_id: str | None, make: Callable[[Pipeline | None], Pipeline], at: datetime
    ) -> Pipeline:
        async def work(tx: Tx) -> Pipeline:
            await tx.run(LOCK)  # names are compared across all pipelines
            stored = await read_pipelines(tx, None)
            written, change = pipelines.planned(stored, pipeline_id, make, self._actor, at)
            if change is None:
                return written
            left = await tx.run(
                "RETURN EXISTS { MATCH (o:Opportunity {pipeline_id: $id}) "
                "WHERE NOT o.stage_id IN $kept } AS left",
                id=written.id,
                kept=[s.id for s in written.stages],
            )
            pipelines.check_kept(written, (await left.single(strict=True))["left"])
            await store_pipeline(tx, written)
            await history.append(tx, [change])
            return written

        return await self._write(work)
