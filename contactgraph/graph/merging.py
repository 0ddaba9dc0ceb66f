"""Merging duplicate parties, planned the same for every store.

A merge folds parties that are one real-world party into a survivor: their
relationships are re-pointed to it in place (same ids, same dates, so reading the
past shows the survivor where the duplicate stood), activities name it instead of
them, grants scoped to them reach it. Edges that become one (same type, ends and
role, overlapping dates) collapse into the earliest; an edge between two of the
merged parties would join the survivor to itself and goes. Those are the only edges a
write ever removes, and each is kept whole in the merge's history entry, from which
`unplan` rebuilds what a merged party brought. The merged parties stay as archived
tombstones naming the survivor (`Party.merged_into`).

The survivor takes the merged parties' external ids, all of them: a sync from another
system that still has both records then finds the survivor for either key instead of
creating the duplicate again. A second key of one source is kept beside the first, as
that system may well keep both records (docs/csv-import.md, "Merged parties").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from . import externalids, history, rules
from .errors import BadUserInput, Conflict, Forbidden, LimitExceeded
from .identity import Grant, ScopeKind
from .model import ACYCLIC_TYPES, Party, Relationship, RelType
from .times import format_instant, parse_instant

MAX_MERGED = 20  # parties folded into one survivor by one merge
MAX_HOPS = 16  # how far a merged id is followed to its survivor, through later merges
# the fields a merge may take from a merged party: those updateParty changes
CHOOSABLE = frozenset(
    {
        "name",
        "firstName",
        "lastName",
        "displayName",
        "legalForm",
        "categoryId",
        "unitType",
        "emails",
        "phones",
        "addresses",
        "fiscal",
        "tags",
    }
)


@dataclass(frozen=True)
class FieldChoice:
    field: str  # as GraphQL names it: displayName, emails, fiscal, ...
    from_id: str


@dataclass(frozen=True)
class Subjects:
    activity_id: str
    before: tuple[str, ...]
    after: tuple[str, ...]


class DryRun(Exception):
    """Raised with the plan once a dry run's writes are done and checked, so the store's
    transaction rolls them back and the caller gets exactly what the merge would do."""

    def __init__(self, plan: MergePlan) -> None:
        super().__init__("dry run")
        self.plan = plan


@dataclass(frozen=True)
class Authors:
    activity_id: str
    before: tuple[str, str | None]  # (author, recorded by)
    after: tuple[str, str | None]


@dataclass(frozen=True)
class Found:
    """What a store reads for a merge: every edge touching a party of it, the subjects of
    the merged parties' activities, the grants naming them, the users whose contact is
    one of them, and for merged users the activities they wrote or recorded (author,
    recorded by) and their tokens."""

    edges: Sequence[Relationship]
    subjects: Mapping[str, tuple[str, ...]]
    grants: Sequence[Grant]
    contacts: Mapping[str, str]  # user id: the merged contact it names
    authored: Mapping[str, tuple[str, str | None]]
    tokens: Mapping[str, str]  # token id: its merged user


@dataclass(frozen=True)
class MergePlan:
    survivor: Party  # as it will be
    tombstones: tuple[Party, ...]  # the merged parties as they will be
    moved: tuple[tuple[Relationship, Relationship], ...]  # (before, after), same id
    removed: tuple[tuple[Relationship, str | None], ...]  # (edge, the edge it went into)
    subjects: tuple[Subjects, ...]
    grants: tuple[tuple[Grant, Grant | None], ...]  # (before, after; None: held already)
    contacts: tuple[tuple[str, str], ...]  # (user, merged contact): now the survivor
    authors: tuple[Authors, ...]  # merged users' activities, now the survivor's
    tokens: tuple[tuple[str, str], ...]  # (token, its merged user): now the survivor's


def check_request(survivor_id: str, merged_ids: Sequence[str]) -> None:
    if not merged_ids:
        raise BadUserInput("name at least one party to merge into the survivor")
    if len(merged_ids) > MAX_MERGED:
        raise LimitExceeded(f"a merge folds at most {MAX_MERGED} parties into the survivor")
    if len(set(merged_ids)) != len(merged_ids):
        raise BadUserInput("mergedIds names a party twice")
    if survivor_id in merged_ids:
        raise BadUserInput("the survivor cannot be merged into itself")


def _check_parties(survivor: Party, merged: Sequence[Party]) -> None:
    for party in (survivor, *merged):
        if party.archived_at is not None:
            raise BadUserInput(f"party {party.id} is archived")
        if party.kind is not survivor.kind:
            raise BadUserInput(
                f"party {party.id} is a {party.kind.value}, the survivor a {survivor.kind.value}:"
                " only parties of one kind merge"
            )


def _chosen(
    survivor: Party, merged: Sequence[Party], choices: Iterable[FieldChoice]
) -> dict[str, Any]:
    """The survivor's fields to take from the merged parties."""
    by_id = {p.id: p for p in (survivor, *merged)}
    changes: dict[str, Any] = {}
    for choice in choices:
        source = by_id.get(choice.from_id)
        if source is None:
            raise BadUserInput(f"fieldChoices: {choice.from_id} is not a party of this merge")
        if choice.field not in CHOOSABLE:
            raise BadUserInput(f"fieldChoices: {choice.field} is not a field a merge chooses")
        value = history.party_fields(source)[choice.field]
        name, value = history.read_back(choice.field, value)
        changes[name] = value
    return changes


def _taken_ids(survivor: Party, merged: Sequence[Party]) -> dict[str, Any]:
    """The change giving the survivor every external id of the merged parties, if any."""
    held = tuple(dict.fromkeys(x for p in (survivor, *merged) for x in p.external_ids))
    if held == survivor.external_ids:
        return {}
    if len(held) > externalids.MAX_IDS:
        raise LimitExceeded(
            f"merged, the survivor would hold {len(held)} external ids, more than "
            f"{externalids.MAX_IDS}: remove some from the parties first"
        )
    return {"external_ids": held}


def _windows_touch(a: Relationship, b: Relationship) -> bool:
    """b starts before a ends (a.since <= b.since)."""
    return a.until is None or b.since <= a.until


def _repointed(
    edges: Iterable[Relationship], survivor_id: str, merged: set[str]
) -> tuple[list[tuple[Relationship, Relationship]], list[tuple[Relationship, str | None]]]:
    moved: dict[str, tuple[Relationship, Relationship]] = {}
    removed: list[tuple[Relationship, str | None]] = []
    after: dict[str, Relationship] = {}
    for edge in edges:
        ends = [survivor_id if end in merged else end for end in (edge.from_id, edge.to_id)]
        changed = replace(edge, from_id=ends[0], to_id=ends[1])
        if changed == edge:
            after[edge.id] = edge
        elif ends[0] == ends[1]:
            removed.append((edge, None))
        else:
            moved[edge.id] = (edge, changed)
            after[edge.id] = changed
    groups: dict[tuple[RelType, str, str, str | None], list[Relationship]] = defaultdict(list)
    for edge in after.values():
        groups[(edge.type, edge.from_id, edge.to_id, edge.role)].append(edge)
    for group in groups.values():
        if len(group) < 2 or not any(e.id in moved for e in group):
            continue
        group.sort(key=lambda e: (e.since, e.id))
        kept = group[0]
        for edge in group[1:]:
            if not _windows_touch(kept, edge):
                kept = edge
                continue
            untils = (kept.until, edge.until)
            until = None if None in untils else max(u for u in untils if u is not None)
            removed.append((moved[edge.id][0] if edge.id in moved else edge, kept.id))
            moved.pop(edge.id, None)
            widened = replace(kept, until=until)
            original = moved[kept.id][0] if kept.id in moved else kept
            if widened != original:
                moved[kept.id] = (original, widened)
            kept = widened
    return list(moved.values()), removed


def plan(
    survivor: Party,
    merged: Sequence[Party],
    found: Found,
    choices: Iterable[FieldChoice],
    at: datetime,
) -> MergePlan:
    """What merging `merged` into `survivor` changes, given what the store `found`."""
    _check_parties(survivor, merged)
    gone = {p.id for p in merged}

    def _to(party_id: str) -> str:
        return survivor.id if party_id in gone else party_id

    changes = _chosen(survivor, merged, choices) | _taken_ids(survivor, merged)
    changed = rules.apply_changes(survivor, changes, at)
    if changed is survivor:
        changed = replace(
            survivor, version=survivor.version + 1, updated_at=rules.changed_at(survivor, at)
        )
    tombstones = tuple(
        replace(
            p,
            archived_at=rules.changed_at(p, at),
            updated_at=rules.changed_at(p, at),
            version=p.version + 1,
            merged_into=survivor.id,
        )
        for p in merged
    )
    moved, removed = _repointed({e.id: e for e in found.edges}.values(), survivor.id, gone)
    renamed = []
    for activity_id, before in found.subjects.items():
        after = tuple(dict.fromkeys(survivor.id if s in gone else s for s in before))
        if after != before:
            renamed.append(Subjects(activity_id, before, after))
    held: set[tuple[str, str, str | None, ScopeKind]] = set()
    moved_grants: list[tuple[Grant, Grant | None]] = []
    ordered = sorted(found.grants, key=lambda g: (g.user_id in gone or g.scope_id in gone, g.id))
    for grant in ordered:
        repointed = replace(
            grant,
            user_id=survivor.id if grant.user_id in gone else grant.user_id,
            scope_id=survivor.id if grant.scope_id in gone else grant.scope_id,
        )
        key = (repointed.user_id, repointed.role, repointed.scope_id, repointed.scope_kind)
        if repointed != grant:
            moved_grants.append((grant, None if key in held else repointed))
        held.add(key)
    return MergePlan(
        changed,
        tombstones,
        tuple(moved),
        tuple(removed),
        tuple(renamed),
        tuple(moved_grants),
        tuple(found.contacts.items()),
        tuple(
            Authors(
                activity_id, before, (_to(before[0]), None if before[1] is None else _to(before[1]))
            )
            for activity_id, before in found.authored.items()
        ),
        tuple(found.tokens.items()),
    )


def require_grants(moved: Sequence[object], allowed: bool) -> None:
    """Moving grants changes who may do what: a merge or unmerge that would is for admins."""
    if moved and not allowed:
        raise Forbidden(
            "this moves roles granted on these parties, which needs the ADMIN permission"
        )


def cycle_starts(
    members: set[str], edges: Iterable[Relationship]
) -> tuple[list[str], datetime | None]:
    """Where to look for a cycle the merge would close: the parties the members' acyclic
    edges lead to outside them, and the earliest `since` of those edges (None: none)."""
    out = [e for e in edges if e.type in ACYCLIC_TYPES and e.from_id in members]
    starts = [e.to_id for e in out if e.to_id not in members]
    return starts, min((e.since for e in out), default=None)


def check_acyclic(
    members: set[str], starts: Sequence[str], above: Iterable[tuple[str, str]]
) -> None:
    """Merged into one, the members close a cycle when one leads to another over the
    acyclic types through parties outside: what the stored edges `above` the starts
    reach back into the members."""
    reached = set(starts) | {to for _, to in above}
    back = sorted(reached & members)
    if back:
        raise Conflict(
            f"merging would close a cycle: {back[0]} is above another party of the merge over "
            "PART_OF, MEMBER_OF, HEIR_OF and REPORTS_TO"
        )


# -- the history of a merge, and undoing one party's part -----------------------------


def rel_json(rel: Relationship) -> dict[str, Any]:
    return {
        "id": rel.id,
        "type": rel.type.value,
        "fromId": rel.from_id,
        "toId": rel.to_id,
        "role": rel.role,
        "since": format_instant(rel.since),
        "until": None if rel.until is None else format_instant(rel.until),
        "properties": rel.properties,
    }


def rel_of(value: Mapping[str, Any]) -> Relationship:
    return Relationship(
        id=value["id"],
        type=RelType(value["type"]),
        from_id=value["fromId"],
        to_id=value["toId"],
        role=value["role"],
        since=parse_instant(value["since"]),
        until=None if value["until"] is None else parse_instant(value["until"]),
        properties=value["properties"],
    )


def entries(
    plan: MergePlan, survivor: Party, merged: Sequence[Party], actor: history.Actor
) -> list[history.Change]:
    """The merge in the history of every party in it: the survivor's field changes, and
    for each merged party what it brought, in full, for unmerge."""
    kind = history.ChangeKind.MERGED
    gone = [p.id for p in merged]
    made = [history.changed(survivor, plan.survivor, actor, kind, gone)]
    for before, after in zip(merged, plan.tombstones, strict=True):
        moved, removed = _brought(plan, before.id)
        renamed = [s for s in plan.subjects if before.id in s.before]
        grants = [(b, a) for b, a in plan.grants if before.id in (b.user_id, b.scope_id)]
        authored = [a for a in plan.authors if before.id in a.before]
        more = [
            history.FieldChange(
                "relationships",
                [rel_json(b) for b, _ in moved] + [rel_json(e) for e, _ in removed],
                [rel_json(a) for _, a in moved] + [into for _, into in removed],
            ),
            history.FieldChange(
                "activities",
                [{"id": s.activity_id, "subjectIds": list(s.before)} for s in renamed],
                [{"id": s.activity_id, "subjectIds": list(s.after)} for s in renamed],
            ),
            history.FieldChange(
                "grants",
                [grant_json(b) for b, _ in grants],
                [None if a is None else grant_json(a) for _, a in grants],
            ),
            history.FieldChange(
                "authored",
                [{"id": a.activity_id, "by": list(a.before)} for a in authored],
                [{"id": a.activity_id, "by": list(a.after)} for a in authored],
            ),
            history.FieldChange(
                "tokens", [token for token, user in plan.tokens if user == before.id], None
            ),
            history.FieldChange(
                "contacts", [u for u, contact in plan.contacts if contact == before.id], None
            ),
        ]
        touched = [
            *(b.id for b, _ in moved),
            *(e.id for e, _ in removed),
            *(s.activity_id for s in renamed),
            *(a.activity_id for a in authored),
        ]
        made.append(history.changed(before, after, actor, kind, [survivor.id], more, touched))
    return made


def _brought(
    plan: MergePlan, party_id: str
) -> tuple[list[tuple[Relationship, Relationship]], list[tuple[Relationship, str | None]]]:
    """The edge changes that unmerging `party_id` undoes: those of its edges, and of the
    survivor's edges that collapsed into one of its own or took one of its own in."""

    def touches(edge: Relationship) -> bool:
        return party_id in (edge.from_id, edge.to_id)

    own_moved = {b.id for b, _ in plan.moved if touches(b)}
    own_removed = {e.id for e, _ in plan.removed if touches(e)}
    into_own = {kept for e, kept in plan.removed if e.id in own_removed and kept}
    moved = [(b, a) for b, a in plan.moved if b.id in own_moved or b.id in into_own]
    removed = [(e, kept) for e, kept in plan.removed if e.id in own_removed or kept in own_moved]
    return moved, removed


def grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "userId": grant.user_id,
        "role": grant.role,
        "scopeId": grant.scope_id,
        "scopeKind": grant.scope_kind.value,
        "grantedAt": format_instant(grant.granted_at),
    }


def grant_of(value: Mapping[str, Any]) -> Grant:
    return Grant(
        id=value["id"],
        user_id=value["userId"],
        role=value["role"],
        granted_at=parse_instant(value["grantedAt"]),
        scope_id=value["scopeId"],
        scope_kind=ScopeKind(value["scopeKind"]),
    )
