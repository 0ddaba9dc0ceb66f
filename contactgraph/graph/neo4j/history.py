"""The change history on Neo4j: a :Change node per entry, appended in the write's own
transaction, indexed by the record it is about (`subject_id`, its first subject), and
a :Mention node for each further subject (the parties a link or an activity touches),
so a node's history is two index ranges merged, whatever the node is. Times are the
fixed-width UTC text of times.format_instant, which sorts as it compares: no
conversion on the way in or out. A seed writes
an entry for each record: a Mention node only where one is needed keeps that within
the transaction memory a batch may use. No statement sets or deletes either label
after creating it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..cursors import decode_cursor
from ..history import AuditQuery, Change, ChangeKind, ChangePage, snapshot
from ..merging import MAX_HOPS
from ..model import Page, Party
from . import cypher
from .cypher import Tx, decode, encode

SCHEMA: tuple[str, ...] = (
    # entry ids are server-made UUIDv7s, never looked up: no uniqueness index to keep
    "DROP CONSTRAINT change_id IF EXISTS",
    # (at) alone: (at, id) serves every read of it, and a seed wrote 7 entries a party
    "DROP INDEX change_time IF EXISTS",
    # a dump's and the audit's order, (at, id): a seed writes thousands at one instant
    "CREATE INDEX change_order IF NOT EXISTS FOR (c:Change) ON (c.at, c.id)",
    "CREATE INDEX change_subject IF NOT EXISTS FOR (c:Change) ON (c.subject_id, c.at)",
    "CREATE INDEX change_actor IF NOT EXISTS FOR (c:Change) ON (c.actor_id, c.at)",
    "CREATE INDEX change_party IF NOT EXISTS FOR (c:Change) ON (c.party_id, c.at)",
    "CREATE INDEX mention_subject IF NOT EXISTS FOR (m:Mention) ON (m.subject_id, m.at)",
)

MAP = "c {.id, .at, .kind, .actor_id, .request_id, .subject_id, .others, .fields, .version}"
_KINDS = {member.value: member for member in ChangeKind}
# a seed writes an entry per record in one transaction, held in Neo4j's memory until it
# commits: properties with nothing to say (no other subjects, no fields) are left out


def new_entries(changes: Iterable[Change]) -> cypher.Write:
    rows = [
        {
            "id": change.id,
            "at": encode(change.at),
            "kind": change.kind.value,
            "actor_id": change.actor_id,
            "request_id": change.request_id,
            "subject_id": change.subject_ids[0],
            "others": list(change.subject_ids[1:]) or None,
            "mentions": [m for m in change.mentions if m not in change.subject_ids],
            "fields": change.fields_json() if change.fields else None,
            "party_id": change.party_id,
            "version": change.version,
        }
        for change in changes
    ]
    return cypher.Write(
        "UNWIND $rows AS row CREATE (c:Change) SET c = row {.*, mentions: null} "
        "WITH c, row UNWIND coalesce(c.others, []) + row.mentions AS subject "
        "CREATE (:Mention {subject_id: subject, at: c.at, change_id: c.id})-[:OF]->(c)",
        rows,
    )


async def append(tx: Tx, changes: Iterable[Change]) -> None:
    await cypher.write(tx, new_entries(changes))


def change_of(record: Mapping[str, Any]) -> Change:
    return Change(
        id=record["id"],
        at=decode(record["at"]),
        kind=_KINDS[record["kind"]],
        subject_ids=(record["subject_id"], *(record["others"] or ())),
        actor_id=record["actor_id"],
        request_id=record["request_id"],
        fields=Change.fields_of(record["fields"] or "[]"),
        version=record["version"],
    )


def _cursor(page: Page) -> dict[str, Any]:
    at, id_ = decode_cursor(page.after, 2) if page.after else (None, None)
    return {"after_at": at, "after_id": id_, "limit": page.first + 1}


def _page(records: list[Mapping[str, Any]], page: Page) -> ChangePage:
    return ChangePage([change_of(r) for r in records[: page.first]], len(records) > page.first)


def _before(at: str, id_: str) -> str:
    return f"($after_at IS NULL OR {at} < $after_at OR ({at} = $after_at AND {id_} < $after_id))"


async def _lineages(tx: Tx, subject_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each subject and every party merged into it, however many merges back: a
    survivor's history holds theirs (bounded as node(id) follows merges)."""
    found = {subject: [subject] for subject in subject_ids}
    frontier = [(subject, subject) for subject in subject_ids]  # (whose lineage, id)
    for _ in range(MAX_HOPS):
        result = await tx.run(
            "UNWIND $frontier AS pair MATCH (p:Party {merged_into: pair[1]}) "
            "RETURN collect([pair[0], p.id])",
            frontier=frontier,
        )
        frontier = [(root, merged) for root, merged in await cypher.collected(result)]
        if not frontier:
            break
        for root, merged in frontier:
            found[root].append(merged)
    return found


async def of_subjects(
    tx: Tx, subject_ids: Sequence[str], page: Page, hidden: Iterable[ChangeKind]
) -> dict[str, ChangePage]:
    lineages = await _lineages(tx, list(dict.fromkeys(subject_ids)))
    result = await tx.run(
        "UNWIND $rows AS row CALL (row) { CALL (row) { UNWIND row.lineage AS id "
        f"MATCH (c:Change {{subject_id: id}}) WHERE c.at IS NOT NULL AND {_before('c.at', 'c.id')} "
        "AND NOT c.kind IN $hidden "
        "RETURN c ORDER BY c.at DESC, c.id DESC LIMIT $limit UNION "
        "UNWIND row.lineage AS id "
        "MATCH (m:Mention {subject_id: id}) "
        f"WHERE m.at IS NOT NULL AND {_before('m.at', 'm.change_id')} "
        "MATCH (m)-[:OF]->(c:Change) WHERE NOT c.kind IN $hidden "
        "RETURN c ORDER BY m.at DESC, m.change_id DESC LIMIT $limit } "
        f"WITH DISTINCT c ORDER BY c.at DESC, c.id DESC LIMIT $limit RETURN collect({MAP}) "
        "AS changes } RETURN collect({id: row.id, changes: changes})",
        rows=[{"id": subject, "lineage": lineage} for subject, lineage in lineages.items()],
        hidden=sorted(k.value for k in hidden),
        **_cursor(page),
    )
    return {row["id"]: _page(row["changes"], page) for row in await cypher.collected(result)}


async def audit(tx: Tx, query: AuditQuery, page: Page) -> ChangePage:
    if query.subject_id is None and query.actor_id is not None:  # the (actor_id, at) index
        match = "MATCH (c:Change {actor_id: $actor}) WHERE c.at IS NOT NULL"
    elif query.subject_id is None:  # the (at, id) index
        match = "MATCH (c:Change) WHERE c.at IS NOT NULL AND c.id IS NOT NULL"
    else:
        match = (
            "CALL { MATCH (c:Change {subject_id: $subject}) WHERE c.at IS NOT NULL RETURN c UNION "
            "MATCH (m:Mention {subject_id: $subject})-[:OF]->(c:Change) WHERE m.at IS NOT NULL "
            "RETURN c } WITH c WHERE true"
        )
    result = await tx.run(
        f"{match} AND ($actor IS NULL OR c.actor_id = $actor) "
        "AND ($since IS NULL OR c.at >= $since) "
        f"AND ($until IS NULL OR c.at < $until) AND {_before('c.at', 'c.id')} "
        f"WITH c ORDER BY c.at DESC, c.id DESC LIMIT $limit RETURN collect({MAP})",
        subject=query.subject_id,
        actor=query.actor_id,
        since=None if query.since is None else encode(query.since),
        until=None if query.until is None else encode(query.until),
        **_cursor(page),
    )
    return _page(await cypher.collected(result), page)


async def snapshots(tx: Tx, parties: Mapping[str, Party], as_of: datetime) -> dict[str, Party]:
    """Each party's own fields as they were at `as_of`, for those that existed then."""
    result = await tx.run(
        "UNWIND $ids AS party OPTIONAL MATCH (c:Change {party_id: party}) "
        f"WITH party, collect(CASE WHEN c.at > $at THEN {MAP} END) AS newer, "
        "max(CASE WHEN c.at <= $at THEN c.at END) AS last "
        "RETURN collect([party, newer, last])",
        ids=list(parties),
        at=encode(as_of),
    )
    found: dict[str, Party] = {}
    for party_id, newer, last in await cypher.collected(result):
        at = None if last is None else decode(last)
        past = snapshot(parties[party_id], as_of, [change_of(c) for c in newer], at)
        if past is not None:
            found[party_id] = past
    return found


async def merges_of(tx: Tx, party_id: str) -> list[Change]:
    """The party's MERGED entries, latest first: as survivor and as the one merged."""
    result = await tx.run(
        f"MATCH (c:Change {{party_id: $id, kind: 'MERGED'}}) WHERE c.at IS NOT NULL "
        f"WITH c ORDER BY c.version DESC RETURN collect({MAP})",
        id=party_id,
    )
    return [change_of(c) for c in await cypher.collected(result)]
