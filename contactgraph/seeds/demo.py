"""Loads demo.json: a small business told in records, dated relative to today."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from ..access.credentials import secret_hash
from ..graph import categories
from ..graph.identity import DEFAULT_LIFETIME, ApiToken, Grant
from ..graph.ids import new_id
from ..graph.model import (
    Activity,
    ActivityStatus,
    ActivityType,
    Address,
    Attendee,
    Batch,
    Category,
    Email,
    FieldDef,
    FieldType,
    Fiscal,
    LegalForm,
    Party,
    PartyKind,
    Phone,
    Relationship,
    RelType,
    Response,
    Schedule,
)
from ..graph.records import new_party
from ..graph.store import GraphStore
from ..graph.times import utcnow
from .demo_sales import load_sales


def _data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("demo.json").read_text("utf-8")
    )
    return loaded


def _attributes(spec: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A party's attribute values; a `<field>DaysAgo` value is the date that many days ago."""
    values = {}
    for key, value in spec.get("attributes", {}).items():
        if key.endswith("DaysAgo"):
            values[key.removesuffix("DaysAgo")] = (at - timedelta(days=value)).date().isoformat()
        else:
            values[key] = value
    return values


def _snake(record: dict[str, Any]) -> dict[str, Any]:
    return {re.sub(r"([A-Z])", r"_\1", k).lower(): v for k, v in record.items()}


def _party(spec: dict[str, Any], at: datetime) -> Party:
    kind = PartyKind(spec["kind"])
    default_form = (
        LegalForm.LEGAL_PERSON if kind is PartyKind.ORGANIZATION else LegalForm.NATURAL_PERSON
    )
    emails = [Email(**_snake(e)) for e in spec.get("emails", ())]
    if "email" in spec:
        emails.append(Email(spec["email"], "work"))
    fiscal = spec.get("fiscal")
    return new_party(
        kind,
        spec.get("displayName"),
        at=at,
        legal_form=LegalForm(spec.get("legalForm", default_form.value)),
        category_id=spec.get("category"),
        name=spec.get("name"),
        first_name=spec.get("firstName"),
        last_name=spec.get("lastName"),
        unit_type=spec.get("unitType"),
        username=spec.get("username"),
        emails=tuple(emails),
        phones=tuple(Phone(**_snake(p)) for p in spec.get("phones", ())),
        addresses=tuple(Address(**_snake(a)) for a in spec.get("addresses", ())),
        fiscal=Fiscal(**_snake(fiscal)) if fiscal else None,
        tags=tuple(spec.get("tags", ())),
        attributes=_attributes(spec, at),
    )


def demo_batch(now: datetime | None = None) -> Batch:
    """The demo records with fresh ids, every date placed relative to `now`."""
    now = now or utcnow()
    data = _data()
    parties = {spec["key"]: _party(spec, now) for spec in data["parties"]}
    ids = {key: party.id for key, party in parties.items()}

    def days_ago(days: int | None) -> datetime | None:
        return None if days is None else now - timedelta(days=days)

    relationships = [
        Relationship(
            id=new_id(),
            type=RelType(spec["type"]),
            from_id=ids[spec["from"]],
            to_id=ids[spec["to"]],
            role=spec.get("role"),
            since=days_ago(spec.get("sinceDaysAgo", 0)) or now,
            until=days_ago(spec.get("untilDaysAgo")),
            properties=spec.get("properties", {}),
        )
        for spec in data["relationships"]
    ]
    activities = []
    for spec in data["activities"]:
        day = (now - timedelta(days=spec["daysAgo"])).date()
        occurred = datetime.combine(day, time.fromisoformat(spec["at"]), now.tzinfo)
        activities.append(
            Activity(
                id=new_id(),
                type=ActivityType(spec["type"]),
                occurred_at=min(occurred, now - timedelta(minutes=5)),
                summary=spec["summary"],
                body=spec.get("body"),
                author_id=ids[spec["author"]],
                subject_ids=tuple(ids[s] for s in spec["subjects"]),
            )
        )
    activities += [_planned(spec, ids, now) for spec in data["planned"]]
    return Batch(list(parties.values()), relationships, activities)


async def add_demo_fields(store: GraphStore) -> None:
    """The demo's own fields of categories, added to the default categories first (their
    processes are the defaults')."""
    for spec in _data()["categories"]:
        fields = tuple(
            FieldDef(
                f["name"],
                FieldType(f["type"]),
                f.get("label", ""),
                f.get("required", False),
                f.get("default"),
                tuple(f.get("options", ())),
            )
            for f in spec.get("fields", ())
        )

        def given(current: Category, fields: tuple[FieldDef, ...] = fields) -> Category:
            return replace(current, fields=fields)

        await store.write_category(
            spec["id"],
            lambda current, id=spec["id"], given=given: categories.updated(
                current, id, given, None
            ),
            utcnow(),
        )


def _planned(spec: dict[str, Any], ids: dict[str, str], now: datetime) -> Activity:
    """A week of the home organization's appointments and tasks from today, at local
    times of its zone (a task due yesterday is overdue)."""
    zone = ZoneInfo(spec["timeZone"])
    day = now.astimezone(zone) + timedelta(days=spec.get("inDays", spec.get("dueInDays", 0)))

    def local(clock: str) -> datetime:
        return datetime.combine(day.date(), time.fromisoformat(clock), zone).astimezone(UTC)

    appointment = "inDays" in spec
    schedule = Schedule(
        starts_at=local(spec["at"]) if appointment else None,
        ends_at=local(spec["until"]) if "until" in spec else None,
        time_zone=spec["timeZone"],
        due_at=None if appointment else local(spec["at"]),
        location=spec.get("location"),
        recurrence=spec.get("recurrence"),
        assignee_ids=tuple(ids[a] for a in spec.get("assignees", ())),
        attendees=tuple(Attendee(ids[k], Response(r)) for k, r in spec.get("attendees", ())),
    )
    return Activity(
        id=new_id(),
        type=ActivityType(spec["type"]),
        occurred_at=local(spec["at"]),
        summary=spec["summary"],
        body=spec.get("body"),
        author_id=ids[spec["author"]],
        subject_ids=tuple(ids[s] for s in spec["subjects"]),
        status=ActivityStatus.PLANNED,
        schedule=schedule,
    )


async def load_demo(store: GraphStore) -> dict[str, int]:
    await add_demo_fields(store)
    batch = demo_batch()
    await store.load_batch(batch)
    await _grant_demo_roles(store)
    specs = _data()["parties"]
    keys = {spec["key"]: party.id for spec, party in zip(specs, batch.parties, strict=True)}
    return {
        "parties": len(batch.parties),
        "relationships": len(batch.relationships),
        "activities": len(batch.activities),
        "opportunities": await load_sales(store, keys),
    }


DEMO_ADMIN = "anna.keller"
# each demo user shows one way of working: who administers, who edits, who may see tax data
DEMO_ROLES = {
    DEMO_ADMIN: ("admin",),
    "marco.rossi": ("editor",),
    "lena.hofer": ("editor", "fiscal"),
    "tom.weber": ("reader",),
}


async def _grant_demo_roles(store: GraphStore) -> None:
    for username, roles in DEMO_ROLES.items():
        user = await store.user_by_username(username)
        if user is None:
            continue
        for role in roles:
            await store.grant_role(Grant(new_id(), user.id, role, utcnow()))


async def demo_token(store: GraphStore, secret: str) -> bool:
    """Make `secret` a token of the demo's administrator unless it is one already; False
    when the graph has no such user (it was not seeded with the demo)."""
    if await store.token_by_hash(secret_hash(secret)) is not None:
        return True
    admin = await store.user_by_username(DEMO_ADMIN)
    if admin is None:
        return False
    await _grant_demo_roles(store)
    now = utcnow()
    token = ApiToken(new_id(), admin.id, "demo", secret_hash(secret), now, now + DEFAULT_LIFETIME)
    await store.create_token(token)
    return True
