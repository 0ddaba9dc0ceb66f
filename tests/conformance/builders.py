"""Records for the conformance suite, made as the stores' callers make them."""

from __future__ import annotations

from datetime import UTC, datetime

from contactgraph.graph.ids import new_id
from contactgraph.graph.model import (
    Activity,
    ActivityType,
    LegalForm,
    Party,
    PartyKind,
    Relationship,
    RelType,
)
from contactgraph.graph.records import new_party

T0 = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
# when the builders' parties are made: before the times the tests change them at, as a
# store keeps a party's changes after its last one (rules.changed_at)
MADE = datetime(2023, 12, 1, 9, 0, 0, tzinfo=UTC)


def org(name: str, **values: object) -> Party:
    values.setdefault("legal_form", LegalForm.LEGAL_PERSON)
    return new_party(PartyKind.ORGANIZATION, name=name, at=MADE, **values)


def person(first: str, last: str, **values: object) -> Party:
    return new_party(
        PartyKind.CONTACT,
        first_name=first,
        last_name=last,
        legal_form=LegalForm.NATURAL_PERSON,
        at=MADE,
        **values,
    )


def user(username: str) -> Party:
    return new_party(
        PartyKind.USER, username, username=username, legal_form=LegalForm.NATURAL_PERSON, at=MADE
    )


def edge(
    rel_type: RelType, source: Party, target: Party, since: datetime = T0, **values: object
) -> Relationship:
    return Relationship(new_id(), rel_type, source.id, target.id, since, **values)  # type: ignore[arg-type]


def activity(author: Party, subjects: list[Party], at: datetime, **values: object) -> Activity:
    fields = {"type": ActivityType.CALL, "summary": "call", **values}
    return Activity(
        id=new_id(),
        occurred_at=at,
        author_id=author.id,
        subject_ids=tuple(s.id for s in subjects),
        **fields,  # type: ignore[arg-type]
    )


NOW = datetime(2026, 1, 1, tzinfo=UTC)
