"""The embedded default backend: stdlib sqlite3 in WAL mode.

One writer thread owns the only write connection, so writes are serialised
without lock contention; reads run on a small pool of read-only connections,
so neither ever blocks the event loop. Each public method is one executor job:
one round trip, however many statements it runs inside.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TypeVar
from urllib.parse import quote, unquote

from .. import rules
from ..cursors import decode_cursor
from ..errors import BadUserInput, ConfigError, Conflict, NotFound, ServiceUnavailable
from ..model import (
    ACYCLIC_TYPES,
    DEFAULT_CATEGORIES,
    Activity,
    Batch,
    Category,
    Direction,
    Network,
    Page,
    Party,
    PartyFilter,
    PartyKind,
    PartyPage,
    Path,
    Relationship,
    RelType,
    TimelineEntry,
    TimelinePage,
    TimelineQuery,
    TreePage,
    TreeRow,
    display_order,
)
from ..search import indexed_text, query_terms
from ..store import Node
from ..times import format_instant
from . import closure, timelines
from .rows import (
    PARTY_COLUMNS,
    REL_COLUMNS,
    activity_from_row,
    activity_params,
    category_from_row,
    category_params,
    party_from_row,
    party_params,
    relationship_from_row,
    relationship_params,
)
from .schema import MIGRATIONS, migrate

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]

_INSERT_PARTY = f"INSERT INTO parties ({PARTY_COLUMNS}) VALUES ({', '.join('?' * 16)})"
_UPDATE_PARTY = (
    "UPDATE parties SET kind = ?, legal_form = ?, category_id = ?, display_name = ?, name = ?, "
    "first_name = ?, last_name = ?, unit_type = ?, username = ?, contact_id = ?, details = ?, "
    "version = ?, created_at = ?, updated_at = ?, archived_at = ? WHERE id = ?"
)
_INSERT_SEARCH = (
    "INSERT INTO party_search (rowid, body) VALUES ((SELECT seq FROM parties WHERE id = ?), ?)"
)
_INSERT_REL = f"INSERT INTO relationships ({REL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_ACTIVITY = (
    "INSERT INTO activities (id, type, occurred_at, summary, body, author_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_SUBJECT = (
    "INSERT INTO activity_subjects (party_id, occurred_at, activity_id, type, position) "
    "VALUES (?, ?, ?, ?, ?)"
)
_IN = "IN (SELECT value FROM json_each(?))"
READER_THREADS = 4


def _ids(values: Iterable[object]) -> str:
    """A list bound as one JSON parameter, so IN lists have no variable limit."""
    return json.dumps(list(values))


def _fts_query(text: str) -> str:
    """Every term as a quoted prefix, all required (terms are letters and digits only)."""
    return " ".join(f'"{term}"*' for term in query_terms(text))


class SqliteStore:
    seed_batch_size = 20_000

    def __init__(self, path: str | None) -> None:
        """path None is a private in-memory database on one connection."""
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="contactgraph-sqlite-write")
        self._readers = (
            self._writer
            if path is None
            else ThreadPoolExecutor(READER_THREADS, thread_name_prefix="contactgraph-sqlite-read")
        )
        self._write_conn: sqlite3.Connection | None = None

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        prefix = "sqlite:///"
        if not url.startswith(prefix) or len(url) == len(prefix):
            raise ConfigError(
                f"{url!r}: write sqlite:///relative/path.db or sqlite:////abs/path.db"
            )
        path = unquote(url[len(prefix) :])
        if path == ":memory:":
            return cls(None)
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise ConfigError(f"{path!r} is a directory, not a database file")
        if not os.path.isdir(directory):
            raise ConfigError(f"directory {directory!r} for the database does not exist")
        if not os.access(directory, os.W_OK):
            raise ConfigError(f"directory {directory!r} is not writable")
        return cls(path)

    # -- connections ---------------------------------------------------------

    def _connect(self, read_only: bool) -> sqlite3.Connection:
        if self._path is None:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        elif read_only:
            uri = f"file:{quote(os.path.abspath(self._path))}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: index pages stay hot on writes
        conn.execute("PRAGMA mmap_size = 1073741824")
        with self._lock:
            self._connections.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        if self._path is None:
            return self._writer_conn()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(read_only=True)
        return conn

    def _writer_conn(self) -> sqlite3.Connection:
        if self._write_conn is None:
            self._write_conn = self._connect(read_only=False)
        return self._write_conn

    def _run_read(self, work: Work[T]) -> T:
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            return work(conn)
        finally:
            conn.execute("COMMIT")

    def _run_write(self, work: Work[T]) -> T:
        conn = self._writer_conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _submit(self, executor: ThreadPoolExecutor, job: Callable[[], T]) -> T:
        try:
            future = asyncio.get_running_loop().run_in_executor(executor, job)
        except RuntimeError:
            raise ServiceUnavailable("the embedded store is closed") from None
        try:
            return await future
        except sqlite3.IntegrityError as error:
            raise Conflict(f"the write conflicts with stored data: {error}") from None
        except sqlite3.OperationalError as error:
            raise ServiceUnavailable(f"the embedded store cannot answer: {error}") from None

    async def _read(self, work: Work[T]) -> T:
        return await self._submit(self._readers, functools.partial(self._run_read, work))

    async def _write(self, work: Work[T]) -> T:
        return await self._submit(self._writer, functools.partial(self._run_write, work))

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        def prepare(conn: sqlite3.Connection) -> None:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise ConfigError(
                    f"database schema version {version} is newer than this contactgraph "
                    f"({len(MIGRATIONS)}); upgrade contactgraph"
                )
            migrate(conn)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT OR IGNORE INTO categories (id, name, description, legal_forms, unit_types)"
                " VALUES (?, ?, ?, ?, ?)",
                [category_params(c) for c in DEFAULT_CATEGORIES],
            )
            conn.execute("COMMIT")

        def job() -> None:
            try:
                prepare(self._writer_conn())
            except sqlite3.DatabaseError as error:
                raise ConfigError(f"{self._path!r} is not a usable database: {error}") from None

        await asyncio.get_running_loop().run_in_executor(self._writer, job)

    async def close(self) -> None:
        if self._write_conn is not None:  # keeps the planner's statistics fresh, cheaply
            await self._write(lambda conn: conn.execute("PRAGMA optimize"))
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    # -- reads ---------------------------------------------------------------

    async def get_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        def work(conn: sqlite3.Connection) -> dict[str, Node]:
            nodes: dict[str, Node] = {}
            nodes.update(_parties(conn, ids))
            nodes.update(_activities(conn, ids))
            rows = conn.execute(
                f"SELECT {REL_COLUMNS} FROM relationships WHERE id {_IN}",
                (_ids(ids),),
            )
            nodes.update((row["id"], relationship_from_row(row)) for row in rows)
            return nodes

        return await self._read(work)

    async def get_parties(self, ids: Sequence[str]) -> dict[str, Party]:
        return await self._read(lambda conn: _parties(conn, ids))

    async def list_parties(self, where: PartyFilter, page: Page, count: bool) -> PartyPage:
        clauses: list[str] = []
        params: list[object] = []
        for column, values in (
            ("kind", [k.value for k in where.kinds]),
            ("category_id", list(where.category_ids)),
            ("legal_form", [f.value for f in where.legal_forms]),
        ):
            if values:
                clauses.append(f"{column} {_IN}")
                params.append(_ids(values))
        if not where.include_archived:
            clauses.append("archived_at IS NULL")
        if where.tags:
            clauses.append(
                f"id IN (SELECT party_id FROM party_tags WHERE tag {_IN} "
                "GROUP BY party_id HAVING count(*) = ?)"
            )
            params += [_ids(set(where.tags)), len(set(where.tags))]
        if where.search is not None:
            match = _fts_query(where.search)
            clauses.append("seq IN (SELECT rowid FROM party_search WHERE party_search MATCH ?)")
            params.append(match)
        after = decode_cursor(page.after, 1)[0] if page.after else None

        def work(conn: sqlite3.Connection) -> PartyPage:
            where_sql = " AND ".join(clauses) or "1"
            count_sql = f"SELECT count(*) FROM parties WHERE {where_sql}"
            total = conn.execute(count_sql, params).fetchone()[0] if count else None
            window = f"{where_sql} AND id > ?" if after else where_sql
            rows = conn.execute(
                f"SELECT {PARTY_COLUMNS} FROM parties WHERE {window} ORDER BY id LIMIT ?",
                [*params, *([after] if after else []), page.first + 1],
            ).fetchall()
            parties = [party_from_row(row) for row in rows[: page.first]]
            return PartyPage(parties, has_next=len(rows) > page.first, total_count=total)

        return await self._read(work)

    async def get_categories(self, ids: Sequence[str] | None) -> dict[str, Category]:
        return await self._read(lambda conn: _categories(conn, ids))

    async def relationships(
        self,
        party_ids: Sequence[str],
        types: Sequence[RelType],
        direction: Direction,
        as_of: datetime | None,
    ) -> dict[str, list[Relationship]]:
        ends = {
            Direction.OUTGOING: ("from_id",),
            Direction.INCOMING: ("to_id",),
            Direction.BOTH: ("from_id", "to_id"),
        }[direction]

        def work(conn: sqlite3.Connection) -> dict[str, list[Relationship]]:
            found: dict[str, list[Relationship]] = defaultdict(list)
            for anchor, rel in _edges(
                conn, party_ids, [(t, e) for t in types for e in ends], as_of
            ):
                found[anchor].append(rel)
            return found

        return await self._read(work)

    async def children(
        self, parent_ids: Sequence[str], types: Sequence[RelType], as_of: datetime
    ) -> dict[str, list[tuple[Party, Relationship]]]:
        forward, backward = rules.walk_directions(types, downward=True)
        spec = [(t, "from_id") for t in forward] + [(t, "to_id") for t in backward]

        def work(conn: sqlite3.Connection) -> dict[str, list[tuple[Party, Relationship]]]:
            edges = _edges(conn, parent_ids, spec, as_of)
            parties = _parties(conn, [_other_end(rel, parent) for parent, rel in edges])
            found: dict[str, list[tuple[Party, Relationship]]] = defaultdict(list)
            for parent, rel in edges:
                found[parent].append((parties[_other_end(rel, parent)], rel))
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
        walk = _walk_sql(types, downward=True)
        params = _walk_params([root_id], types, max_depth, as_of, downward=True)
        after = decode_cursor(page.after, 2) if page.after else None
        params["after_depth"] = _cursor_depth(after[0]) if after else -1
        params["after_id"] = after[1] if after else ""
        params["limit"] = page.first + 1

        def work(conn: sqlite3.Connection) -> TreePage:
            total = None
            if count:
                total = conn.execute(f"{walk} SELECT count(*) FROM best", params).fetchone()[0]
            rows = conn.execute(
                f"{walk} SELECT id, depth, parent, rel_id FROM best "
                "WHERE (depth, id) > (:after_depth, :after_id) ORDER BY depth, id LIMIT :limit",
                params,
            ).fetchall()
            found = _tree_rows(conn, [tuple(row) for row in rows[: page.first]])
            return TreePage(found, has_next=len(rows) > page.first, total_count=total)

        return await self._read(work)

    async def ancestors(
        self, party_ids: Sequence[str], types: Sequence[RelType], max_depth: int, as_of: datetime
    ) -> dict[str, list[TreeRow]]:
        walk = _walk_sql(types, downward=False)
        params = _walk_params(party_ids, types, max_depth, as_of, downward=False)

        def work(conn: sqlite3.Connection) -> dict[str, list[TreeRow]]:
            rows = conn.execute(
                f"{walk} SELECT start, id, depth, parent, rel_id FROM best ORDER BY depth, id",
                params,
            ).fetchall()
            found: dict[str, list[TreeRow]] = defaultdict(list)
            rows_by_start = [(row[0], tuple(row[1:])) for row in rows]
            built = _tree_rows(conn, [walk_row for _, walk_row in rows_by_start])
            for (start, _), tree_row in zip(rows_by_start, built, strict=True):
                found[start].append(tree_row)
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
        def work(conn: sqlite3.Connection) -> Network:
            distance = {root_id: 0}
            frontier = [root_id]
            for level in range(1, depth + 1):
                if not frontier or len(distance) > limit:
                    break  # every party nearer than the cut is in: the order below is exact
                reached = []
                for _, other, _ in _neighbours(conn, frontier, types, as_of):
                    if other not in distance:
                        distance[other] = level
                        reached.append(other)
                frontier = reached
            ranked = sorted(distance, key=lambda i: (distance[i], i))
            kept = ranked[:limit]
            parties = _parties(conn, kept)
            rows = conn.execute(
                f"SELECT {REL_COLUMNS} FROM relationships WHERE from_id {_IN} AND to_id {_IN} "
                f"AND type {_IN} AND since <= ? AND (until IS NULL OR until > ?) "
                "ORDER BY since, id",
                (
                    _ids(kept),
                    _ids(kept),
                    _ids(t.value for t in types),
                    *[format_instant(as_of)] * 2,
                ),
            )
            return Network(
                [parties[i] for i in kept if i in parties],
                [relationship_from_row(row) for row in rows],
                truncated=len(ranked) > limit,
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
        def work(conn: sqlite3.Connection) -> Path | None:
            ends = _parties(conn, [from_id, to_id])
            rules.found(ends, [from_id, to_id])
            steps = _meet(conn, from_id, to_id, types, max_depth, as_of)
            if steps is None:
                return None
            nodes, rels = steps
            parties = _parties(conn, nodes)
            return Path([parties[i] for i in nodes], rels)

        return await self._read(work)

    async def timelines(
        self, party_ids: Sequence[str], query: TimelineQuery
    ) -> dict[str, TimelinePage]:
        def window(conn: sqlite3.Connection, party_id: str) -> tuple[list[str], dict[str, str]]:
            rollup = query.rollup
            if rollup is None:
                ids = timelines.own_window(conn, party_id, query)
                return ids, dict.fromkeys(ids, party_id)
            subtree = timelines.Subtree(
                party_id,
                rollup,
                _walk_sql(rollup.types, downward=True),
                _walk_params([party_id], rollup.types, rollup.max_depth, rollup.as_of, True),
            )
            ids = timelines.rollup_window(conn, subtree, query)
            return ids, timelines.sources(conn, subtree, party_id, ids[: query.page.first])

        def work(conn: sqlite3.Connection) -> dict[str, TimelinePage]:
            windows = {party_id: window(conn, party_id) for party_id in dict.fromkeys(party_ids)}
            activities = _activities(conn, {a for ids, _ in windows.values() for a in ids})
            first = query.page.first
            return {
                party_id: TimelinePage(
                    [TimelineEntry(activities[a], came_from[a]) for a in ids[:first]],
                    has_next=len(ids) > first,
                )
                for party_id, (ids, came_from) in windows.items()
            }

        return await self._read(work)

    async def is_empty(self) -> bool:
        return await self._read(
            lambda conn: (
                conn.execute("SELECT NOT EXISTS (SELECT 1 FROM parties)").fetchone()[0] == 1
            )
        )

    # -- writes --------------------------------------------------------------

    async def create_party(self, party: Party) -> Party:
        def work(conn: sqlite3.Connection) -> Party:
            _check_party(conn, party)
            _insert_parties(conn, [party])
            return party

        return await self._write(work)

    async def update_party(
        self,
        party_id: str,
        changes: Mapping[str, object],
        expected_version: int | None,
        at: datetime,
    ) -> Party:
        def work(conn: sqlite3.Connection) -> Party:
            current = _party(conn, party_id)
            if expected_version is not None and expected_version != current.version:
                raise Conflict(
                    f"party {party_id} is at version {current.version}, not {expected_version}"
                )
            updated = rules.apply_changes(current, changes, at)
            _check_party(conn, updated)
            _rewrite_party(conn, updated)
            return updated

        return await self._write(work)

    async def archive_party(self, party_id: str, at: datetime) -> Party:
        def work(conn: sqlite3.Connection) -> Party:
            current = _party(conn, party_id)
            if current.archived_at is not None:
                return current
            archived = rules.archived(current, at)
            _rewrite_party(conn, archived)
            return archived

        return await self._write(work)

    async def link(self, rel: Relationship) -> Relationship:
        def work(conn: sqlite3.Connection) -> Relationship:
            source, target = rules.found(
                _parties(conn, [rel.from_id, rel.to_id]), [rel.from_id, rel.to_id]
            )
            rules.check_link(rel, source, target)
            rows = conn.execute(
                f"SELECT {REL_COLUMNS} FROM relationships "
                "WHERE from_id = ? AND to_id = ? AND type = ?",
                (rel.from_id, rel.to_id, rel.type.value),
            )
            rules.check_duplicate(rel, (relationship_from_row(row) for row in rows))
            # one writer thread: no other link can land between this check and the insert
            if rel.type in ACYCLIC_TYPES and _reaches(conn, rel.to_id, rel.from_id, rel.since):
                raise rules.cycle(rel)
            conn.execute(_INSERT_REL, relationship_params(rel))
            closure.add_edges(conn, [rel])
            return rel

        return await self._write(work)

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
            closure.shorten_edge(conn, rel, ended)
            return ended

        return await self._write(work)

    async def record_activity(self, activity: Activity) -> Activity:
        def work(conn: sqlite3.Connection) -> Activity:
            rules.check_activities(
                [activity], _parties(conn, rules.activity_references([activity]))
            )
            _insert_activities(conn, [activity])
            return activity

        return await self._write(work)

    async def load_batch(self, batch: Batch) -> None:
        def work(conn: sqlite3.Connection) -> None:
            stored = _parties(conn, rules.batch_references(batch))
            rules.check_batch(batch, _categories(conn, None), stored)
            _insert_parties(conn, batch.parties)
            conn.executemany(_INSERT_REL, [relationship_params(r) for r in batch.relationships])
            closure.add_edges(conn, batch.relationships)
            _insert_activities(conn, batch.activities)

        await self._write(work)


# -- statements shared by the methods above, each run inside their transaction --


def _parties(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, Party]:
    rows = conn.execute(
        f"SELECT {PARTY_COLUMNS} FROM parties WHERE id {_IN}",
        (_ids(set(ids)),),
    )
    return {row["id"]: party_from_row(row) for row in rows}


def _party(conn: sqlite3.Connection, party_id: str) -> Party:
    return rules.found(_parties(conn, [party_id]), [party_id])[0]


def _categories(conn: sqlite3.Connection, ids: Sequence[str] | None) -> dict[str, Category]:
    if ids is None:
        rows = conn.execute("SELECT * FROM categories ORDER BY name")
    else:
        rows = conn.execute(f"SELECT * FROM categories WHERE id {_IN}", (_ids(ids),))
    return {row["id"]: category_from_row(row) for row in rows}


def _activities(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, Activity]:
    bound = _ids(set(ids))
    subjects: dict[str, list[str]] = defaultdict(list)
    for activity_id, party_id in conn.execute(
        f"SELECT activity_id, party_id FROM activity_subjects WHERE activity_id {_IN} "
        "ORDER BY activity_id, position",
        (bound,),
    ):
        subjects[activity_id].append(party_id)
    rows = conn.execute(f"SELECT * FROM activities WHERE id {_IN}", (bound,))
    return {row["id"]: activity_from_row(row, tuple(subjects[row["id"]])) for row in rows}


def _edges(
    conn: sqlite3.Connection,
    anchors: Sequence[str],
    spec: Sequence[tuple[RelType, str]],
    as_of: datetime | None,
) -> list[tuple[str, Relationship]]:
    """Edges whose `end` column holds one of anchors, per (type, end) in spec."""
    moment = format_instant(as_of) if as_of else None
    validity = " AND since <= :at AND (until IS NULL OR until > :at)" if moment else ""
    found: list[tuple[str, Relationship]] = []
    bound = _ids(set(anchors))
    for end in ("from_id", "to_id"):
        types = [t.value for t, e in spec if e == end]
        if not types:
            continue
        rows = conn.execute(
            f"SELECT {REL_COLUMNS}, {end} AS anchor FROM relationships "
            f"WHERE {end} IN (SELECT value FROM json_each(:anchors)) "
            f"AND type IN (SELECT value FROM json_each(:types)){validity}",
            {"anchors": bound, "types": _ids(types), "at": moment},
        )
        found += [(row["anchor"], relationship_from_row(row)) for row in rows]
    found.sort(key=lambda item: (item[1].since, item[1].id))
    return found


def _neighbours(
    conn: sqlite3.Connection, ids: Sequence[str], types: Sequence[RelType], as_of: datetime
) -> list[tuple[str, str, Relationship]]:
    """(party, neighbour, edge) for every edge of these types touching the parties,
    whichever way it points, in edge id order so walks are repeatable."""
    spec = [(t, end) for t in types for end in ("from_id", "to_id")]
    found = [
        (anchor, _other_end(rel, anchor), rel) for anchor, rel in _edges(conn, ids, spec, as_of)
    ]
    found.sort(key=lambda item: item[2].id)
    return found


def _meet(
    conn: sqlite3.Connection,
    start: str,
    goal: str,
    types: Sequence[RelType],
    max_depth: int,
    as_of: datetime,
) -> tuple[list[str], list[Relationship]] | None:
    """Breadth-first from both ends, one SQL statement per level, the smaller side first;
    the first level where the sides touch gives a shortest path."""
    if start == goal:
        return [start], []
    # party -> (the party one step nearer its side's end, the edge between them)
    came: list[dict[str, tuple[str, Relationship] | None]] = [{start: None}, {goal: None}]
    fronts = [[start], [goal]]
    for _ in range(max_depth):
        side = 0 if len(fronts[0]) <= len(fronts[1]) else 1
        seen, other = came[side], came[1 - side]
        reached = []
        for anchor, neighbour, rel in _neighbours(conn, fronts[side], types, as_of):
            if neighbour not in seen:
                seen[neighbour] = (anchor, rel)
                reached.append(neighbour)
        meeting = sorted(n for n in reached if n in other)
        if meeting:
            return _join(came[0], came[1], meeting[0])
        fronts[side] = reached
        if not reached:
            return None
    return None


def _join(
    from_start: dict[str, tuple[str, Relationship] | None],
    from_goal: dict[str, tuple[str, Relationship] | None],
    middle: str,
) -> tuple[list[str], list[Relationship]]:
    nodes, rels = [middle], []
    step = from_start[middle]
    while step is not None:
        nodes.insert(0, step[0])
        rels.insert(0, step[1])
        step = from_start[step[0]]
    step = from_goal[middle]
    while step is not None:
        nodes.append(step[0])
        rels.append(step[1])
        step = from_goal[step[0]]
    return nodes, rels


def _reaches(conn: sqlite3.Connection, start: str, goal: str, since: datetime) -> bool:
    """Whether start leads to goal from → to over the acyclic types, counting every edge
    still valid at or after `since` (an edge that ended before it cannot close a cycle)."""
    row = conn.execute(
        f"""WITH RECURSIVE up(id) AS (
              SELECT :start
              UNION
              SELECT r.to_id FROM up JOIN relationships r ON r.from_id = up.id
              WHERE r.type {_IN.replace("?", ":types")} AND (r.until IS NULL OR r.until > :since)
            )
            SELECT 1 FROM up WHERE id = :goal LIMIT 1""",
        {
            "start": start,
            "goal": goal,
            "types": _ids(t.value for t in ACYCLIC_TYPES),
            "since": format_instant(since),
        },
    ).fetchone()
    return row is not None


def _walk_sql(types: Sequence[RelType], downward: bool) -> str:
    """A recursive walk from every start in :starts along the hierarchy types, one row per
    path, never revisiting a party on its own path; `best` keeps each party's shortest."""
    forward, backward = rules.walk_directions(types, downward)
    steps = [
        f"""SELECT w.start, r.{step}, w.depth + 1, w.id, r.id, w.path || r.{step} || '/'
        FROM walk w JOIN relationships r ON r.{anchor} = w.id
        WHERE r.type IN (SELECT value FROM json_each(:{name}))
          AND r.since <= :at AND (r.until IS NULL OR r.until > :at)
          AND w.depth < :max_depth AND instr(w.path, '/' || r.{step} || '/') = 0"""
        for name, group, anchor, step in (
            ("forward", forward, "from_id", "to_id"),
            ("backward", backward, "to_id", "from_id"),
        )
        if group
    ]
    return f"""
    WITH RECURSIVE walk(start, id, depth, parent, rel_id, path) AS (
      SELECT value, value, 0, NULL, NULL, '/' || value || '/' FROM json_each(:starts)
      {"".join(" UNION ALL " + step for step in steps)}
    ),
    ranked AS (
      SELECT start, id, depth, parent, rel_id, row_number() OVER (
        PARTITION BY start, id ORDER BY depth, parent, rel_id) AS rank
      FROM walk WHERE depth > 0
    ),
    best AS (SELECT start, id, depth, parent, rel_id FROM ranked WHERE rank = 1)
    """


def _walk_params(
    starts: Sequence[str],
    types: Sequence[RelType],
    max_depth: int,
    as_of: datetime,
    downward: bool,
) -> dict[str, object]:
    forward, backward = rules.walk_directions(types, downward)
    return {
        "starts": _ids(dict.fromkeys(starts)),
        "forward": _ids(t.value for t in forward),
        "backward": _ids(t.value for t in backward),
        "at": format_instant(as_of),
        "max_depth": max_depth,
    }


def _cursor_depth(text: str) -> int:
    if not text.isdigit():
        raise BadUserInput(f"{text!r} is not a depth of this list")
    return int(text)


def _tree_rows(
    conn: sqlite3.Connection, rows: Sequence[tuple[str, int, str, str]]
) -> list[TreeRow]:
    """Walk rows (id, depth, parent, relationship id) with their parties and edges."""
    parties = _parties(conn, [row[0] for row in rows])
    bound = _ids({row[3] for row in rows})
    rels = {
        rel_row["id"]: relationship_from_row(rel_row)
        for rel_row in conn.execute(
            f"SELECT {REL_COLUMNS} FROM relationships WHERE id {_IN}", (bound,)
        )
    }
    return [TreeRow(parties[i], depth, parent, rels[rel]) for i, depth, parent, rel in rows]


def _other_end(rel: Relationship, anchor: str) -> str:
    return rel.to_id if rel.from_id == anchor else rel.from_id


def _check_party(conn: sqlite3.Connection, party: Party) -> None:
    category = _categories(conn, [party.category_id]).get(party.category_id or "")
    rules.check_party(party, category)
    if party.username is not None:
        row = conn.execute(
            "SELECT id FROM parties WHERE username = ? AND id != ?", (party.username, party.id)
        ).fetchone()
        if row is not None:
            raise Conflict(f"username {party.username!r} is taken")
    if party.contact_id is not None:
        contact = _party(conn, party.contact_id)
        if contact.kind is not PartyKind.CONTACT:
            raise BadUserInput(f"{party.contact_id} is a {contact.kind.value}, not a CONTACT")


def _insert_parties(conn: sqlite3.Connection, parties: Sequence[Party]) -> None:
    conn.executemany(_INSERT_PARTY, [party_params(p) for p in parties])
    closure.add_parties(conn, [p.id for p in parties])
    conn.executemany(_INSERT_SEARCH, [(p.id, indexed_text(p)) for p in parties])
    conn.executemany(
        "INSERT OR IGNORE INTO party_tags (tag, party_id) VALUES (?, ?)",
        [(tag, p.id) for p in parties for tag in p.tags],
    )


def _rewrite_party(conn: sqlite3.Connection, party: Party) -> None:
    params = party_params(party)
    conn.execute(_UPDATE_PARTY, (*params[1:], party.id))
    conn.execute(
        "UPDATE party_search SET body = ? WHERE rowid = (SELECT seq FROM parties WHERE id = ?)",
        (indexed_text(party), party.id),
    )
    conn.execute("DELETE FROM party_tags WHERE party_id = ?", (party.id,))
    conn.executemany(
        "INSERT OR IGNORE INTO party_tags (tag, party_id) VALUES (?, ?)",
        [(tag, party.id) for tag in party.tags],
    )


def _insert_activities(conn: sqlite3.Connection, activities: Sequence[Activity]) -> None:
    conn.executemany(_INSERT_ACTIVITY, [activity_params(a) for a in activities])
    conn.executemany(
        _INSERT_SUBJECT,
        [
            (subject, format_instant(a.occurred_at), a.id, a.type.value, position)
            for a in activities
            for position, subject in enumerate(a.subject_ids)
        ],
    )
