"""Translation between SQLite rows and the domain dataclasses."""

from __future__ import annotations

import json
import sqlite3

from ..model import (
    Activity,
    ActivityType,
    Address,
    Category,
    Email,
    Fiscal,
    LegalForm,
    Party,
    PartyKind,
    Phone,
    Relationship,
    RelType,
    UnitType,
)
from ..times import format_instant, parse_instant

PARTY_COLUMNS = (
    "id, kind, legal_form, category_id, display_name, name, first_name, last_name, "
    "unit_type, username, contact_id, details, version, created_at, updated_at, archived_at"
)
REL_COLUMNS = "id, type, from_id, to_id, role, since, until, properties"


def _instant(text: str | None):
    return parse_instant(text) if text is not None else None


def party_from_row(row: sqlite3.Row) -> Party:
    details = json.loads(row["details"])
    fiscal = details.get("fiscal")
    return Party(
        id=row["id"],
        kind=PartyKind(row["kind"]),
        legal_form=LegalForm(row["legal_form"]),
        category_id=row["category_id"],
        display_name=row["display_name"],
        name=row["name"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        unit_type=UnitType(row["unit_type"]) if row["unit_type"] else None,
        username=row["username"],
        contact_id=row["contact_id"],
        emails=tuple(Email(**e) for e in details.get("emails", ())),
        phones=tuple(Phone(**p) for p in details.get("phones", ())),
        addresses=tuple(Address(**a) for a in details.get("addresses", ())),
        fiscal=Fiscal(**fiscal) if fiscal else None,
        tags=tuple(details.get("tags", ())),
        version=row["version"],
        created_at=parse_instant(row["created_at"]),
        updated_at=parse_instant(row["updated_at"]),
        archived_at=_instant(row["archived_at"]),
    )


def party_params(party: Party) -> tuple[object, ...]:
    # vars() of these flat value objects is what asdict() would give, without its deep copy
    details = {
        "emails": [vars(e) for e in party.emails],
        "phones": [vars(p) for p in party.phones],
        "addresses": [vars(a) for a in party.addresses],
        "fiscal": vars(party.fiscal) if party.fiscal else None,
        "tags": list(party.tags),
    }
    return (
        party.id,
        party.kind.value,
        party.legal_form.value,
        party.category_id,
        party.display_name,
        party.name,
        party.first_name,
        party.last_name,
        party.unit_type.value if party.unit_type else None,
        party.username,
        party.contact_id,
        json.dumps(details, separators=(",", ":")),
        party.version,
        format_instant(party.created_at),
        format_instant(party.updated_at),
        format_instant(party.archived_at) if party.archived_at else None,
    )


def search_text(party: Party) -> str:
    """What full-text search matches: names, username, emails, phones, fiscal codes."""
    words = [party.display_name, party.name, party.first_name, party.last_name, party.username]
    words += [e.address for e in party.emails]
    words += [p.number for p in party.phones]
    if party.fiscal:
        words += [party.fiscal.vat_number, party.fiscal.tax_code]
    return " ".join(w for w in words if w)


def relationship_from_row(row: sqlite3.Row) -> Relationship:
    return Relationship(
        id=row["id"],
        type=RelType(row["type"]),
        from_id=row["from_id"],
        to_id=row["to_id"],
        role=row["role"],
        since=parse_instant(row["since"]),
        until=_instant(row["until"]),
        properties=json.loads(row["properties"]),
    )


def relationship_params(rel: Relationship) -> tuple[object, ...]:
    return (
        rel.id,
        rel.type.value,
        rel.from_id,
        rel.to_id,
        rel.role,
        format_instant(rel.since),
        format_instant(rel.until) if rel.until else None,
        json.dumps(rel.properties, separators=(",", ":")),
    )


def activity_from_row(row: sqlite3.Row, subject_ids: tuple[str, ...]) -> Activity:
    return Activity(
        id=row["id"],
        type=ActivityType(row["type"]),
        occurred_at=parse_instant(row["occurred_at"]),
        summary=row["summary"],
        body=row["body"],
        author_id=row["author_id"],
        subject_ids=subject_ids,
    )


def category_from_row(row: sqlite3.Row) -> Category:
    return Category(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        legal_forms=tuple(LegalForm(f) for f in json.loads(row["legal_forms"])),
        unit_types=tuple(UnitType(u) for u in json.loads(row["unit_types"])),
    )


def category_params(category: Category) -> tuple[object, ...]:
    return (
        category.id,
        category.name,
        category.description,
        json.dumps([f.value for f in category.legal_forms]),
        json.dumps([u.value for u in category.unit_types]),
    )
