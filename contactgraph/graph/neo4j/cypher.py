"""Cypher shared by the Neo4j store's modules: how records travel in and out, and the
statements its transactions share. Each statement runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from neo4j import AsyncResult, Record

from .. import contactdata, duplicates, schedules
from ..attribute_filters import ATTRIBUTE_PREFIX
from ..closure import DEPTH
from ..codec import (
    ACTIVITY_FIELDS,
    PARTY_FIELDS,
    PARTY_KINDS,
    REL_FIELDS,
    activity_from_record,
    activity_record,
    category_from_record,
    party_from_record,
    party_record,
    relationship_from_record,
    relationship_record,
)
from ..model import (
    ACYCLIC_TYPES,
    Activity,
    Category,
    Party,
    PartyKind,
    PartyRef,
    Relationship,
    RelType,
)
from ..search import activity_text, fiscal_text, indexed_text
from ..times import format_instant, parse_instant
from . import pending


class Tx(Protocol):
    """What a store's unit of work runs its statements on: a write's managed transaction,
    or a read's statements, each its own transaction (session.py)."""

    async def run(
        self, query: str, parameters: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncResult: ...


LABELS = {kind: kind.value.title() for kind in PartyKind}
PARTY_TIMES = (
    "SET p.created_at = datetime(p.created_at), p.updated_at = datetime(p.updated_at), "
    "p.archived_at = datetime(p.archived_at)"
)
_TIME_FIELDS = ("created_at", "updated_at", "archived_at", "since", "until", "occurred_at")


def _projection(var: str, fields: Iterable[str], **extra: str) -> str:
    """A map of the shared record's fields; instants as text, since hydrating the driver's
    DateTime objects costs far more than parsing ISO text."""
    parts = [
        f"{f}: toString({var}.{f})" if f in _TIME_FIELDS else f".{f}"
        for f in fields
        if f not in extra
    ]
    parts += [f"{key}: {value}" for key, value in extra.items()]
    return f"{var} {{{', '.join(parts)}}}"


PARTY_MAP = _projection("p", PARTY_FIELDS)
CHILD_MAP = _projection("child", PARTY_FIELDS)
WALKED_MAP = _projection("n", PARTY_FIELDS)
ACTIVITY_MAP = _projection("a", ACTIVITY_FIELDS)
# a relationship as the shared flat record; its endpoints' ids come from the nodes
REL_MAP = _projection(
    "r", REL_FIELDS, type="type(r)", from_id="startNode(r).id", to_id="endNode(r).id"
)
# an activity's subjects in the order they were given
WITH_SUBJECTS = (
    "CALL (a) { MATCH (a)-[s:ABOUT]->(subject:Party) WITH subject ORDER BY s.position "
    "RETURN collect(subject.id) AS subjects }"
)


def valid_at(var: str, at: str = "at") -> str:
    """Relationship `var` is valid at the instant in parameter `at`: the read's $at, unless
    a statement needs another instant beside it (the scope's now)."""
    return (
        f"{var}.since <= datetime(${at}) AND ({var}.until IS NULL OR {var}.until > datetime(${at}))"
    )


VALID_AT = valid_at("r")


class Reach:
    """The parties a read may see and walk through: for an unscoped read, all of them. Its
    tests are `true`, which the planner drops, so unscoped statements plan as before;
    scopes.InScope narrows them to a scoped viewer's part of the graph."""

    params: Mapping[str, Any] = {}

    def parties(self, node: str) -> str:
        """A clause that binds `node` to each party that may be seen, once."""
        return f"MATCH ({node}:Party)"

    def test(self, node: str) -> str:
        """Party `node` may be seen: a subquery, for parties read one by one."""
        return "true"

    def shows(self, activity: str) -> str:
        """Activity `activity` may be seen."""
        return "true"

    def passes(self, node: str) -> str:
        """A walk may enter party `node`, without a subquery, so that its search stays one
        breadth-first search; it holds for the parties `fence` was given."""
        return "true"

    async def fence(
        self, tx: Tx, starts: Sequence[str], region: str, params: Mapping[str, Any]
    ) -> bool:
        """Fence off for `passes` the parties outside among those `region` (a subquery body
        over party s) returns as x from each of `starts`; whether there were any."""
        return False


EVERYWHERE = Reach()


async def collected(result: AsyncResult) -> list[Any]:
    """The one value of a statement that collects its rows into a list: the driver spends
    about 40 µs on each record it receives, and on a single list of thousands of rows only a
    small part of that for each."""
    record = await result.single(strict=True)
    return list(record[0])


def encode(value: datetime) -> str:
    """Instants travel as ISO text and become DateTime in Cypher: packing Python
    datetimes in the driver costs more than the whole write on the server."""
    return format_instant(value)


def decode(value: str) -> datetime:
    return parse_instant(value)


def type_expression(types: Iterable[RelType]) -> str:
    """A relationship type expression for a pattern, from enum members only: naming the
    types in the pattern lets Neo4j expand only those edges instead of filtering after."""
    return "|".join(dict.fromkeys(t.value for t in types))


def party_props(party: Party, held: bool = False) -> dict[str, Any]:
    """Node properties: the shared record, tags as a list to filter on, search tokens, and
    the keys parties are compared and looked up by; `held`, the full-text ones under the
    names pending.py keeps out of the index until a batch moves them in."""
    props = party_record(party, encode)
    props["tags"] = list(party.tags)
    props["search"] = indexed_text(party)
    props["fiscal_search"] = fiscal_text(party)  # apart: see search.py
    props["merged_into"] = party.merged_into  # indexed: a survivor lists what it absorbed
    props["lead_status"] = None if party.lead_status is None else party.lead_status.value
    props.update(key_props(party))
    # each attribute a property of its own, which filters name and indexes cover
    props.update((f"{ATTRIBUTE_PREFIX}{name}", v) for name, v in party.attributes.items())
    if held:
        props = pending.held(props)
    return {k: v for k, v in props.items() if v is not None}


def key_props(party: Party) -> dict[str, Any]:
    """What a party is compared and looked up by (keys.py), and duplicates are found by
    (duplicates.py: `kind=value` tokens); dup_keys is there even when empty, which tells a
    node written before those keys existed."""
    keys = contactdata.keys(party)
    return {
        "vat_key": keys.vat,
        "tax_key": keys.tax,
        "email_keys": " ".join(keys.emails),
        "dup_keys": " ".join(f"{kind}={value}" for kind, value in duplicates.keys(party)),
    }


def party(props: Mapping[str, Any]) -> Party:
    return party_from_record(props, decode)


def ref_list(var: str) -> str:
    """A party as `party_ref` reads it back: a list, cheaper to decode than a map."""
    return f"[{var}.id, {var}.kind, {var}.display_name]"


def party_ref(row: Sequence[Any]) -> PartyRef:
    return PartyRef(row[0], PARTY_KINDS[row[1]], row[2])


def rel(props: Mapping[str, Any]) -> Relationship:
    return relationship_from_record(props, decode)


def activity(props: Mapping[str, Any], subjects: Sequence[str]) -> Activity:
    return activity_from_record(props, tuple(subjects), decode)


async def parties(tx: Tx, ids: Iterable[str], inside: Reach = EVERYWHERE) -> dict[str, Party]:
    result = await tx.run(
        f"UNWIND $ids AS id MATCH (p:Party {{id: id}}) WHERE {inside.test('p')} "
        f"RETURN collect({PARTY_MAP}) AS rows",
        {"ids": list(set(ids)), **inside.params},
    )
    return {found.id: found for found in map(party, await collected(result))}


async def lock(tx: Tx, ids: Sequence[str]) -> None:
    """Take the parties' write locks first, so what this transaction reads next is current."""
    await tx.run(
        "UNWIND $ids AS id MATCH (p:Party {id: id}) SET p._lock = true REMOVE p._lock",
        ids=sorted(set(ids)),
    )


async def lock_hierarchy(tx: Tx) -> None:
    """Hierarchy writes take turns: two edges that close a cycle between them can share no
    party, so locking their endpoints alone would let both through."""
    await tx.run("MATCH (l:WriteLock {name: 'hierarchy'}) SET l.taken = timestamp()")


async def categories(tx: Tx) -> dict[str, Category]:
    result = await tx.run("MATCH (c:Category) RETURN properties(c) AS c")
    return {c.id: c for c in [category_from_record(r["c"]) async for r in result]}


@dataclass(frozen=True)
class Prepared:
    """What a write reads before it checks, in one statement (`preparing`)."""

    parties: dict[str, Party]
    categories: dict[str, Category]
    entered: frozenset[str]  # of the sources asked about, those an acyclic edge enters
    between: list[Relationship] = field(default_factory=list)  # the edges `between` named
    held: list[list[Any]] = field(default_factory=list)  # the doors' closure rows (`held`)
    open_steps: list[list[str]] = field(default_factory=list)  # [party id, body] (steps_of)
    above: dict[str, list[Party]] = field(default_factory=dict)  # by party of `above`


# The closure's rows (closure.py): (:Reach {ancestor, depth, rank, since, until})-[:REACHES]->
# (descendant). A row is a node of its own, not a relationship from the ancestor: making
# a relationship locks both its ends, so every write below a company would lock each of
# its ancestors too, in an order no statement chooses.
REACHES = "REACHES"


def rank(depth: int, descendant_id: str = "") -> str:
    """A row's place in the order of a subtree's pages, (depth, id), as text that sorts so
    while depths have two digits; without an id, where that depth's rows begin."""
    if not 0 <= depth < 100:
        raise ValueError(f"closure ranks hold depths below 100, not {depth}")
    return f"{depth:02d}{descendant_id}"


def rank_of(depth: str, descendant_id: str) -> str:
    """`rank` as a Cypher expression of two others: the rank a row of that depth into that
    descendant holds, which the ranked index then finds by a seek."""
    return f"right('0' + toString({depth}), 2) + {descendant_id}"


def depth_in(rank: str) -> str:
    """The depth a rank (a Cypher expression) holds: from the ranked index, where the
    row's own `depth` is a property read."""
    return f"toInteger(left({rank}, 2))"


def id_in(rank: str) -> str:
    """The descendant's id a rank (a Cypher expression) holds, from the ranked index."""
    return f"substring({rank}, 2)"


def held(ids: str, column: str) -> str:
    """A subquery: the closure rows into each party of list parameter `ids` that a row one
    level below it can extend, as [ancestor, party, depth, since, until] in `column`."""
    return (
        f"CALL () {{ UNWIND ${ids} AS id "
        f"MATCH (:Party {{id: id}})<-[:{REACHES}]-(h:Reach) WHERE h.depth < {DEPTH} "
        "RETURN collect([h.ancestor, id, h.depth, toString(h.since), toString(h.until)]) "
        f"AS {column} }} "
    )


# the columns of `Preparing.calls`
PREPARED = "rows, categories, entered, between, door_rows, open_steps, above"
CATEGORIES = "CALL () { MATCH (c:Category) RETURN collect(properties(c)) AS categories } "
NO_CATEGORIES = "CALL () { RETURN [] AS categories } "


@dataclass(frozen=True)
class Above:
    """The parties above each of `of` in the default hierarchy within `depth` levels as
    of `at`, read from the closure (whose rows go DEPTH levels deep, no further)."""

    of: Sequence[str]
    depth: int
    at: datetime


@dataclass(frozen=True)
class Preparing:
    """A write's locks and reads before it checks (`preparing`): subqueries, and the
    parameters they take. A statement that must take other locks first may carry them
    after its own (closure.survey), which saves the write a round trip."""

    calls: str
    params: dict[str, Any]
    locks: str = ""  # the subquery of `calls` that takes the locks, which leads it

    def read(self, record: Record) -> Prepared:
        found = (category_from_record(c) for c in record["categories"])
        above: dict[str, list[Party]] = {}
        for below, props in record["above"]:
            above.setdefault(below, []).append(party(props))
        return Prepared(
            {p.id: p for p in map(party, record["rows"])},
            {c.id: c for c in found},
            frozenset(record["entered"]),
            [rel(r) for r in record["between"]],
            list(record["door_rows"]),
            list(record["open_steps"]),
            above,
        )

    async def run(self, tx: Tx, locking: bool = True) -> Prepared:
        """In a statement of their own; without `locking`, the reads alone."""
        calls = self.calls if locking else self.calls.removeprefix(self.locks)
        result = await tx.run(f"{KEEP_PLAN}{calls}RETURN {PREPARED}", self.params)
        return self.read(await result.single(strict=True))

    async def run_before(self, tx: Tx, *writes: Write) -> Prepared | None:
        """Locks and reads, then the writes, in one statement that returns what it read
        before writing, but the categories: no party's lock holds them (their writes take
        the vocabulary's), so a read after the locks is no fresher than one before them,
        and they come back empty. None, and nothing run, when the writes take more than
        one statement."""
        statements = _statements(writes)
        if len(statements) != 1:
            return None
        calls, params = statements[0]
        reads = self.calls.replace(CATEGORIES, NO_CATEGORIES)
        result = await tx.run(
            f"{KEEP_PLAN}{reads}{' '.join(calls)} RETURN {PREPARED}", self.params | params
        )
        return self.read(await result.single(strict=True))


def preparing(
    ids: Iterable[str],
    locked: Iterable[str],
    sources: Iterable[str] = (),
    between: Relationship | None = None,
    doors: Iterable[str] = (),
    steps_of: Iterable[str] = (),
    above: Above | None = None,
) -> Preparing:
    """Lock the parties `locked`, then read the parties a write names, the categories,
    which of the `sources` some acyclic edge enters (rules.may_close_cycle), the stored
    edges of `between`'s type and ends, the closure rows of the `doors` (locked too), the
    open process steps of `steps_of` and the parties `above` asks for: one round trip
    where it took seven. The locks come first, so what the statement reads after them is
    current."""
    locks = (
        "CALL () { UNWIND $locked AS id MATCH (p:Party {id: id}) "
        "SET p._lock = true REMOVE p._lock RETURN count(p) AS prepared } "
    )
    return Preparing(
        f"{locks}CALL () {{ UNWIND $ids AS id MATCH (p:Party {{id: id}}) "
        f"RETURN collect({PARTY_MAP}) AS rows }} "
        f"{CATEGORIES}"
        "CALL () { UNWIND $sources AS id MATCH (p:Party {id: id}) "
        f"WHERE EXISTS {{ (p)<-[:{type_expression(ACYCLIC_TYPES)}]-() }} "
        "RETURN collect(id) AS entered } "
        "CALL () { MATCH (:Party {id: $from_id})-[r]->(:Party {id: $to_id}) "
        f"WHERE type(r) = $type RETURN collect({REL_MAP}) AS between }} "
        f"{held('door_ids', 'door_rows')}"
        "CALL () { UNWIND $steps_of AS id MATCH (s:ProcessStep {party_id: id}) "
        "WHERE s.done_at IS NULL WITH s ORDER BY s.seq "
        "RETURN collect([s.party_id, s.body]) AS open_steps } "
        f"CALL () {{ UNWIND $above_of AS id MATCH (:Party {{id: id}})<-[:{REACHES}]-(h:Reach) "
        "WHERE h.depth <= $above_depth AND h.since <= datetime($at) "
        "AND h.until > datetime($at) WITH DISTINCT id, h.ancestor AS ancestor "
        f"MATCH (p:Party {{id: ancestor}}) RETURN collect([id, {PARTY_MAP}]) AS above }} ",
        {
            "ids": sorted(set(ids)),
            "locked": sorted(set(locked)),
            "sources": sorted(set(sources)),
            "from_id": None if between is None else between.from_id,
            "to_id": None if between is None else between.to_id,
            "type": None if between is None else between.type.value,
            "door_ids": sorted(set(doors)),
            "steps_of": sorted(set(steps_of)),
            "above_of": [] if above is None else sorted(set(above.of)),
            "above_depth": None if above is None else above.depth,
            "at": None if above is None else encode(above.at),
        },
        locks,
    )


@dataclass(frozen=True)
class Write:
    """Rows to write and the statement body that writes them, reading them from `$rows`
    and returning nothing."""

    body: str
    rows: list[Any]


WRITE_ROWS = 1_000  # rows per statement: a statement's own working memory stays small
# A write's plan (rows found by unique id, then created) does not change with the graph's
# statistics: while a seed grows the graph, replanning each statement as they drift took
# a tenth of Neo4j's time (JFR).
KEEP_PLAN = "CYPHER replan=skip "


async def write(tx: Tx, *writes: Write) -> None:
    """Run the writes in order, as unit subqueries of as few statements as WRITE_ROWS
    allows: each statement is a round trip, and a single write used to take four."""
    for calls, params in _statements(writes):
        await tx.run(KEEP_PLAN + " ".join(calls), params)


def _statements(writes: Sequence[Write]) -> list[tuple[list[str], dict[str, Any]]]:
    """The writes as the unit subqueries and parameters of each statement `write` runs."""
    pieces = [
        Write(w.body, w.rows[start : start + WRITE_ROWS])
        for w in writes
        for start in range(0, len(w.rows), WRITE_ROWS)
    ]
    statements: list[tuple[list[str], dict[str, Any]]] = []
    calls: list[str] = []
    params: dict[str, Any] = {}
    for piece in pieces:
        if calls and sum(map(len, params.values())) + len(piece.rows) > WRITE_ROWS:
            statements.append((calls, params))
            calls, params = [], {}
        name = f"rows{len(calls)}"
        calls.append(f"CALL () {{ {piece.body.replace('$rows', '$' + name)} }}")
        params[name] = piece.rows
    if calls:
        statements.append((calls, params))
    return statements


async def activities(tx: Tx, ids: Iterable[str], inside: Reach = EVERYWHERE) -> dict[str, Activity]:
    result = await tx.run(
        f"UNWIND $ids AS id MATCH (a:Activity {{id: id}}) WHERE {inside.shows('a')} "
        f"{WITH_SUBJECTS} RETURN collect([{ACTIVITY_MAP}, subjects]) AS rows",
        {"ids": list(set(ids)), **inside.params},
    )
    found = [activity(row, subjects) for row, subjects in await collected(result)]
    return {a.id: a for a in found}


async def relationships_by_id(
    tx: Tx, ids: Iterable[str], inside: Reach = EVERYWHERE
) -> list[Relationship]:
    """Each type's id index in turn: an id alone does not say which type to look in."""
    lookups = " UNION ALL ".join(
        f"MATCH ()-[r:{t.value}]->() WHERE r.id IN $ids RETURN r" for t in RelType
    )
    result = await tx.run(
        f"CALL () {{ {lookups} }} WITH r, startNode(r) AS a, endNode(r) AS b "
        f"WHERE {inside.test('a')} AND {inside.test('b')} RETURN {REL_MAP} AS r",
        {"ids": list(set(ids)), **inside.params},
    )
    return [rel(record["r"]) async for record in result]


def timed(props: str, instants: Iterable[str]) -> str:
    """Map `props` with its `instants` as DateTime, for a new record's one SET: setting the
    text first and each instant after wrote every instant twice, each a change the
    transaction holds until commit."""
    return f"{props} {{.*, " + ", ".join(f"{i}: datetime({props}.{i})" for i in instants) + "}"


def new_parties(created: Sequence[Party], held: bool = True) -> Write:
    """Their create; `held` (a request's) and few, their full-text documents left to the
    flusher (pending.py), which batches them; more than HELD_MOST (an import's batch), or
    a seed's or a dump's, write their own: one reopen of the index for all of them."""
    held = held and len(created) <= pending.HELD_MOST
    labels = [pending.LABEL] if held else []
    return Write(
        "UNWIND $rows AS row WITH row.props AS props, row.labels AS labels "
        "CREATE (p:Party:$(labels)) "
        f"SET p = {timed('props', ('created_at', 'updated_at', 'archived_at'))}",
        [{"props": party_props(p, held), "labels": [LABELS[p.kind], *labels]} for p in created],
    )


def rewritten_parties(changed: Sequence[Party]) -> Write:
    """Their new record, its full-text document written at once: a party still pending
    is pending no more (pending.py)."""
    return Write(
        "UNWIND $rows AS row MATCH (p:Party {id: row.id}) "
        f"SET p = row.props {PARTY_TIMES} REMOVE p:{pending.LABEL}",
        [{"id": p.id, "props": party_props(p)} for p in changed],
    )


def new_relationships(rels: Sequence[Relationship]) -> Write:
    rows = []
    for created in rels:
        props = relationship_record(created, encode)
        del props["from_id"], props["to_id"], props["type"]
        rows.append(
            {
                "from": created.from_id,
                "to": created.to_id,
                "type": created.type.value,
                "props": {k: v for k, v in props.items() if v is not None},
            }
        )
    return Write(
        "UNWIND $rows AS row WITH row, row.props AS props "
        "MATCH (a:Party {id: row.from}), (b:Party {id: row.to}) "
        f"CREATE (a)-[r:$(row.type)]->(b) SET r = {timed('props', ('since', 'until'))}",
        rows,
    )


def ended_relationship(rel: Relationship, until: datetime) -> Write:
    """The stored edge `rel` ended at `until`; its type named in the pattern, so that its
    id is looked up in that type's index alone."""
    return Write(
        f"UNWIND $rows AS row MATCH ()-[r:{rel.type.value} {{id: row.id}}]->() "
        "SET r.until = datetime(row.until)",
        [{"id": rel.id, "until": encode(until)}],
    )


def planned_props(activity: Activity) -> dict[str, Any]:
    """An activity's properties: its record, its span (schedules.span), whose agenda it
    is on (schedules.people), its assignees (task lists) and its words (activity search),
    all written again when the activity changes."""
    start, end = schedules.span(activity)
    props = {k: v for k, v in activity_record(activity, encode).items() if v is not None}
    assigned = list(activity.schedule.assignee_ids) if activity.schedule else []
    return props | {
        "span_start": encode(start),
        "span_end": encode(end),
        "people": schedules.people(activity),
        "assignees": assigned,
        "search": activity_text(activity.summary, activity.body),
    }


# stored times as DateTime values, so that they compare and index as times
ACTIVITY_TIMES = (
    "a.occurred_at = datetime(a.occurred_at), a.span_start = datetime(a.span_start), "
    "a.span_end = datetime(a.span_end)"
)


def new_activities(created: Sequence[Activity]) -> Write:
    return Write(
        "UNWIND $rows AS row WITH row, row.props AS props CREATE (a:Activity) "
        f"SET a = {timed('props', ('occurred_at', 'span_start', 'span_end'))} "
        "WITH a, row UNWIND range(0, size(row.subjects) - 1) AS position "
        "MATCH (p:Party {id: row.subjects[position]}) "
        "CREATE (a)-[:ABOUT {occurred_at: a.occurred_at, position: position}]->(p)",
        [{"props": planned_props(a), "subjects": list(a.subject_ids)} for a in created],
    )
