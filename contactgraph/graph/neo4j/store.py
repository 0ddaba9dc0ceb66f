"""The Neo4j backend: the official async driver, managed transactions, parameterised Cypher.

Parties are :Party nodes with a second label for their kind; relationships are
Neo4j relationships of the domain type; activities are :Activity nodes linked
to their subjects by :ABOUT. Labels and relationship types only ever come from
the domain enums. Each public method is one managed transaction: one round
trip in the port's sense, whatever it runs inside; batched reads use UNWIND.
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import neo4j
from neo4j import AsyncGraphDatabase
from neo4j import exceptions as neo4j_errors

from .. import rules
from ..codec import category_from_record, category_record
from ..cursors import cursor_depth, decode_cursor
from ..errors import BadUserInput, ConfigError, Conflict, NotFound, ServiceUnavailable
from ..model import (
    ACYCLIC_TYPES,
    DEFAULT_CATEGORIES,
    REL_RULES,
    Activity,
    Batch,
    Category,
    Direction,
    Network,
    Page,
    ParentEnd,
    Party,
    PartyFilter,
    PartyKind,
    PartyPage,
    Path,
    Relationship,
    RelType,
    Rollup,
    TimelineEntry,
    TimelinePage,
    TimelineQuery,
    TreePage,
    TreeRow,
    display_order,
)
from ..search import query_terms
from ..store import Node
from . import cypher
from .cypher import (
    ACTIVITY_MAP,
    CHILD_MAP,
    PARTY_MAP,
    REL_MAP,
    VALID_AT,
    WALKED_MAP,
    WITH_SUBJECTS,
    Tx,
    decode,
    encode,
    type_expression,
)

T = TypeVar("T")

SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT party_id IF NOT EXISTS FOR (p:Party) REQUIRE p.id IS UNIQUE",
    "CREATE CONSTRAINT user_username IF NOT EXISTS FOR (u:User) REQUIRE u.username IS UNIQUE",
    "CREATE CONSTRAINT activity_id IF NOT EXISTS FOR (a:Activity) REQUIRE a.id IS UNIQUE",
    "CREATE CONSTRAINT category_id IF NOT EXISTS FOR (c:Category) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT write_lock IF NOT EXISTS FOR (l:WriteLock) REQUIRE l.name IS UNIQUE",
    *(
        f"CREATE CONSTRAINT rel_{t.value.lower()}_id IF NOT EXISTS "
        f"FOR ()-[r:{t.value}]-() REQUIRE r.id IS UNIQUE"
        for t in RelType
    ),
    "CREATE INDEX activity_time IF NOT EXISTS FOR (a:Activity) ON (a.occurred_at)",
    "CREATE INDEX about_time IF NOT EXISTS FOR ()-[s:ABOUT]-() ON (s.occurred_at)",
    "CREATE INDEX party_kind IF NOT EXISTS FOR (p:Party) ON (p.kind)",
    "CREATE INDEX party_category IF NOT EXISTS FOR (p:Party) ON (p.category_id)",
    "CREATE FULLTEXT INDEX party_search IF NOT EXISTS FOR (p:Party) ON EACH [p.search] "
    "OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace', "
    "`fulltext.eventually_consistent`: false}}",
)

# one step of an undirected walk over the types in $types, valid at $at
ANY_STEP = f"type(r) IN $types AND {VALID_AT}"
# a timeline's filters and cursor on activity a
_ACTIVITY_FILTER = (
    "($types = [] OR a.type IN $types) "
    "AND ($since IS NULL OR a.occurred_at >= datetime($since)) "
    "AND ($until IS NULL OR a.occurred_at < datetime($until)) "
    "AND ($after_time IS NULL OR a.occurred_at < datetime($after_time) "
    "OR (a.occurred_at = datetime($after_time) AND a.id < $after_id))"
)
_UNAVAILABLE = (
    neo4j_errors.ServiceUnavailable,
    neo4j_errors.SessionExpired,
    neo4j_errors.AuthError,
    OSError,
)


def _credentials() -> tuple[str, str]:
    env = os.environ
    user = env.get("CONTACTGRAPH_NEO4J_USER") or env.get("NEO4J_USER") or "neo4j"
    password = env.get("CONTACTGRAPH_NEO4J_PASSWORD") or env.get("NEO4J_PASSWORD")
    if not password:
        raise ConfigError("set CONTACTGRAPH_NEO4J_PASSWORD (or NEO4J_PASSWORD) for Neo4j")
    return user, password


class Neo4jStore:
    # a batch is one transaction, held in Neo4j's heap until commit; 2,000 parties with
    # their activities fit the transaction memory of a 512 MiB heap
    seed_batch_size = 2_000

    def __init__(self, uri: str, auth: tuple[str, str], database: str | None = None) -> None:
        self._uri = uri
        self._auth = auth
        self._database = database
        self._driver: neo4j.AsyncDriver | None = None

    @classmethod
    def from_url(cls, url: str) -> Neo4jStore:
        """bolt://host:port or neo4j://host:port, optionally /database."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise ConfigError(f"{url!r}: write bolt://host:7687 or neo4j://host:7687")
        database = parts.path.strip("/") or None
        return cls(f"{parts.scheme}://{parts.netloc}", _credentials(), database)

    # -- transactions --------------------------------------------------------

    @property
    def driver(self) -> neo4j.AsyncDriver:
        if self._driver is None:
            raise ServiceUnavailable("the Neo4j store is not started")
        return self._driver

    async def _run(self, write: bool, work: Callable[[Tx], Awaitable[T]]) -> T:
        try:
            async with self.driver.session(database=self._database) as session:
                run = session.execute_write if write else session.execute_read
                return await run(work)
        except neo4j_errors.ConstraintError as error:
            raise Conflict(f"the write conflicts with stored data: {error.message}") from None
        except _UNAVAILABLE as error:
            raise ServiceUnavailable(f"Neo4j cannot answer: {error}") from None

    async def _read(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._run(False, work)

    async def _write(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._run(True, work)

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        self._driver = AsyncGraphDatabase.driver(
            self._uri,
            auth=self._auth,
            connection_timeout=3.0,
            connection_acquisition_timeout=5.0,
            max_transaction_retry_time=3.0,
            # the server's hints (e.g. "property key does not exist" on a young graph) are
            # for people writing Cypher, not for this server's log
            notifications_min_severity="OFF",
        )
        try:
            await self._driver.verify_connectivity()
            await self.migrate()
        except (*_UNAVAILABLE, ServiceUnavailable) as error:
            await self._driver.close()
            self._driver = None
            raise ConfigError(f"cannot use Neo4j at {self._uri}: {error}") from None

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

        await self._write(categories)

    async def close(self) -> None:
        if self._driver is not None:
            await self._driver.close()
            self._driver = None

    async def ping(self, seconds: float) -> None:
        async def work(tx: Tx) -> None:
            await (await tx.run("RETURN 1")).consume()

        try:
            await asyncio.wait_for(self._read(work), seconds)
        except TimeoutError:
            raise ServiceUnavailable(f"Neo4j did not answer in {seconds} s") from None

    # -- reads ---------------------------------------------------------------

    async def get_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        async def work(tx: Tx) -> dict[str, Node]:
            nodes: dict[str, Node] = {}
            nodes.update(await cypher.parties(tx, ids))
            nodes.update(await cypher.activities(tx, ids))
            nodes.update((r.id, r) for r in await cypher.relationships_by_id(tx, ids))
            return nodes

        return await self._read(work)

    async def get_parties(self, ids: Sequence[str]) -> dict[str, Party]:
        return await self._read(lambda tx: cypher.parties(tx, ids))

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
        if where.search is None:
            source = "MATCH (p:Party)"
        else:
            source = "CALL db.index.fulltext.queryNodes('party_search', $search) YIELD node AS p"
            params["search"] = " AND ".join(f"{term}*" for term in query_terms(where.search))
        matching = f"{source} WHERE {' AND '.join(conditions) or 'true'}"

        async def work(tx: Tx) -> PartyPage:
            total = None
            if count:
                total = (await (await tx.run(f"{matching} RETURN count(p) AS n", params)).single())[
                    "n"
                ]
            result = await tx.run(
                f"{matching} AND p.id > $after "
                f"WITH p ORDER BY p.id LIMIT $limit RETURN {PARTY_MAP} AS p",
                params,
            )
            rows = [cypher.party(record["p"]) async for record in result]
            return PartyPage(rows[: page.first], has_next=len(rows) > page.first, total_count=total)

        return await self._read(work)

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
            Direction.OUTGOING: "(p)-[r]->()",
            Direction.INCOMING: "(p)<-[r]-()",
            Direction.BOTH: "(p)-[r]-()",
        }[direction]

        async def work(tx: Tx) -> dict[str, list[Relationship]]:
            result = await tx.run(
                f"UNWIND $ids AS id MATCH (p:Party {{id: id}}) MATCH {pattern} "
                f"WHERE type(r) IN $types AND ($at IS NULL OR {VALID_AT}) "
                f"RETURN id, {REL_MAP} AS r ORDER BY r.since, r.id",
                ids=list(dict.fromkeys(party_ids)),
                types=[t.value for t in types],
                at=encode(as_of) if as_of else None,
            )
            found: dict[str, list[Relationship]] = defaultdict(list)
            async for record in result:
                found[record["id"]].append(cypher.rel(record["r"]))
            return found

        return await self._read(work)

    async def children(
        self, parent_ids: Sequence[str], types: Sequence[RelType], as_of: datetime
    ) -> dict[str, list[tuple[Party, Relationship]]]:
        forward, backward = rules.walk_directions(types, downward=True)
        from_parent = [t.value for t in forward]
        to_parent = [t.value for t in backward]

        async def work(tx: Tx) -> dict[str, list[tuple[Party, Relationship]]]:
            result = await tx.run(
                "UNWIND $ids AS id MATCH (p:Party {id: id})-[r]-(child:Party) "
                f"WHERE {VALID_AT} AND ("
                "(type(r) IN $from_parent AND startNode(r) = p) OR "
                "(type(r) IN $to_parent AND endNode(r) = p)) "
                f"RETURN id, {REL_MAP} AS r, {CHILD_MAP} AS child",
                ids=list(dict.fromkeys(parent_ids)),
                from_parent=from_parent,
                to_parent=to_parent,
                at=encode(as_of),
            )
            found: dict[str, list[tuple[Party, Relationship]]] = defaultdict(list)
            async for record in result:
                found[record["id"]].append((cypher.party(record["child"]), cypher.rel(record["r"])))
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
    ) -> TreePage:
        walk, params = _walk([root_id], types, max_depth, as_of, downward=True)
        after = decode_cursor(page.after, 2) if page.after else None
        params["after_depth"] = cursor_depth(after[0], max_depth) if after else -1
        params["after_id"] = after[1] if after else ""
        params["limit"] = page.first + 1

        async def work(tx: Tx) -> TreePage:
            total = None
            if count:
                counted = await (await tx.run(f"{walk} RETURN count(*) AS n", params)).single()
                total = counted["n"] if counted else 0
            result = await tx.run(
                f"{walk} WITH n, depth, parent, r "
                "WHERE depth > $after_depth OR (depth = $after_depth AND n.id > $after_id) "
                "WITH n, depth, parent, r ORDER BY depth, n.id LIMIT $limit "
                f"RETURN {WALKED_MAP} AS n, depth, parent, {REL_MAP} AS r",
                params,
            )
            rows = [_tree_row(record) async for record in result]
            return TreePage(rows[: page.first], has_next=len(rows) > page.first, total_count=total)

        return await self._read(work)

    async def ancestors(
        self, party_ids: Sequence[str], types: Sequence[RelType], max_depth: int, as_of: datetime
    ) -> dict[str, list[TreeRow]]:
        walk, params = _walk(party_ids, types, max_depth, as_of, downward=False)

        async def work(tx: Tx) -> dict[str, list[TreeRow]]:
            result = await tx.run(
                f"{walk} WITH start, n, depth, parent, r ORDER BY depth, n.id "
                f"RETURN start, {WALKED_MAP} AS n, depth, parent, {REL_MAP} AS r",
                params,
            )
            found: dict[str, list[TreeRow]] = defaultdict(list)
            async for record in result:
                found[record["start"]].append(_tree_row(record))
            return found

        return await self._read(work)

    async def neighborhood(
        self,
        root_id: str,
        types: Sequence[RelType],
        depth: int,
        limit: int,
        as_of: datetime,
    ) -> Network:
        params = {"root": root_id, "types": [t.value for t in types], "at": encode(as_of)}

        async def work(tx: Tx) -> Network:
            result = await tx.run(
                "MATCH (root:Party {id: $root}) "
                f"MATCH p = ANY SHORTEST (root) ((x)-[r]-(y) WHERE {ANY_STEP}){{1,{int(depth)}}} "
                "(n:Party) WHERE n <> root "
                "WITH n, length(p) AS distance ORDER BY distance, n.id LIMIT $limit "
                "RETURN n.id AS id",
                params,
                limit=limit,  # the root takes one place: `limit` others mean a cut was made
            )
            reached = [record["id"] async for record in result]
            kept = [root_id, *reached][:limit]
            parties = await cypher.parties(tx, kept)
            result = await tx.run(
                "MATCH (a:Party)-[r]->(b:Party) WHERE a.id IN $kept AND b.id IN $kept "
                f"AND type(r) IN $types AND {VALID_AT} "
                f"RETURN {REL_MAP} AS r ORDER BY r.since, r.id",
                params,
                kept=kept,
            )
            rels = [cypher.rel(record["r"]) async for record in result]
            return Network(
                [parties[i] for i in kept if i in parties], rels, truncated=len(reached) >= limit
            )

        return await self._read(work)

    async def shortest_path(
        self,
        from_id: str,
        to_id: str,
        types: Sequence[RelType],
        max_depth: int,
        as_of: datetime,
    ) -> Path | None:
        async def work(tx: Tx) -> Path | None:
            ends = await cypher.parties(tx, [from_id, to_id])
            rules.found(ends, [from_id, to_id])
            if from_id == to_id:
                return Path([ends[from_id]], [])
            result = await tx.run(
                "MATCH (a:Party {id: $from_id}), (b:Party {id: $to_id}) "
                f"MATCH p = ANY SHORTEST (a) ((x)-[r]-(y) WHERE {ANY_STEP})"
                f"{{1,{int(max_depth)}}} (b) RETURN [n IN nodes(p) | n.id] AS nodes, "
                f"[r IN relationships(p) | {REL_MAP}] AS rels",
                from_id=from_id,
                to_id=to_id,
                types=[t.value for t in types],
                at=encode(as_of),
            )
            record = await result.single()
            if record is None:
                return None
            parties = await cypher.parties(tx, record["nodes"])
            return Path(
                [parties[i] for i in record["nodes"]], [cypher.rel(r) for r in record["rels"]]
            )

        return await self._read(work)

    async def timelines(
        self, party_ids: Sequence[str], query: TimelineQuery
    ) -> dict[str, TimelinePage]:
        after = decode_cursor(query.page.after, 2) if query.page.after else None
        params = {
            "ids": list(dict.fromkeys(party_ids)),
            "types": [t.value for t in query.types],
            "since": encode(query.since) if query.since else None,
            "until": encode(query.until) if query.until else None,
            "after_time": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": query.page.first + 1,
        }
        rollup = query.rollup
        if rollup is None:
            window = (
                "MATCH (root:Party {id: id})<-[:ABOUT]-(a:Activity) "
                f"WHERE {_ACTIVITY_FILTER} WITH root, a "
                "ORDER BY a.occurred_at DESC, a.id DESC LIMIT $limit "
                "RETURN a, root.id AS source"
            )
        else:
            walks = _RollupWalks(rollup)
            params |= walks.params
            window = walks.merge_window()

        async def fetch(
            tx: Tx, window: str, ids: list[str], extra: dict[str, Any]
        ) -> list[tuple[str, TimelineEntry]]:
            result = await tx.run(
                f"UNWIND $ids AS id CALL (id) {{ {window} }} "
                f"{WITH_SUBJECTS} RETURN id, {ACTIVITY_MAP} AS a, subjects, source",
                params | extra | {"ids": ids},
            )
            return [
                (
                    record["id"],
                    TimelineEntry(
                        cypher.activity(record["a"], record["subjects"]),
                        record["source"],
                    ),
                )
                async for record in result
            ]

        async def work(tx: Tx) -> dict[str, TimelinePage]:
            scanned: dict[str, list[str]] = {}
            if rollup is not None:
                for root in await walks.large_roots(tx, params):
                    scanned[root] = await walks.scan(tx, root, query, params)
            merged = [pid for pid in params["ids"] if pid not in scanned]
            found = await fetch(tx, window, merged, {}) if merged else []
            if scanned:
                found += await fetch(tx, walks.picked_window(), list(scanned), {"picked": scanned})
            windows: dict[str, list[TimelineEntry]] = {pid: [] for pid in params["ids"]}
            for pid, entry in found:
                windows[pid].append(entry)
            first = query.page.first
            return {
                pid: TimelinePage(entries[:first], has_next=len(entries) > first)
                for pid, entries in windows.items()
            }

        return await self._read(work)

    async def is_empty(self) -> bool:
        async def work(tx: Tx) -> bool:
            record = await (await tx.run("MATCH (p:Party) RETURN count(p) = 0 AS empty")).single()
            return bool(record and record["empty"])

        return await self._read(work)

    # -- writes --------------------------------------------------------------

    async def create_party(self, party: Party) -> Party:
        async def work(tx: Tx) -> Party:
            await _check_party(tx, party)
            await cypher.create_parties(tx, [party])
            return party

        return await self._write(work)

    async def update_party(
        self,
        party_id: str,
        changes: Mapping[str, object],
        expected_version: int | None,
        at: datetime,
    ) -> Party:
        async def work(tx: Tx) -> Party:
            await cypher.lock(tx, [party_id])
            current = rules.found(await cypher.parties(tx, [party_id]), [party_id])[0]
            if expected_version is not None and expected_version != current.version:
                raise Conflict(
                    f"party {party_id} is at version {current.version}, not {expected_version}"
                )
            updated = rules.apply_changes(current, changes, at)
            await _check_party(tx, updated)
            await cypher.rewrite_party(tx, updated)
            return updated

        return await self._write(work)

    async def archive_party(self, party_id: str, at: datetime) -> Party:
        async def work(tx: Tx) -> Party:
            await cypher.lock(tx, [party_id])
            current = rules.found(await cypher.parties(tx, [party_id]), [party_id])[0]
            if current.archived_at is not None:
                return current
            archived = rules.archived(current, at)
            await cypher.rewrite_party(tx, archived)
            return archived

        return await self._write(work)

    async def link(self, rel: Relationship) -> Relationship:
        async def work(tx: Tx) -> Relationship:
            ends = [rel.from_id, rel.to_id]
            await cypher.lock(tx, ends)
            source, target = rules.found(await cypher.parties(tx, ends), ends)
            rules.check_link(rel, source, target)
            result = await tx.run(
                f"MATCH (:Party {{id: $from_id}})-[r]->(:Party {{id: $to_id}}) "
                f"WHERE type(r) = $type RETURN {REL_MAP} AS r",
                from_id=rel.from_id,
                to_id=rel.to_id,
                type=rel.type.value,
            )
            rules.check_duplicate(rel, [cypher.rel(record["r"]) async for record in result])
            if rel.type in ACYCLIC_TYPES:
                await cypher.lock_hierarchy(tx)
                if await _reaches(tx, rel.to_id, rel.from_id, rel.since):
                    raise rules.cycle(rel)
            await cypher.create_relationships(tx, [rel])
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
            result = await tx.run(
                f"MATCH ()-[r:{rel.type.value} {{id: $id}}]->() WHERE r.until IS NULL "
                "SET r.until = datetime($until) RETURN count(r) AS n",
                id=rel_id,
                until=encode(until),
            )
            if (await result.single())["n"] != 1:  # another request ended it meanwhile
                raise Conflict(f"relationship {rel_id} already ended")
            return replace(rel, until=until)

        return await self._write(work)

    async def record_activity(self, activity: Activity) -> Activity:
        async def work(tx: Tx) -> Activity:
            parties = await cypher.parties(tx, rules.activity_references([activity]))
            rules.check_activities([activity], parties)
            await cypher.create_activities(tx, [activity])
            return activity

        return await self._write(work)

    async def load_batch(self, batch: Batch) -> None:
        async def work(tx: Tx) -> None:
            stored = await cypher.parties(tx, rules.batch_references(batch))
            rules.check_batch(batch, await cypher.categories(tx), stored)
            await cypher.create_parties(tx, batch.parties)
            await cypher.create_relationships(tx, batch.relationships)
            await cypher.create_activities(tx, batch.activities)

        await self._write(work)


# -- statements shared by the methods above, each run inside their transaction --


async def _reaches(tx: Tx, start: str, goal: str, since: datetime) -> bool:
    """Whether start leads to goal from → to over the acyclic types, counting every edge
    still valid at or after `since` (an edge that ended before it cannot close a cycle)."""
    result = await tx.run(
        "MATCH (s:Party {id: $start}), (g:Party {id: $goal}) "
        "RETURN EXISTS { MATCH p = ANY SHORTEST (s) ((x)-[r]->(y) WHERE type(r) IN $types "
        "AND (r.until IS NULL OR r.until > datetime($since)))+ (g) } AS found",
        start=start,
        goal=goal,
        types=[t.value for t in ACYCLIC_TYPES],
        since=encode(since),
    )
    record = await result.single()
    return bool(record and record["found"])


def _walk(
    starts: Sequence[str],
    types: Sequence[RelType],
    max_depth: int,
    as_of: datetime,
    downward: bool,
) -> tuple[str, dict[str, Any]]:
    """Hierarchy paths from each start to every party they reach, as rows (start, n, depth,
    parent id, r): each party once at its shortest depth, ties going to the smallest
    (parent, edge) id. Paths never repeat an edge, so cycles end the walk; measured on a
    10,000-party graph, ALL SHORTEST with an upper bound of 64 took minutes where these
    trails took under a second."""
    step, params = _step(types, downward, "a", "")
    query = (
        "UNWIND $starts AS start MATCH (root:Party {id: start}) "
        f"MATCH p = (root) ((a)-[r:{type_expression(types)}]-(b) WHERE {step})"
        f"{{1,{int(max_depth)}}} (n:Party) WHERE n <> root "
        "WITH start, n, length(p) AS depth, nodes(p)[-2].id AS parent, relationships(p)[-1] AS r "
        "ORDER BY depth, parent, r.id "
        "WITH start, n, head(collect({depth: depth, parent: parent, r: r})) AS via "
        "WITH start, n, via.depth AS depth, via.parent AS parent, via.r AS r "
    )
    params |= {"starts": list(dict.fromkeys(starts)), "at": encode(as_of)}
    return query, params


def _step(
    types: Iterable[RelType], downward: bool, node: str, name: str
) -> tuple[str, dict[str, Any]]:
    """The condition for crossing edge r from `node` one level down (or up) the hierarchy,
    valid at $at, with its parameters named after `name`."""
    forward, backward = rules.walk_directions(types, downward)
    condition = (
        f"(type(r) IN ${name}forward AND startNode(r) = {node} "
        f"OR type(r) IN ${name}backward AND endNode(r) = {node}) AND {VALID_AT}"
    )
    return condition, {
        f"{name}forward": [t.value for t in forward],
        f"{name}backward": [t.value for t in backward],
    }


# Roll-ups over subtrees at least this large scan all activities newest first and keep the
# subtree's, instead of merging the members' activities: measured on 200,000 parties,
# merge 94 / 214 / 2,468 ms and scan 86 / 49 / 29 ms at 4,018 / 10,071 / 100,023 members
SCAN_FROM_MEMBERS = 5_000


def _directed_up(types: Sequence[RelType], max_depth: int) -> str | None:
    """A walk up as directed patterns, which expand only the edges that lead up instead of
    every edge of these types: possible when the types whose parent is the `from` end
    (EMPLOYS) have children that are never parents, so such an edge can only be the
    first step. None when the types do not allow it."""
    incoming = [t for t in types if REL_RULES[t].parent_end is ParentEnd.FROM]
    outgoing = [t for t in types if REL_RULES[t].parent_end is ParentEnd.TO]
    parents = set().union(*(REL_RULES[t].from_kinds for t in incoming))
    parents |= set().union(*(REL_RULES[t].to_kinds for t in outgoing))
    if any(REL_RULES[t].to_kinds & parents for t in incoming):
        return None
    steps = []
    if incoming:
        valid = VALID_AT.replace("r.", "e.")
        steps.append(f"(()<-[e:{type_expression(incoming)}]-() WHERE {valid}){{0,1}}")
    if outgoing:
        steps.append(
            f"(()-[r:{type_expression(outgoing)}]->() WHERE {VALID_AT}){{0,{int(max_depth)}}}"
        )
    return " ".join(steps)


class _RollupWalks:
    """The Cypher of one roll-up: members by walking down, membership by walking up."""

    def __init__(self, rollup: Rollup) -> None:
        down, down_params = _step(rollup.types, True, "x", "down_")
        up, up_params = _step(rollup.types, False, "x", "up_")
        pattern = f"((x)-[r:{type_expression(rollup.types)}]-(y) WHERE {{step}})"
        bound = f"{{{{1,{int(rollup.max_depth)}}}}}"
        self.down = pattern.format(step=down) + bound.format()
        self.up = _directed_up(rollup.types, rollup.max_depth) or (
            pattern.format(step=up) + bound.format()
        )
        self.params = down_params | up_params | {"at": encode(rollup.as_of)}
        # the subject that brought `a` into root's roll-up: root itself, else the first
        # subject in recorded order found below it walking up
        self.source = (
            "CALL (root, a) { MATCH (a)-[s:ABOUT]->(p:Party) "
            f"WHERE p = root OR EXISTS {{ MATCH (p) {self.up} (root) }} "
            "RETURN p.id AS source ORDER BY p = root DESC, s.position LIMIT 1 } "
        )

    def merge_window(self) -> str:
        """The members' activities merged newest first, each once: cheap for small trees."""
        return (
            "MATCH (root:Party {id: id}) "
            "CALL (root) { RETURN root AS m UNION "
            f"MATCH (root) {self.down} (m:Party) RETURN m }} "
            "MATCH (m)<-[:ABOUT]-(a:Activity) "
            f"WHERE {_ACTIVITY_FILTER} WITH DISTINCT root, a "
            "ORDER BY a.occurred_at DESC, a.id DESC LIMIT $limit "
            f"{self.source}RETURN a, source"
        )

    def picked_window(self) -> str:
        """Activities already chosen per root ($picked), in the order given."""
        return (
            "MATCH (root:Party {id: id}) UNWIND $picked[id] AS picked "
            f"MATCH (a:Activity {{id: picked}}) {self.source}RETURN a, source"
        )

    async def large_roots(self, tx: Tx, params: dict[str, Any]) -> list[str]:
        """The roots with at least SCAN_FROM_MEMBERS parties below, counted lazily."""
        result = await tx.run(
            "UNWIND $ids AS id MATCH (root:Party {id: id}) "
            f"CALL (root) {{ MATCH (root) {self.down} (m:Party) RETURN m LIMIT $enough }} "
            "WITH id, count(*) AS members WHERE members >= $enough RETURN id",
            params | {"enough": SCAN_FROM_MEMBERS},
        )
        return [record["id"] async for record in result]

    async def scan(
        self, tx: Tx, root: str, query: TimelineQuery, params: dict[str, Any]
    ) -> list[str]:
        """One page of root's roll-up read from the time index newest first, keeping what
        reaches root. The index orders by time only, so ties at the page's last instant
        are read in full and ordered by id here."""
        clauses = ["a.occurred_at IS NOT NULL"]
        if query.types:
            clauses.append("a.type IN $types")
        if query.since:
            clauses.append("a.occurred_at >= datetime($since)")
        if query.until:
            clauses.append("a.occurred_at < datetime($until)")
        if query.page.after:
            clauses.append("a.occurred_at <= datetime($after_time)")
            clauses.append("(a.occurred_at < datetime($after_time) OR a.id < $after_id)")
        clauses.append(
            "EXISTS { MATCH (a)-[:ABOUT]->(p:Party) "
            f"WHERE p = root OR EXISTS {{ MATCH (p) {self.up} (root) }} }}"
        )
        match = f"MATCH (root:Party {{id: $root}}) MATCH (a:Activity) WHERE {' AND '.join(clauses)}"
        found = await tx.run(
            f"{match} RETURN a.id AS id, toString(a.occurred_at) AS at "
            "ORDER BY a.occurred_at DESC LIMIT $limit",
            params | {"root": root},
        )
        rows = [(record["at"], record["id"]) async for record in found]
        if len(rows) == params["limit"]:
            last = rows[-1][0]
            ties = await tx.run(
                f"{match} AND a.occurred_at = datetime($last) "
                "RETURN a.id AS id, toString(a.occurred_at) AS at",
                params | {"root": root, "last": last},
            )
            rows = [row for row in rows if row[0] != last]
            rows += [(record["at"], record["id"]) async for record in ties]
        rows.sort(key=lambda row: (decode(row[0]), row[1]), reverse=True)
        return [activity_id for _, activity_id in rows[: params["limit"]]]


def _tree_row(record: neo4j.Record) -> TreeRow:
    return TreeRow(
        cypher.party(record["n"]), record["depth"], record["parent"], cypher.rel(record["r"])
    )


async def _check_party(tx: Tx, party: Party) -> None:
    categories = await cypher.categories(tx)
    rules.check_party(party, categories.get(party.category_id or ""))
    if party.username is not None:
        result = await tx.run(
            "MATCH (u:User {username: $username}) WHERE u.id <> $id RETURN u.id AS id LIMIT 1",
            username=party.username,
            id=party.id,
        )
        if await result.single() is not None:
            raise Conflict(f"username {party.username!r} is taken")
    if party.contact_id is not None:
        contact = rules.found(await cypher.parties(tx, [party.contact_id]), [party.contact_id])[0]
        if contact.kind is not PartyKind.CONTACT:
            raise BadUserInput(f"{party.contact_id} is a {contact.kind.value}, not a CONTACT")
