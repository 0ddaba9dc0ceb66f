"""Change history: one entry per write, appended in the write's own transaction.

Entries are made here, the same for every store, from the records a write reads and
writes; stores only append and read them. An entry names its subjects (the party,
relationship or activity it is about, then the parties it touches), so each node's
history is one indexed look-up. Entries that change a party's own fields carry the
party's version after the change and each changed field's value before and after:
a party as it was at an earlier time is the party now with those changes undone,
newest first (`undo`), and needs no stored copies.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from . import schedules
from .identity import ApiToken, Grant
from .ids import new_id
from .model import (
    Activity,
    ActivityStatus,
    Address,
    Email,
    ExternalId,
    Fiscal,
    LeadStatus,
    LegalForm,
    Party,
    Phone,
    Relationship,
)
from .times import format_instant, parse_instant, utcnow


class ChangeKind(enum.Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    ARCHIVED = "ARCHIVED"
    RESTORED = "RESTORED"
    MERGED = "MERGED"
    UNMERGED = "UNMERGED"
    LINKED = "LINKED"
    UNLINKED = "UNLINKED"
    ACTIVITY_RECORDED = "ACTIVITY_RECORDED"
    ACTIVITY_SCHEDULED = "ACTIVITY_SCHEDULED"
    ACTIVITY_UPDATED = "ACTIVITY_UPDATED"
    ACTIVITY_COMPLETED = "ACTIVITY_COMPLETED"
    ACTIVITY_CANCELLED = "ACTIVITY_CANCELLED"
    ROLE_GRANTED = "ROLE_GRANTED"
    ROLE_REVOKED = "ROLE_REVOKED"
    TOKEN_CREATED = "TOKEN_CREATED"
    TOKEN_REVOKED = "TOKEN_REVOKED"
    CATEGORY_CREATED = "CATEGORY_CREATED"
    CATEGORY_UPDATED = "CATEGORY_UPDATED"
    CATEGORY_ARCHIVED = "CATEGORY_ARCHIVED"
    LEVEL_CREATED = "LEVEL_CREATED"
    LEVEL_UPDATED = "LEVEL_UPDATED"
    PROCESS_STEP_OPENED = "PROCESS_STEP_OPENED"
    PROCESS_STEP_DONE = "PROCESS_STEP_DONE"
    PIPELINE_CREATED = "PIPELINE_CREATED"
    PIPELINE_UPDATED = "PIPELINE_UPDATED"
    OPPORTUNITY_CREATED = "OPPORTUNITY_CREATED"
    OPPORTUNITY_UPDATED = "OPPORTUNITY_UPDATED"
    OPPORTUNITY_MOVED = "OPPORTUNITY_MOVED"
    LEAD_CONVERTED = "LEAD_CONVERTED"


# who holds what: entries about a user's roles and tokens are that user's and admins' only
PRIVATE_KINDS = frozenset(
    {
        ChangeKind.ROLE_GRANTED,
        ChangeKind.ROLE_REVOKED,
        ChangeKind.TOKEN_CREATED,
        ChangeKind.TOKEN_REVOKED,
    }
)


@dataclass(frozen=True)
class Actor:
    """Who writes: the signed-in user and the request, or neither for the server's own
    work (seeds, the command line)."""

    user_id: str | None = None
    request_id: str | None = None


SYSTEM = Actor()


class FieldChange(NamedTuple):
    """One field's value before and after, as GraphQL names and shows it (JSON). A tuple:
    a seed makes a million of them, and it is stored as the JSON array it serializes to."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    id: str
    at: datetime
    kind: ChangeKind
    # the record it is about first (a party, relationship, activity, grant or token), then
    # the parties it touches
    subject_ids: tuple[str, ...]
    actor_id: str | None
    request_id: str | None
    fields: tuple[FieldChange, ...] = ()
    # set on entries that change a party's own fields: the party's version after them
    version: int | None = None
    # records whose history holds it too without it being about them (what a merge moved)
    mentions: tuple[str, ...] = ()

    @property
    def party_id(self) -> str | None:
        return self.subject_ids[0] if self.version is not None else None

    def fields_json(self) -> str:
        """The fields as stored: a JSON array of [field, before, after]."""
        return orjson.dumps([list(f) for f in self.fields]).decode()

    @staticmethod
    def fields_of(text: str) -> tuple[FieldChange, ...]:
        return tuple(FieldChange(*f) for f in orjson.loads(text))

    @property
    def party_ids(self) -> tuple[str, ...]:
        """The parties among its subjects: the first is a party only when the entry
        changes that party's own fields."""
        return self.subject_ids if self.version is not None else self.subject_ids[1:]


def mentioning(change: Change, named: Iterable[str]) -> Change:
    """The entry with what it mentions, from every id its history is found under (its
    subjects among them): in id order, since stores keep them as a set."""
    return replace(change, mentions=tuple(sorted(set(named) - set(change.subject_ids))))


@dataclass(frozen=True)
class ChangePage:
    changes: list[Change]
    has_next: bool


@dataclass(frozen=True)
class AuditQuery:
    actor_id: str | None = None
    subject_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _entry(
    actor: Actor,
    kind: ChangeKind,
    subjects: Iterable[str],
    fields: Iterable[FieldChange] = (),
    at: datetime | None = None,
    version: int | None = None,
    mentions: Sequence[str] = (),
) -> Change:
    return Change(
        id=new_id(),
        at=at or utcnow(),
        kind=kind,
        subject_ids=tuple(subjects),
        actor_id=actor.user_id,
        request_id=actor.request_id,
        fields=tuple(fields),
        version=version,
        mentions=tuple(mentions),
    )


# -- a party's own fields, as JSON values --------------------------------------------


def _items(values: Sequence[Email | Phone | Address | Fiscal]) -> list[dict[str, Any]]:
    return [{_camel(k): v for k, v in vars(value).items()} for value in values]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def party_fields(party: Party) -> dict[str, Any]:
    """The fields a user sets on a party (not its id, kind or bookkeeping)."""
    fiscal = party.fiscal
    return {
        "displayName": party.display_name,
        "legalForm": party.legal_form.value,
        "categoryId": party.category_id,
        "name": party.name,
        "firstName": party.first_name,
        "lastName": party.last_name,
        "unitType": str(party.unit_type) if party.unit_type else None,
        "username": party.username,
        "contactId": party.contact_id,
        "emails": _items(party.emails),
        "phones": _items(party.phones),
        "addresses": _items(party.addresses),
        "fiscal": None if fiscal is None else _items([fiscal])[0],
        "tags": list(party.tags),
        "externalIds": [vars(x) for x in party.external_ids],
        "archivedAt": None if party.archived_at is None else format_instant(party.archived_at),
        "mergedInto": party.merged_into,
        "attributes": dict(party.attributes),
        "leadStatus": None if party.lead_status is None else party.lead_status.value,
    }


def _snake(values: Mapping[str, Any]) -> dict[str, Any]:
    return {"".join(f"_{c.lower()}" if c.isupper() else c for c in k): v for k, v in values.items()}


_READ_BACK: dict[str, Any] = {
    "displayName": lambda v: ("display_name", v),
    "legalForm": lambda v: ("legal_form", LegalForm(v)),
    "categoryId": lambda v: ("category_id", v),
    "name": lambda v: ("name", v),
    "firstName": lambda v: ("first_name", v),
    "lastName": lambda v: ("last_name", v),
    "unitType": lambda v: ("unit_type", v),
    "username": lambda v: ("username", v),
    "contactId": lambda v: ("contact_id", v),
    "emails": lambda v: ("emails", tuple(Email(**_snake(e)) for e in v)),
    "phones": lambda v: ("phones", tuple(Phone(**_snake(p)) for p in v)),
    "addresses": lambda v: ("addresses", tuple(Address(**_snake(a)) for a in v)),
    "fiscal": lambda v: ("fiscal", None if v is None else Fiscal(**_snake(v))),
    "tags": lambda v: ("tags", tuple(v)),
    "externalIds": lambda v: ("external_ids", tuple(ExternalId(**x) for x in v)),
    "archivedAt": lambda v: ("archived_at", None if v is None else parse_instant(v)),
    "mergedInto": lambda v: ("merged_into", v),
    "attributes": lambda v: ("attributes", dict(v or {})),
    "leadStatus": lambda v: ("lead_status", None if v is None else LeadStatus(v)),
}


def about_category(
    actor: Actor, kind: ChangeKind, category_id: str, fields: Iterable[FieldChange], at: datetime
) -> Change:
    """An entry about a category or a level: its id the one subject, no party version."""
    return _entry(actor, kind, [category_id], fields, at)


def about_step(
    actor: Actor,
    kind: ChangeKind,
    subjects: Sequence[str],
    fields: Iterable[FieldChange],
    at: datetime,
) -> Change:
    """An entry about a process step: under its party and the step itself."""
    return _entry(actor, kind, subjects, fields, at)


def about_sales(
    actor: Actor,
    kind: ChangeKind,
    subject_ids: Sequence[str],
    fields: Iterable[FieldChange],
    at: datetime,
) -> Change:
    """An entry about a pipeline or an opportunity: its id first, then the parties an
    opportunity names, whose histories show it too."""
    return _entry(actor, kind, subject_ids, fields, at)


def read_back(field: str, value: Any) -> tuple[str, Any]:
    """A party field's JSON value (party_fields) as the model holds it: (name, value)."""
    return _READ_BACK[field](value)  # type: ignore[no-any-return]


# -- entries for each kind of write ----------------------------------------------------


def created(party: Party, actor: Actor) -> Change:
    """Creation entries copy no values: the record as made is the record then (a party's
    own fields at any time since are `snapshot`'s), and a seed writes a hundred thousand."""
    return _entry(actor, ChangeKind.CREATED, [party.id], (), party.created_at, party.version)


def changed(
    before: Party,
    after: Party,
    actor: Actor,
    kind: ChangeKind | None = None,
    others: Sequence[str] = (),
    more: Sequence[FieldChange] = (),
    mentions: Sequence[str] = (),
) -> Change:
    """An update, archive or restore (or `kind`, touching `others` too): the fields whose
    values differ, then `more` (what else the write did, as a merge records it)."""
    old, new = party_fields(before), party_fields(after)
    fields = [FieldChange(name, old[name], new[name]) for name in new if old[name] != new[name]]
    if kind is None:
        kind = ChangeKind.UPDATED
        if (before.archived_at is None) != (after.archived_at is None):
            kind = ChangeKind.ARCHIVED if after.archived_at else ChangeKind.RESTORED
    subjects = [after.id, *others]
    fields = [*fields, *more]
    return _entry(actor, kind, subjects, fields, after.updated_at, after.version, mentions)


def linked(rel: Relationship, actor: Actor, at: datetime | None = None) -> Change:
    return _entry(actor, ChangeKind.LINKED, [rel.id, rel.from_id, rel.to_id], (), at)


def unlinked(rel: Relationship, actor: Actor) -> Change:
    until = None if rel.until is None else format_instant(rel.until)
    fields = [FieldChange("until", None, until)]
    return _entry(actor, ChangeKind.UNLINKED, [rel.id, rel.from_id, rel.to_id], fields)


def recorded(activity: Activity, actor: Actor, at: datetime | None = None) -> Change:
    """In the activity's history only: its parties' timelines show it, and a seed records
    a hundred thousand (their parties' histories hold what changed the parties)."""
    kind = ChangeKind.ACTIVITY_RECORDED
    if activity.status is ActivityStatus.PLANNED:
        kind = ChangeKind.ACTIVITY_SCHEDULED
    return _entry(actor, kind, [activity.id], (), at)


def activity_changed(before: Activity, after: Activity, actor: Actor, kind: ChangeKind) -> Change:
    """An update, completion or cancellation of planned work: the fields whose values
    differ, and the activity's version after it."""
    old, new = schedules.activity_fields(before), schedules.activity_fields(after)
    fields = [FieldChange(name, old[name], new[name]) for name in new if old[name] != new[name]]
    fields.append(FieldChange("version", before.version, after.version))
    return _entry(actor, kind, [after.id], fields)


def _grant_fields(grant: Grant) -> list[FieldChange]:
    values = {"role": grant.role, "scopeId": grant.scope_id, "scopeKind": grant.scope_kind.value}
    return [FieldChange(k, None, v) for k, v in values.items() if v is not None]


def role_granted(grant: Grant, actor: Actor) -> Change:
    return _entry(actor, ChangeKind.ROLE_GRANTED, [grant.user_id, grant.id], _grant_fields(grant))


def role_revoked(grant: Grant, actor: Actor) -> Change:
    fields = [FieldChange(f.field, f.after, None) for f in _grant_fields(grant)]
    return _entry(actor, ChangeKind.ROLE_REVOKED, [grant.id, grant.user_id], fields)


def token_created(token: ApiToken, actor: Actor) -> Change:
    """Never the secret nor its hash: a token is named by its id and name."""
    values = {
        "name": token.name,
        "expiresAt": None if token.expires_at is None else format_instant(token.expires_at),
    }
    fields = [FieldChange(k, None, v) for k, v in values.items() if v is not None]
    return _entry(actor, ChangeKind.TOKEN_CREATED, [token.id, token.user_id], fields)


def token_revoked(token: ApiToken, actor: Actor) -> Change:
    revoked = None if token.revoked_at is None else format_instant(token.revoked_at)
    fields = [FieldChange("revokedAt", None, revoked)]
    return _entry(actor, ChangeKind.TOKEN_REVOKED, [token.id, token.user_id], fields)


def batch(
    parties: Iterable[Party],
    relationships: Iterable[Relationship],
    activities: Iterable[Activity],
    actor: Actor,
) -> list[Change]:
    at = utcnow()  # one write: one time for what it links and records
    return [
        *(created(p, actor) for p in parties),
        *(linked(r, actor, at) for r in relationships),
        *(recorded(a, actor, at) for a in activities),
    ]


# -- reading the past ------------------------------------------------------------------


def snapshot(
    party: Party, as_of: datetime, newer: Sequence[Change], last_at: datetime | None
) -> Party | None:
    """The party's own fields as they were at `as_of`: the party now with its field
    changes made after then (`newer`) undone newest first; None when it did not exist
    yet. `last_at` is when the newest change up to then was made, if any is recorded."""
    if party.created_at > as_of:
        return None
    state = party
    for change in sorted(newer, key=lambda c: c.version or 0, reverse=True):
        if change.kind is ChangeKind.CREATED:
            return None
        values = dict(read_back(f.field, f.before) for f in change.fields if f.field in _READ_BACK)
        state = replace(state, **values, version=(change.version or 1) - 1)
    if newer:
        state = replace(state, updated_at=last_at or party.created_at)
    return state
