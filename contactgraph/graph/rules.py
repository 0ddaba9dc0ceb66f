"""Checks every store runs before it writes, so both backends refuse the same input.

Each function takes the records as they would be stored plus what the store
read about their neighbours, and raises BadUserInput or Conflict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from . import attributes, contactdata, externalids, schedules
from .errors import BadUserInput, Conflict, NotFound
from .levels import Level, check_level, check_part_of
from .model import (
    ACYCLIC_TYPES,
    REL_RULES,
    Activity,
    Batch,
    Category,
    ExternalId,
    ParentEnd,
    Party,
    PartyKind,
    Relationship,
    RelType,
)

_USERNAME = re.compile(r"[A-Za-z0-9._-]{2,64}")


def _require_text(value: str | None, what: str) -> None:
    if value is None or not value.strip():
        raise BadUserInput(f"{what} must not be empty")


def check_party(
    party: Party, category: Category | None, region: str | None = None, before: Party | None = None
) -> Party:
    """Shape rules per kind, contact data, and the category's allowed forms and levels.
    Gives the party to store: its contact and fiscal data in normal form (contactdata.py,
    phone numbers without +country code read in `region` unless the party has a country;
    values `before`, the stored party, holds already are not judged again)."""
    _require_text(party.display_name, "displayName")
    if party.kind is PartyKind.ORGANIZATION:
        _require_text(party.name, "name")
    elif party.kind is PartyKind.CONTACT:
        if not (party.first_name or "").strip() and not (party.last_name or "").strip():
            raise BadUserInput("a contact needs a firstName or a lastName")
    else:
        _require_text(party.username, "username")
        if not _USERNAME.fullmatch(party.username or ""):
            raise BadUserInput("username may hold 2-64 letters, digits, '.', '_' or '-'")
    if party.unit_type is not None and party.kind is not PartyKind.ORGANIZATION:
        raise BadUserInput("only organizations have a unitType")
    for tag in party.tags:
        _require_text(tag, "tag")
    if party.category_id is not None:
        if category is None:
            raise NotFound(f"category {party.category_id} does not exist")
        entering = before is None or before.category_id != party.category_id
        if category.archived_at is not None and entering:
            raise BadUserInput(f"category {category.name!r} is archived: no party may enter it")
        if category.kinds and party.kind not in category.kinds:
            allowed = ", ".join(k.value for k in category.kinds)
            raise BadUserInput(f"category {category.name!r} allows party kinds {allowed}")
        if category.legal_forms and party.legal_form not in category.legal_forms:
            allowed = ", ".join(f.value for f in category.legal_forms)
            raise BadUserInput(f"category {category.name!r} allows legal forms {allowed}")
        unit = party.unit_type
        if unit is not None and category.unit_types and unit not in category.unit_types:
            allowed = ", ".join(category.unit_types)
            raise BadUserInput(f"category {category.name!r} allows levels {allowed}")
    ids = externalids.normalised(party.external_ids)
    if ids != party.external_ids:
        party = replace(party, external_ids=ids)
    values = attributes.checked(party, category, region, before)
    if values != party.attributes:
        party = replace(party, attributes=values)
    return contactdata.normalised(party, region, before)


@dataclass(frozen=True)
class Claim:
    """A party taking a code that only one party not archived may hold."""

    party_id: str
    kind: str  # "vat", "tax" or "ext": the key's namespace, as the stores index it
    key: str  # contactdata.Keys: how the code compares
    field: str
    value: str


def claims(party: Party, before: Party | None = None) -> list[Claim]:
    """The unique codes a write makes the party hold: those of a party not archived that
    it did not hold before as a party not archived (all of a new or restored party's)."""
    if party.archived_at is not None:
        return []
    live = before is not None and before.archived_at is None
    found = [
        Claim(party.id, "ext", externalids.token(x), "externalIds", externalids.shown(x))
        for x in party.external_ids
        if not (live and before is not None and x in before.external_ids)
    ]
    if party.fiscal is None:
        return found
    held = contactdata.keys(before) if live and before is not None else None
    mine = contactdata.keys(party)
    for kind, key, field, value in (
        ("vat", mine.vat, "fiscal.vatNumber", party.fiscal.vat_number),
        ("tax", mine.tax, "fiscal.taxCode", party.fiscal.tax_code),
    ):
        if key and value and (held is None or key != (held.vat if kind == "vat" else held.tax)):
            found.append(Claim(party.id, kind, key, field, value))
    return found


def check_claims(
    claims: Sequence[Claim], holders: Iterable[tuple[str, str, str]], quote: bool = True
) -> None:
    """Refuse a code claimed by two parties of a write, or held by another party not
    archived: `holders` are the stored (kind, key, party id) of the claimed keys among
    parties not archived."""
    held: dict[tuple[str, str], str] = {}
    for kind, key, holder in holders:
        held.setdefault((kind, key), holder)
    for claim in claims:
        holder = held.setdefault((claim.kind, claim.key), claim.party_id)
        if holder != claim.party_id:
            # a restore quotes no code: who restores may not read fiscal data, where
            # whoever writes one needs FISCAL and sent it
            code = f" {claim.value}" if quote else ""
            raise Conflict(f"{claim.field}{code} is already held by party {holder}")


_COMMON_FIELDS = frozenset(
    {
        "legal_form",
        "category_id",
        "emails",
        "phones",
        "addresses",
        "fiscal",
        "tags",
        "external_ids",
        "attributes",
    }
)
_KIND_FIELDS = {
    PartyKind.ORGANIZATION: frozenset({"name", "unit_type", "lead_status"}),
    PartyKind.CONTACT: frozenset({"first_name", "last_name", "display_name", "lead_status"}),
    PartyKind.USER: frozenset({"display_name"}),
}


def derived_display_name(party: Party) -> str:
    """An organization is called by its name, a contact by first and last name."""
    if party.kind is PartyKind.ORGANIZATION:
        return party.name or ""
    if party.kind is PartyKind.CONTACT:
        return " ".join(n.strip() for n in (party.first_name, party.last_name) if n and n.strip())
    return party.display_name


def changed_at(current: Party, at: datetime) -> datetime:
    """When a change of `current` is made: `at`, or just after its last change should that
    be later (a request's time is taken before it waits for the party's lock), so a
    party's changes are in time order as in version order, which snapshots rely on."""
    return max(at, current.updated_at + timedelta(microseconds=1))


def apply_changes(current: Party, changes: Mapping[str, object], at: datetime) -> Party:
    """The next version of a party; a derived displayName follows the names it came from.
    Changes that change nothing (none at all, or the values it has) give the party as it
    is: same version, same updatedAt."""
    allowed = _COMMON_FIELDS | _KIND_FIELDS[current.kind]
    for name in changes:
        if name not in allowed:
            camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
            raise BadUserInput(f"{camel} does not apply to a {current.kind.value}")
    if "legal_form" in changes and changes["legal_form"] is None:
        raise BadUserInput("legalForm cannot be null")
    if "attributes" in changes:  # the fields given, over those held; a null removes one
        given: Mapping[str, object] = changes["attributes"]  # type: ignore[assignment]
        merged = {**current.attributes, **given}
        changes = {**changes, "attributes": {k: v for k, v in merged.items() if v is not None}}
    if "external_ids" in changes:  # normal form first: the same ids in another case change nothing
        ids: Iterable[ExternalId] = changes["external_ids"]  # type: ignore[assignment]
        changes = {**changes, "external_ids": externalids.normalised(ids)}
    at = changed_at(current, at)
    updated = replace(current, **changes, version=current.version + 1, updated_at=at)  # type: ignore[arg-type]
    follows = current.kind is PartyKind.ORGANIZATION or (
        current.kind is PartyKind.CONTACT
        and "display_name" not in changes
        and current.display_name == derived_display_name(current)
    )
    if follows:
        updated = replace(updated, display_name=derived_display_name(updated))
    if replace(updated, version=current.version, updated_at=current.updated_at) == current:
        return current
    return updated


def archived(current: Party, at: datetime, archive: bool) -> Party:
    """The party archived at `at`, or restored (archive False); unchanged when it is so."""
    if (current.archived_at is not None) == archive:
        return current
    if current.merged_into is not None:
        raise BadUserInput(
            f"party {current.id} was merged into {current.merged_into}: unmergeParty restores it"
        )
    at = changed_at(current, at)
    when = at if archive else None
    return replace(current, archived_at=when, updated_at=at, version=current.version + 1)


def found(parties: Mapping[str, Party], ids: Iterable[str]) -> list[Party]:
    """The parties for ids, NOT_FOUND naming the first id that is missing."""
    result = []
    for party_id in ids:
        party = parties.get(party_id)
        if party is None:
            raise NotFound(f"party {party_id} does not exist")
        result.append(party)
    return result


def _require_live(party: Party) -> None:
    if party.archived_at is not None:
        raise BadUserInput(f"party {party.id} is archived")


def check_link(rel: Relationship, source: Party, target: Party) -> None:
    """Endpoint kinds per relationship type, exactly DESIGN.md's table."""
    if rel.from_id == rel.to_id:
        raise BadUserInput("a party cannot be linked to itself")
    if rel.until is not None and rel.until <= rel.since:
        raise BadUserInput("until must be later than since")
    _require_live(source)
    _require_live(target)
    rule = REL_RULES[rel.type]
    if source.kind not in rule.from_kinds or target.kind not in rule.to_kinds:
        raise BadUserInput(
            f"{rel.type.value} links {_kinds(rule.from_kinds)} to {_kinds(rule.to_kinds)}, "
            f"not {source.kind.value} to {target.kind.value}"
        )


def cycle(rel: Relationship) -> Conflict:
    """The refusal of an edge whose target already reaches its source."""
    return Conflict(
        f"{rel.type.value} from {rel.from_id} to {rel.to_id} would close a cycle: "
        f"{rel.to_id} already leads to {rel.from_id} over PART_OF, MEMBER_OF, HEIR_OF and "
        "REPORTS_TO"
    )


def check_duplicate(rel: Relationship, current: Iterable[Relationship]) -> None:
    """One open edge per (type, from, to, role): a second one is a duplicate."""
    for other in current:
        if other.until is None and (other.type, other.role) == (rel.type, rel.role):
            raise Conflict(
                f"{rel.type.value} from {rel.from_id} to {rel.to_id} already exists ({other.id})"
            )


def check_activity(activity: Activity, author: Party, subjects: Iterable[Party]) -> None:
    _require_text(activity.summary, "summary")
    if not activity.subject_ids:
        raise BadUserInput("an activity needs at least one subject")
    if len(set(activity.subject_ids)) != len(activity.subject_ids):
        raise BadUserInput("subjectIds must not repeat")
    if author.kind is not PartyKind.USER:
        raise BadUserInput(f"author {author.id} is a {author.kind.value}, not a USER")
    for subject in subjects:
        _require_live(subject)
    schedules.check(activity)


def _check_people(activity: Activity, parties: Mapping[str, Party]) -> None:
    """Assignees are users; attendees users or contacts; none archived."""
    schedule = activity.schedule
    if schedule is None:
        return
    for assignee in found(parties, schedule.assignee_ids):
        if assignee.kind is not PartyKind.USER:
            raise BadUserInput(f"assignee {assignee.id} is a {assignee.kind.value}, not a USER")
        _require_live(assignee)
    for attendee in found(parties, [a.party_id for a in schedule.attendees]):
        if attendee.kind is PartyKind.ORGANIZATION:
            raise BadUserInput(f"attendee {attendee.id} is an ORGANIZATION, not a person")
        _require_live(attendee)


def _kinds(kinds: frozenset[PartyKind]) -> str:
    if kinds == frozenset(PartyKind):
        return "any party"
    return "/".join(sorted(k.value for k in kinds))


def check_activities(activities: Iterable[Activity], parties: Mapping[str, Party]) -> None:
    """Each activity against its author and subjects, looked up in parties."""
    for activity in activities:
        author = found(parties, [activity.author_id])[0]
        check_activity(activity, author, found(parties, activity.subject_ids))
        _check_people(activity, parties)


def check_changed_activity(before: Activity, after: Activity) -> None:
    """A change is made against the stored version (else CONFLICT: changed meanwhile),
    and keeps what an activity is: its author and subjects."""
    if before.version != after.version - 1:
        raise Conflict(
            f"activity {after.id} is at version {before.version}, not {after.version - 1}: "
            "it changed meanwhile; read it again"
        )
    if (before.author_id, before.subject_ids) != (after.author_id, after.subject_ids):
        raise BadUserInput("a change keeps an activity's author and subjects")


def activity_references(activities: Iterable[Activity]) -> set[str]:
    return {i for a in activities for i in (a.author_id, *a.subject_ids, *schedules.references(a))}


def batch_references(batch: Batch) -> set[str]:
    """The party ids a batch points at but does not create: the store reads these first."""
    pointed = {i for r in batch.relationships for i in (r.from_id, r.to_id)}
    pointed |= activity_references(batch.activities)
    return pointed - {p.id for p in batch.parties}


def check_batch(
    batch: Batch,
    categories: Mapping[str, Category],
    stored: Mapping[str, Party],
    region: str | None = None,
    levels: Mapping[str, Level] | None = None,
) -> Batch:
    """Every record of a batch by the rules its single write would meet; the batch to
    store, its parties as check_party gives them (the unique codes are the store's to
    check: claims()). Without `levels`, levels are not checked (a vCard import makes
    none)."""
    parties = [
        check_party(party, categories.get(party.category_id or ""), region)
        for party in batch.parties
    ]
    if levels is not None:
        for party in parties:
            check_level(party, levels)
    known = {**stored, **{p.id: p for p in parties}}
    for rel in batch.relationships:
        source, target = found(known, [rel.from_id, rel.to_id])
        check_link(rel, source, target)
        if levels is not None:
            check_part_of(rel, source, target, levels, categories)
    check_activities(batch.activities, known)
    return replace(batch, parties=parties)


def acyclic_edges(rels: Iterable[Relationship]) -> list[Relationship]:
    """The edges a batch adds to the graph that must stay acyclic."""
    return [rel for rel in rels if rel.type in ACYCLIC_TYPES]


def may_close_cycle(added: Sequence[Relationship], entered: Set[str]) -> list[Relationship]:
    """The acyclic edges a write adds that could close a cycle. A cycle through an edge
    comes back into its source, so an edge from a party no acyclic edge enters, stored
    (not in `entered`, read under the source's lock) or added with it, closes none: a
    new contact joining an organization needs no search and no turn at the hierarchy
    lock. This holds under concurrent writes because every write that adds an edge into
    a stored party either holds that party's lock (links, batches, large ones too) or
    moves an edge that already enters it (merges, unmerges: the far end keeps an edge
    coming in)."""
    targets = {rel.to_id for rel in added}
    return [rel for rel in added if rel.from_id in entered or rel.from_id in targets]


def may_meet_stored(added: Sequence[Relationship], created: Set[str]) -> list[Relationship]:
    """The acyclic edges of a batch that locks none of its sources (a seed) that a cycle
    through stored edges could pass: all of them once one leaves a stored party, none
    while each leaves a party the batch creates. No other write sees those parties before
    the batch commits, so only its own edges enter them, and a cycle through such edges
    lies within the batch (check_batch_acyclic with nothing stored finds it)."""
    return list(added) if any(rel.from_id not in created for rel in added) else []


def check_batch_acyclic(added: Sequence[Relationship], stored: Iterable[tuple[str, str]]) -> None:
    """Refuse a batch whose acyclic edges close a cycle, among themselves or with the
    stored (from, to) edges the store found above their targets (those still valid at or
    after the batch's earliest `since`). Linear in the edges, where one reachability walk
    per added edge would be quadratic on a long chain."""
    pairs = [*((r.from_id, r.to_id) for r in added), *stored]
    on_cycles = _prune(_prune(set(pairs), 0), 1)
    nodes = {node for pair in on_cycles for node in pair}
    for rel in added:
        if rel.from_id in nodes and rel.to_id in nodes:
            raise cycle(rel)


def _prune(edges: set[tuple[str, str]], end: int) -> set[tuple[str, str]]:
    """Kahn's algorithm: drop, again and again, the edges whose `end` node no remaining
    edge reaches that way; what is left lies on a cycle or between cycles."""
    into: dict[str, int] = {}
    leaving: dict[str, list[tuple[str, str]]] = {}
    for pair in edges:
        into[pair[1 - end]] = into.get(pair[1 - end], 0) + 1
        leaving.setdefault(pair[end], []).append(pair)
    ready = [node for node in leaving if not into.get(node)]
    kept = set(edges)
    while ready:
        for pair in leaving.get(ready.pop(), ()):
            kept.discard(pair)
            into[pair[1 - end]] -= 1
            if into[pair[1 - end]] == 0:
                ready.append(pair[1 - end])
    return kept


def walk_directions(
    types: Iterable[RelType], downward: bool
) -> tuple[list[RelType], list[RelType]]:
    """Hierarchy types split by how a walk crosses their edges: (from → to, to → from).

    Down the hierarchy a walk leaves each party by its parent end; up, by its child end.
    """
    forward: list[RelType] = []
    backward: list[RelType] = []
    for rel_type in types:
        parent_end = REL_RULES[rel_type].parent_end
        if parent_end is None:
            raise BadUserInput(f"{rel_type.value} is not a hierarchy relationship")
        (forward if (parent_end is ParentEnd.FROM) == downward else backward).append(rel_type)
    return forward, backward
