"""A merge on Neo4j: read what the plan needs under the locks every write of those
parties takes, check, write, in one transaction (merging.py plans it). A relationship
cannot change its ends in Neo4j: a moved edge is deleted and made again, id and all."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from .. import merge_people, merging, rules, schedules, unmerging
from ..errors import Conflict
from ..history import Actor, Change, ChangeKind, changed
from ..identity import Grant
from ..merging import Authors, FieldChoice, MergePlan, Subjects
from ..model import ACYCLIC_TYPES, Party, PartyKind, Relationship, RelType
from ..rules import changed_at
from ..unmerging import UnmergePlan
from . import closure, cypher, history, identity, keys, opportunities, plans, walks
from .cypher import REL_MAP, Tx, type_expression
from .identity import GRANT_MAP, _grant, _held


async def merge(
    tx: Tx,
    survivor_id: str,
    merged_ids: Sequence[str],
    choices: Sequence[FieldChoice],
    at: datetime,
    region: str | None,
    actor: Actor,
    move_grants: bool,
) -> MergePlan:
    members = [survivor_id, *merged_ids]
    await keys.lock(tx)  # the survivor may take the codes of those it absorbs
    await cypher.lock(tx, members)
    await cypher.lock_hierarchy(tx)
    found = rules.found(await cypher.parties(tx, members), members)
    survivor, merged = found[0], found[1:]
    result = await tx.run(
        f"MATCH (p:Party)-[r:{type_expression(RelType)}]-(:Party) WHERE p.id IN $ids "
        f"WITH DISTINCT r RETURN collect({REL_MAP})",
        ids=members,
    )
    edges = [cypher.rel(r) for r in await cypher.collected(result)]
    result = await tx.run(
        "MATCH (p:Party)<-[:ABOUT]-(a:Activity) WHERE p.id IN $ids WITH DISTINCT a "
        "MATCH (a)-[s:ABOUT]->(q:Party) WITH a, q ORDER BY a.id, s.position "
        "RETURN collect([a.id, q.id])",
        ids=list(merged_ids),
    )
    subjects: dict[str, list[str]] = defaultdict(list)
    for activity_id, party_id in await cypher.collected(result):
        subjects[activity_id].append(party_id)
    result = await tx.run(
        "MATCH (g:Grant) WHERE g.user_id IN $ids OR g.scope_id IN $ids "
        f"RETURN collect({GRANT_MAP})",
        ids=members,
    )
    grants = [_grant(g) for g in await cypher.collected(result)]
    result = await tx.run(
        "MATCH (u:User) WHERE u.contact_id IN $ids WITH u ORDER BY u.id "
        "RETURN collect([u.id, u.contact_id])",
        ids=list(merged_ids),
    )
    users = dict(await cypher.collected(result))
    authored: dict[str, tuple[str, str | None]] = {}
    tokens: dict[str, str] = {}
    if survivor.kind is PartyKind.USER:  # what users wrote: no index, so only for them
        result = await tx.run(
            "MATCH (a:Activity) WHERE a.author_id IN $ids OR a.recorded_by_id IN $ids "
            "RETURN collect([a.id, a.author_id, a.recorded_by_id])",
            ids=list(merged_ids),
        )
        authored = {row[0]: (row[1], row[2]) for row in await cypher.collected(result)}
        result = await tx.run(
            "MATCH (t:ApiToken) WHERE t.user_id IN $ids RETURN collect([t.id, t.user_id])",
            ids=list(merged_ids),
        )
        tokens = dict(await cypher.collected(result))
    found_now = merging.Found(
        edges, {a: tuple(s) for a, s in subjects.items()}, grants, users, authored, tokens
    )
    plan = merging.plan(survivor, merged, found_now, choices, at)
    merging.require_grants(plan.grants, move_grants)
    starts, since = merging.cycle_starts(set(members), edges)
    if since is not None:
        above = await walks.acyclic_above(tx, starts, since)
        merging.check_acyclic(set(members), starts, above)
    # first: the codes they held are free for the survivor
    await cypher.write(tx, cypher.rewritten_parties(plan.tombstones))
    plan = replace(plan, survivor=await keys.check_party(tx, plan.survivor, region, survivor))
    await cypher.write(tx, cypher.rewritten_parties([plan.survivor]))
    result = await tx.run(
        "MATCH (a:Activity) WHERE any(p IN a.people WHERE p IN $ids) RETURN collect(a.id)",
        ids=list(merged_ids),
    )
    people = merge_people.renamed(
        (await cypher.activities(tx, await cypher.collected(result))).values(),
        await opportunities.naming(tx, merged_ids),
        merge_people.merged_into(survivor_id, merged_ids),
        at,
    )
    await _repoint(tx, people)  # before authors move: it writes whole activities
    await _move(tx, plan)
    moved = [
        *(b for b, _ in plan.moved),
        *(a for _, a in plan.moved),
        *(e for e, _ in plan.removed),
    ]
    await cypher.write(tx, *await closure.edges_changed(tx, moved, members))
    entries = merging.entries(plan, survivor, merged, actor)
    entries = merge_people.with_people(entries, merged_ids, people)
    users = await cypher.parties(tx, [u for u, _ in plan.contacts])
    entries += await _recontact(tx, users.values(), survivor_id, at, actor, ChangeKind.MERGED)
    await history.append(tx, entries)
    return plan


async def _delete(tx: Tx, edges: Sequence[Relationship]) -> None:
    by_type: dict[RelType, list[str]] = defaultdict(list)
    for edge in edges:
        by_type[edge.type].append(edge.id)
    for rel_type, ids in by_type.items():  # the type from the enum: an indexed look-up
        await tx.run(
            f"UNWIND $ids AS id MATCH ()-[r:{rel_type.value} {{id: id}}]->() DELETE r", ids=ids
        )


async def _move(tx: Tx, plan: MergePlan) -> None:
    await _delete(tx, [*(b for b, _ in plan.moved), *(e for e, _ in plan.removed)])
    await cypher.write(tx, cypher.new_relationships([a for _, a in plan.moved]))
    await _resubject(tx, plan.subjects)
    await _reassign(tx, plan.authors, [(token, plan.survivor.id) for token, _ in plan.tokens])
    for before, after in plan.grants:
        if after is None:
            await tx.run("MATCH (g:Grant {id: $id}) DELETE g", id=before.id)
        else:
            await _regrant(tx, after)


async def _repoint(tx: Tx, people: merge_people.Renamed) -> None:
    """Planned work and deals as a merge or an unmerge names their people."""
    for _, activity in people.planned:
        await plans.rewrite(tx, activity)
    for _, deal in people.deals:
        await opportunities.store(tx, deal)


async def _reassign(tx: Tx, authors: Sequence[Authors], tokens: Sequence[tuple[str, str]]) -> None:
    """Activities' authors and tokens' users, as a merge or an unmerge leaves them."""
    await tx.run(
        "UNWIND $rows AS row MATCH (a:Activity {id: row.id}) "
        "SET a.author_id = row.author, a.recorded_by_id = row.recorder",
        rows=[{"id": a.activity_id, "author": a.after[0], "recorder": a.after[1]} for a in authors],
    )
    await tx.run(
        "UNWIND $rows AS row MATCH (t:ApiToken {id: row[0]}) SET t.user_id = row[1]",
        rows=[list(pair) for pair in tokens],
    )
    # the agendas they are on follow their authors
    found = await cypher.activities(tx, [a.activity_id for a in authors])
    await tx.run(
        "UNWIND $rows AS row MATCH (a:Activity {id: row.id}) SET a.people = row.people",
        rows=[{"id": i, "people": schedules.people(a)} for i, a in found.items()],
    )


async def _regrant(tx: Tx, grant: Grant) -> None:
    await tx.run(
        "MATCH (g:Grant {id: $id}) SET g.user_id = $user, g.scope_id = $scope, g.held = $held",
        id=grant.id,
        user=grant.user_id,
        scope=grant.scope_id,
        held=_held(grant.user_id, grant.role, grant.scope_id, grant.scope_kind),
    )


async def _resubject(tx: Tx, subjects: Sequence[Subjects]) -> None:
    if not subjects:
        return
    await tx.run(
        "UNWIND $rows AS row MATCH (a:Activity {id: row.id})-[s:ABOUT]->() DELETE s",
        rows=[{"id": s.activity_id} for s in subjects],
    )
    await tx.run(
        "UNWIND $rows AS row MATCH (a:Activity {id: row.id}) "
        "UNWIND range(0, size(row.subjects) - 1) AS position "
        "MATCH (p:Party {id: row.subjects[position]}) "
        "CREATE (a)-[:ABOUT {occurred_at: a.occurred_at, position: position}]->(p)",
        rows=[{"id": s.activity_id, "subjects": list(s.after)} for s in subjects],
    )


async def unmerge(
    tx: Tx, party_id: str, at: datetime, actor: Actor, move_grants: bool
) -> UnmergePlan:
    await keys.lock(tx)  # it takes its codes back
    await cypher.lock(tx, [party_id])
    tombstone = rules.found(await cypher.parties(tx, [party_id]), [party_id])[0]
    entry = unmerging.tombstone_entry(tombstone, await history.merges_of(tx, party_id))
    await cypher.lock(tx, [entry.subject_ids[1]])  # the survivor
    await cypher.lock_hierarchy(tx)  # the edges it brings back must not close a cycle
    record = unmerging.merge_record(entry)
    edges = {
        r.id: r
        for r in await cypher.relationships_by_id(tx, [w["id"] for w in record["relationships"][0]])
    }
    result = await tx.run(
        "UNWIND $ids AS id MATCH (a:Activity {id: id})-[s:ABOUT]->(q:Party) "
        "WITH a, q ORDER BY a.id, s.position RETURN collect([a.id, q.id])",
        ids=[was["id"] for was in record["activities"][0]],
    )
    subjects: dict[str, list[str]] = defaultdict(list)
    for activity_id, subject in await cypher.collected(result):
        subjects[activity_id].append(subject)
    result = await tx.run(
        f"MATCH (g:Grant) WHERE g.id IN $ids RETURN collect({GRANT_MAP})",
        ids=[was["id"] for was in record["grants"][0]],
    )
    grants = {g.id: g for g in map(_grant, await cypher.collected(result))}
    result = await tx.run(
        "UNWIND $ids AS id MATCH (a:Activity {id: id}) "
        "RETURN collect([a.id, a.author_id, a.recorded_by_id])",
        ids=[was["id"] for was in record["authored"][0]],
    )
    authored = {row[0]: (row[1], row[2]) for row in await cypher.collected(result)}
    result = await tx.run(
        "UNWIND $ids AS id MATCH (t:ApiToken {id: id}) RETURN collect([t.id, t.user_id])",
        ids=record["tokens"][0],
    )
    tokens = dict(await cypher.collected(result))
    listed = record.get("contacts", ([], None))[0]
    users = await cypher.parties(tx, listed)
    named = unmerging.named(entry) | merge_people.named(record)
    survivors = unmerging.survivors(await _chains(tx, named), party_id)
    planned_ids, deal_ids = merge_people.ids_of(record)
    people = merge_people.restored(
        record,
        await cypher.activities(tx, planned_ids),
        {d.id: d for d in await opportunities.naming(tx, ids=deal_ids)},
        merge_people.unmerged(party_id, survivors),
        at,
    )
    current = unmerging.Current(
        edges,
        {a: tuple(s) for a, s in subjects.items()},
        grants,
        authored,
        tokens,
        {u.id: u.contact_id for u in users.values()},
        survivors,
    )
    plan = unmerging.unplan(tombstone, entry, current, at)
    merging.require_grants(plan.grants, move_grants)
    party = plan.party
    for claim in rules.claims(party, tombstone):  # its codes come back where still free
        try:
            await keys.check_claims(tx, [claim])
        except Conflict:
            party = unmerging.without_code(party, claim)
    plan = replace(plan, party=party)
    await cypher.write(tx, cypher.rewritten_parties([plan.party]))
    await _delete(tx, [now for now, _ in plan.edges if now is not None])
    await cypher.write(tx, cypher.new_relationships([back for _, back in plan.edges]))
    for _, back in plan.edges:  # what comes back must not close a cycle made since
        if back.type in ACYCLIC_TYPES and await walks.reaches(
            tx, back.to_id, back.from_id, back.since
        ):
            raise rules.cycle(back)
    changed = [e for pair in plan.edges for e in pair if e is not None]
    await cypher.write(tx, *await closure.edges_changed(tx, changed, [party_id, plan.survivor_id]))
    await _repoint(tx, people)
    await _resubject(tx, plan.subjects)
    await _reassign(tx, plan.authors, [(token, plan.party.id) for token in plan.tokens])
    for held, back_grant in plan.grants:
        if held is None:
            await identity.add_grant(tx, back_grant)
        else:
            await _regrant(tx, back_grant)
    users = await cypher.parties(tx, plan.contacts)
    entries = await _recontact(tx, users.values(), party_id, at, actor, ChangeKind.UNMERGED)
    undone = merge_people.recorded(unmerging.unmerge_entry(plan, tombstone, actor), people)
    await history.append(tx, [undone, *entries])
    return plan


async def _recontact(
    tx: Tx, users: Iterable[Party], contact_id: str, at: datetime, actor: Actor, kind: ChangeKind
) -> list[Change]:
    """Users whose contact a merge or unmerge moved, rewritten, with their entries."""
    made = []
    for user in users:
        now = replace(
            user, contact_id=contact_id, version=user.version + 1, updated_at=changed_at(user, at)
        )
        await cypher.write(tx, cypher.rewritten_parties([now]))
        made.append(changed(user, now, actor, kind, [contact_id]))
    return made


async def _chains(tx: Tx, ids: set[str]) -> dict[str, str | None]:
    """Where each party, and each party it was merged into, was merged into, if anywhere."""
    found: dict[str, str | None] = {}
    for _ in range(merging.MAX_HOPS + 1):
        if not ids:
            break
        parties = await cypher.parties(tx, ids)
        found |= {p.id: p.merged_into for p in parties.values()}
        ids = {p.merged_into for p in parties.values() if p.merged_into} - found.keys()
    return found


async def merged_from(tx: Tx, party_ids: Sequence[str]) -> dict[str, list[str]]:
    result = await tx.run(
        "UNWIND $ids AS id MATCH (p:Party {merged_into: id}) WITH id, p ORDER BY p.id "
        "RETURN collect([id, p.id])",
        ids=list(party_ids),
    )
    found: dict[str, list[str]] = defaultdict(list)
    for survivor, merged in await cypher.collected(result):
        found[survivor].append(merged)
    return found
