"""Records as flat fields, the shape both backends store: enums as their names,
contact data and free properties as JSON text, instants through the backend's own
time codec (ISO text for SQLite, native DateTime for Neo4j).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import msgspec
import orjson

from . import schedules
from .model import (
    Activity,
    ActivityStatus,
    ActivityType,
    Address,
    Category,
    DocumentRule,
    Email,
    ExternalId,
    FieldDef,
    Fiscal,
    LeadStatus,
    LegalForm,
    Party,
    PartyKind,
    Phone,
    Relationship,
    RelType,
)
from .processes import Process

Encode = Callable[[datetime], Any]

# reading a stored name back into its enum member: a dict look-up costs an eighth of the
# Enum call, which counts when a walk reads thousands of parties
PARTY_KINDS = {member.value: member for member in PartyKind}
_LEGAL_FORMS = {member.value: member for member in LegalForm}
_REL_TYPES = {member.value: member for member in RelType}
_ACTIVITY_TYPES = {member.value: member for member in ActivityType}
Decode = Callable[[Any], datetime]

PARTY_FIELDS = (
    "id",
    "kind",
    "legal_form",
    "category_id",
    "display_name",
    "name",
    "first_name",
    "last_name",
    "unit_type",
    "username",
    "contact_id",
    "details",
    "version",
    "created_at",
    "updated_at",
    "archived_at",
)
REL_FIELDS = ("id", "type", "from_id", "to_id", "role", "since", "until", "properties")
ACTIVITY_FIELDS = (
    "id",
    "type",
    "occurred_at",
    "summary",
    "body",
    "author_id",
    "recorded_by_id",
    "status",
    "version",
    "schedule",
    "opportunity_id",
)
_STATUSES = {member.value: member for member in ActivityStatus}


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def party_record(party: Party, encode: Encode) -> dict[str, Any]:
    # vars() of these flat value objects is what asdict() would give, without its deep copy
    details: dict[str, Any] = {
        "emails": [vars(e) for e in party.emails],
        "phones": [vars(p) for p in party.phones],
        "addresses": [vars(a) for a in party.addresses],
        "fiscal": vars(party.fiscal) if party.fiscal else None,
        "tags": list(party.tags),
    }
    if party.external_ids:
        details["external_ids"] = [vars(x) for x in party.external_ids]
    if party.merged_into is not None:
        details["merged_into"] = party.merged_into
    if party.attributes:
        details["attributes"] = party.attributes
    if party.lead_status is not None:
        details["lead_status"] = party.lead_status.value
    return {
        "id": party.id,
        "kind": party.kind.value,
        "legal_form": party.legal_form.value,
        "category_id": party.category_id,
        "display_name": party.display_name,
        "name": party.name,
        "first_name": party.first_name,
        "last_name": party.last_name,
        "unit_type": str(party.unit_type) if party.unit_type else None,
        "username": party.username,
        "contact_id": party.contact_id,
        "details": _json(details),
        "version": party.version,
        "created_at": encode(party.created_at),
        "updated_at": encode(party.updated_at),
        "archived_at": encode(party.archived_at) if party.archived_at else None,
    }


def party_from_record(record: Mapping[str, Any], decode: Decode) -> Party:
    details = orjson.loads(record["details"])  # several times faster than json on reads
    fiscal = details.get("fiscal")
    archived = record.get("archived_at")
    return Party(
        id=record["id"],
        kind=PARTY_KINDS[record["kind"]],
        legal_form=_LEGAL_FORMS[record["legal_form"]],
        category_id=record.get("category_id"),
        display_name=record["display_name"],
        name=record.get("name"),
        first_name=record.get("first_name"),
        last_name=record.get("last_name"),
        unit_type=record.get("unit_type"),
        username=record.get("username"),
        contact_id=record.get("contact_id"),
        emails=tuple(Email(**e) for e in details.get("emails", ())),
        phones=tuple(Phone(**p) for p in details.get("phones", ())),
        addresses=tuple(Address(**a) for a in details.get("addresses", ())),
        fiscal=Fiscal(**fiscal) if fiscal else None,
        tags=tuple(details.get("tags", ())),
        external_ids=tuple(ExternalId(**x) for x in details.get("external_ids", ())),
        version=record["version"],
        created_at=decode(record["created_at"]),
        updated_at=decode(record["updated_at"]),
        archived_at=decode(archived) if archived is not None else None,
        merged_into=details.get("merged_into"),
        attributes=details.get("attributes", {}),
        lead_status=_lead_status(details.get("lead_status")),
    )


def relationship_record(rel: Relationship, encode: Encode) -> dict[str, Any]:
    return {
        "id": rel.id,
        "type": rel.type.value,
        "from_id": rel.from_id,
        "to_id": rel.to_id,
        "role": rel.role,
        "since": encode(rel.since),
        "until": encode(rel.until) if rel.until else None,
        "properties": _json(rel.properties),
    }


def relationship_from_record(record: Mapping[str, Any], decode: Decode) -> Relationship:
    until = record.get("until")
    return Relationship(
        id=record["id"],
        type=_REL_TYPES[record["type"]],
        from_id=record["from_id"],
        to_id=record["to_id"],
        role=record.get("role"),
        since=decode(record["since"]),
        until=decode(until) if until is not None else None,
        properties=orjson.loads(record["properties"]),
    )


def activity_record(activity: Activity, encode: Encode) -> dict[str, Any]:
    return {
        "id": activity.id,
        "type": activity.type.value,
        "occurred_at": encode(activity.occurred_at),
        "summary": activity.summary,
        "body": activity.body,
        "author_id": activity.author_id,
        "recorded_by_id": activity.recorded_by_id,
        "status": activity.status.value,
        "version": activity.version,
        "schedule": schedules.encode(activity.schedule),
        "opportunity_id": activity.opportunity_id,
    }


def activity_from_record(
    record: Mapping[str, Any], subject_ids: tuple[str, ...], decode: Decode
) -> Activity:
    return Activity(
        id=record["id"],
        type=_ACTIVITY_TYPES[record["type"]],
        occurred_at=decode(record["occurred_at"]),
        summary=record["summary"],
        body=record.get("body"),
        author_id=record["author_id"],
        subject_ids=subject_ids,
        recorded_by_id=record.get("recorded_by_id"),
        # activities stored before scheduling existed: recorded, so done, never changed
        status=_STATUSES[record.get("status") or "DONE"],
        version=record.get("version") or 1,
        schedule=schedules.decode(record.get("schedule")),
        opportunity_id=record.get("opportunity_id"),
    )


class _Definition(msgspec.Struct, frozen=True):
    """What a category holds beyond its first columns, stored as one JSON text."""

    kinds: tuple[PartyKind, ...] = ()
    fields: tuple[FieldDef, ...] = ()
    documents: tuple[DocumentRule, ...] = ()
    version: int = 1
    archived_at: datetime | None = None
    any_level_order: bool = False
    processes: tuple[Process, ...] = ()


_definition = msgspec.json.Decoder(_Definition)


def category_record(category: Category) -> dict[str, Any]:
    definition = _Definition(
        category.kinds,
        category.fields,
        category.documents,
        category.version,
        category.archived_at,
        category.any_level_order,
        category.processes,
    )
    return {
        "id": category.id,
        "name": category.name,
        "description": category.description,
        "legal_forms": _json([f.value for f in category.legal_forms]),
        "unit_types": _json([str(u) for u in category.unit_types]),
        "definition": msgspec.json.encode(definition).decode(),
    }


# the columns category_record writes, which are all a decoded category depends on
_CATEGORY_COLUMNS = ("id", "name", "description", "legal_forms", "unit_types", "definition")
_DECODED_CATEGORIES = 512  # distinct records kept decoded; more empties the cache
_decoded_categories: dict[tuple[Any, ...], Category] = {}


def category_from_record(record: Mapping[str, Any]) -> Category:
    """Decoded once per distinct record: every write reads every category for its checks,
    and decoding them each time was 2 % of a write's CPU. A category is immutable, so the
    decoded one is shared."""
    key = tuple(map(record.get, _CATEGORY_COLUMNS))
    found = _decoded_categories.get(key)
    if found is None:
        if len(_decoded_categories) >= _DECODED_CATEGORIES:
            _decoded_categories.clear()
        found = _decoded_categories[key] = _category(record)
    return found


def _category(record: Mapping[str, Any]) -> Category:
    more = _definition.decode(record.get("definition") or "{}")
    return Category(
        id=record["id"],
        name=record["name"],
        description=record["description"],
        legal_forms=tuple(LegalForm(f) for f in json.loads(record["legal_forms"])),
        unit_types=tuple(json.loads(record["unit_types"])),
        kinds=more.kinds,
        fields=more.fields,
        documents=more.documents,
        version=more.version,
        archived_at=more.archived_at,
        any_level_order=more.any_level_order,
        processes=more.processes,
    )


def _lead_status(value: str | None) -> LeadStatus | None:
    return None if value is None else LeadStatus(value)
