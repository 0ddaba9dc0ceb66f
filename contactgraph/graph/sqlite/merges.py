"""A merge on the embedded store: read what the plan needs, check, write, in the writer's
one transaction (merging.py plans it)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from .. import merge_people, merging, rules, unmerging
from ..errors import Conflict
from ..history import Actor, Change, ChangeKind, changed
from ..merging import Authors, FieldChoice, MergePlan, Subjects
from ..model import ACYCLIC_TYPES, Party, PartyKind
from ..rules import changed_at
from ..times import format_instant
from ..unmerging import UnmergePlan
from . import closure, history, identity, keys, opportunities, plans, records, walks
from .identity import _grant
from .records import IN_LIST, bound_list
from .rows import MERGED_INTO, REL_COLUMNS, relationship_from_row, relationship_params


def merge(
    conn: sqlite3.Connection,
    survivor_id: str,
    merged_ids: Sequence[str],
    choices: Sequence[FieldChoice],
    at: datetime,
    region: str | None,
    actor: Actor,
    move_grants: bool,
) -> MergePlan:
    members = [survivor_id, *merged_ids]
    found = rules.found(records.parties_by_id(conn, members), members)
    survivor, merged = found[0], found[1:]
    every = (bound_list(members),) * 2
    edges = [
        relationship_from_row(row)
        for row in conn.execute(
            f"SELECT {REL_COLUMNS} FROM relationships WHERE from_id {IN_LIST} OR to_id {IN_LIST}",
            every,
        )
    ]
    subjects: dict[str, list[str]] = defaultdict(list)
    for activity_id, party_id in conn.execute(
        "SELECT activity_id, party_id FROM activity_subjects WHERE activity_id IN "
        f"(SELECT activity_id FROM activity_subjects WHERE party_id {IN_LIST}) "
        "ORDER BY activity_id, position",
        (bound_list(merged_ids),),
    ):
        subjects[activity_id].append(party_id)
    grants = [
        _grant(row)
        for row in conn.execute(
            f"SELECT * FROM grants WHERE user_id {IN_LIST} OR scope_id {IN_LIST}", every
        )
    ]
    users = dict(
        conn.execute(
            f"SELECT id, contact_id FROM parties WHERE contact_id {IN_LIST} ORDER BY id",
            (bound_list(merged_ids),),
        ).fetchall()
    )
    authored: dict[str, tuple[str, str | None]] = {}
    tokens: dict[str, str] = {}
    if survivor.kind is PartyKind.USER:  # what users wrote: no index, so only for them
        rows = conn.execute(
            "SELECT id, author_id, recorded_by_id FROM activities "
            f"WHERE author_id {IN_LIST} OR recorded_by_id {IN_LIST}",
            (bound_list(merged_ids),) * 2,
        )
        authored = {row[0]: (row[1], row[2]) for row in rows}
        tokens = dict(
            conn.execute(
                f"SELECT id, user_id FROM api_tokens WHERE user_id {IN_LIST}",
                (bound_list(merged_ids),),
            ).fetchall()
        )
    found_now = merging.Found(
        edges, {a: tuple(s) for a, s in subjects.items()}, grants, users, authored, tokens
    )
    plan = merging.plan(survivor, merged, found_now, choices, at)
    merging.require_grants(plan.grants, move_grants)
    starts, since = merging.cycle_starts(set(members), edges)
    if since is not None:
        above = walks.acyclic_above(conn, starts, since)
        merging.check_acyclic(set(members), starts, above)
    for tombstone in plan.tombstones:  # first: the codes they held are free for the survivor
        records.rewrite_party(conn, tombstone)
    plan = replace(plan, survivor=records.check_party(conn, plan.survivor, region, survivor))
    records.rewrite_party(conn, plan.survivor)
    planned = conn.execute(
        f"SELECT DISTINCT activity_id FROM activity_people WHERE party_id {IN_LIST}",
        (bound_list(merged_ids),),
    )
    people = merge_people.renamed(
        records.activities_by_id(conn, [row[0] for row in planned]).values(),
        opportunities.naming(conn, merged_ids),
        merge_people.merged_into(survivor_id, merged_ids),
        at,
    )
    _repoint(conn, people)  # before authors move: it writes whole activities
    _move(conn, plan)
    entries = merging.entries(plan, survivor, merged, actor)
    entries = merge_people.with_people(entries, merged_ids, people)
    users = records.parties_by_id(conn, [u for u, _ in plan.contacts])
    entries += _recontact(conn, users.values(), survivor_id, at, actor, ChangeKind.MERGED)
    history.append(conn, entries)
    return plan


def _move(conn: sqlite3.Connection, plan: MergePlan) -> None:
    conn.executemany(
        "UPDATE relationships SET from_id = ?, to_id = ?, until = ? WHERE id = ?",
        [
            (a.from_id, a.to_id, None if a.until is None else format_instant(a.until), a.id)
            for _, a in plan.moved
        ],
    )
    conn.executemany("DELETE FROM relationships WHERE id = ?", [(e.id,) for e, _ in plan.removed])
    closure.edges_changed(
        conn,
        [*(b for b, _ in plan.moved), *(a for _, a in plan.moved), *(e for e, _ in plan.removed)],
    )
    for renamed in plan.subjects:
        conn.execute("DELETE FROM activity_subjects WHERE activity_id = ?", (renamed.activity_id,))
        conn.executemany(
            "INSERT INTO activity_subjects (party_id, occurred_at, activity_id, type, position) "
            "SELECT ?, occurred_at, id, type, ? FROM activities WHERE id = ?",
            [
                (party, position, renamed.activity_id)
                for position, party in enumerate(renamed.after)
            ],
        )
    _reassign(conn, plan.authors, [(token, plan.survivor.id) for token, _ in plan.tokens])
    for before, after in plan.grants:
        if after is None:
            conn.execute("DELETE FROM grants WHERE id = ?", (before.id,))
        else:
            conn.execute(
                "UPDATE grants SET user_id = ?, scope_id = ? WHERE id = ?",
                (after.user_id, after.scope_id, after.id),
            )


def _repoint(conn: sqlite3.Connection, people: merge_people.Renamed) -> None:
    """Planned work and deals as a merge or an unmerge names their people."""
    for _, activity in people.planned:
        plans.rewrite(conn, activity)
    for _, deal in people.deals:
        opportunities.upsert(conn, deal)


def _reassign(
    conn: sqlite3.Connection, authors: Sequence[Authors], tokens: Sequence[tuple[str, str]]
) -> None:
    """Activities' authors and tokens' users, as a merge or an unmerge leaves them."""
    conn.executemany(
        "UPDATE activities SET author_id = ?, recorded_by_id = ? WHERE id = ?",
        [(*a.after, a.activity_id) for a in authors],
    )
    conn.executemany("UPDATE api_tokens SET user_id = ? WHERE id = ?", [(u, t) for t, u in tokens])
    # the agendas they are on follow their authors
    ids = [a.activity_id for a in authors]
    conn.execute(f"DELETE FROM activity_people WHERE activity_id {IN_LIST}", (bound_list(ids),))
    records.insert_people(conn, list(records.activities_by_id(conn, ids).values()))


def _resubject(conn: sqlite3.Connection, subjects: Sequence[Subjects]) -> None:
    for renamed in subjects:
        conn.execute("DELETE FROM activity_subjects WHERE activity_id = ?", (renamed.activity_id,))
        conn.executemany(
            "INSERT INTO activity_subjects (party_id, occurred_at, activity_id, type, position) "
            "SELECT ?, occurred_at, id, type, ? FROM activities WHERE id = ?",
            [(party, at, renamed.activity_id) for at, party in enumerate(renamed.after)],
        )


def unmerge(
    conn: sqlite3.Connection, party_id: str, at: datetime, actor: Actor, move_grants: bool
) -> UnmergePlan:
    tombstone = records.party_by_id(conn, party_id)
    entry = unmerging.tombstone_entry(tombstone, history.merges_of(conn, party_id))
    record = unmerging.merge_record(entry)
    rel_ids = [was["id"] for was in record["relationships"][0]]
    edges = {
        rel.id: rel
        for rel in map(
            relationship_from_row,
            conn.execute(
                f"SELECT {REL_COLUMNS} FROM relationships WHERE id {IN_LIST}",
                (bound_list(rel_ids),),
            ),
        )
    }
    subjects: dict[str, list[str]] = defaultdict(list)
    for activity_id, subject in conn.execute(
        f"SELECT activity_id, party_id FROM activity_subjects WHERE activity_id {IN_LIST} "
        "ORDER BY activity_id, position",
        (bound_list(was["id"] for was in record["activities"][0]),),
    ):
        subjects[activity_id].append(subject)
    grants = {
        g.id: g
        for g in map(
            _grant,
            conn.execute(
                f"SELECT * FROM grants WHERE id {IN_LIST}",
                (bound_list(was["id"] for was in record["grants"][0]),),
            ),
        )
    }
    authored = {
        row[0]: (row[1], row[2])
        for row in conn.execute(
            f"SELECT id, author_id, recorded_by_id FROM activities WHERE id {IN_LIST}",
            (bound_list(was["id"] for was in record["authored"][0]),),
        )
    }
    tokens = dict(
        conn.execute(
            f"SELECT id, user_id FROM api_tokens WHERE id {IN_LIST}",
            (bound_list(record["tokens"][0]),),
        ).fetchall()
    )
    listed = record.get("contacts", ([], None))[0]
    named = unmerging.named(entry) | merge_people.named(record)
    survivors = unmerging.survivors(_chains(conn, named), party_id)
    planned_ids, deal_ids = merge_people.ids_of(record)
    people = merge_people.restored(
        record,
        records.activities_by_id(conn, planned_ids),
        {d.id: d for d in opportunities.naming(conn, ids=deal_ids)},
        merge_people.unmerged(party_id, survivors),
        at,
    )
    current = unmerging.Current(
        edges,
        {a: tuple(s) for a, s in subjects.items()},
        grants,
        authored,
        tokens,
        {u.id: u.contact_id for u in records.parties_by_id(conn, listed).values()},
        survivors,
    )
    plan = unmerging.unplan(tombstone, entry, current, at)
    merging.require_grants(plan.grants, move_grants)
    party = plan.party
    for claim in rules.claims(party, tombstone):  # its codes come back where still free
        try:
            keys.check_claims(conn, [claim])
        except Conflict:
            party = unmerging.without_code(party, claim)
    plan = replace(plan, party=party)
    records.rewrite_party(conn, plan.party)
    for now, back in plan.edges:
        if now is None:
            conn.execute(records.INSERT_REL, relationship_params(back))
        else:
            conn.execute(
                "UPDATE relationships SET from_id = ?, to_id = ?, since = ?, until = ? "
                "WHERE id = ?",
                (
                    back.from_id,
                    back.to_id,
                    format_instant(back.since),
                    None if back.until is None else format_instant(back.until),
                    back.id,
                ),
            )
    for _, back in plan.edges:  # what comes back must not close a cycle made since
        if back.type in ACYCLIC_TYPES and walks.reaches(conn, back.to_id, back.from_id, back.since):
            raise rules.cycle(back)
    closure.edges_changed(conn, [e for pair in plan.edges for e in pair if e is not None])
    _repoint(conn, people)
    _resubject(conn, plan.subjects)
    _reassign(conn, plan.authors, [(token, plan.party.id) for token in plan.tokens])
    for held, back_grant in plan.grants:
        if held is None:
            identity.add_grant(conn, back_grant)
        else:
            conn.execute(
                "UPDATE grants SET user_id = ?, scope_id = ? WHERE id = ?",
                (back_grant.user_id, back_grant.scope_id, back_grant.id),
            )
    users = records.parties_by_id(conn, plan.contacts)
    entries = _recontact(conn, users.values(), party_id, at, actor, ChangeKind.UNMERGED)
    undone = merge_people.recorded(unmerging.unmerge_entry(plan, tombstone, actor), people)
    history.append(conn, [undone, *entries])
    return plan


def _recontact(
    conn: sqlite3.Connection,
    users: Iterable[Party],
    contact_id: str,
    at: datetime,
    actor: Actor,
    kind: ChangeKind,
) -> list[Change]:
    """Users whose contact a merge or unmerge moved, rewritten, with their entries."""
    made = []
    for user in users:
        now = replace(
            user, contact_id=contact_id, version=user.version + 1, updated_at=changed_at(user, at)
        )
        records.rewrite_party(conn, now)
        made.append(changed(user, now, actor, kind, [contact_id]))
    return made


def _chains(conn: sqlite3.Connection, ids: set[str]) -> dict[str, str | None]:
    """Where each party, and each party it was merged into, was merged into, if anywhere."""
    found: dict[str, str | None] = {}
    for _ in range(merging.MAX_HOPS + 1):
        if not ids:
            break
        parties = records.parties_by_id(conn, ids)
        found |= {p.id: p.merged_into for p in parties.values()}
        ids = {p.merged_into for p in parties.values() if p.merged_into} - found.keys()
    return found


def merged_from(conn: sqlite3.Connection, party_ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for survivor, merged in conn.execute(
        f"SELECT {MERGED_INTO}, id FROM parties WHERE {MERGED_INTO} {IN_LIST} ORDER BY id",
        (bound_list(party_ids),),
    ):
        found[survivor].append(merged)
    return found
