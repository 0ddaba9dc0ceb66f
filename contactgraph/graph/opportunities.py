"""Sales opportunities: a deal with an organization, staged in a pipeline.

An amount is a Decimal end to end (stored as its text) so sums per currency are exact;
the currency is an ISO 4217 code checked against pycountry's maintained list. Every
stage change is kept, dated and signed, in the opportunity itself (`stages`), and each
write leaves one history entry; a stale expectedVersion is a CONFLICT.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry

from .errors import BadUserInput, Conflict, InvalidValue, MissingValue, NotFound
from .history import Actor, Change, ChangeKind, FieldChange, about_sales
from .model import Party, PartyKind
from .pipelines import Pipeline, Stage, StageOutcome
from .times import format_instant, parse_instant

MAX_TITLE = 200
MAX_TEXT = 2_000  # a lost reason
MAX_SOURCE = 200
MAX_CONTACTS = 20
MAX_AMOUNT = Decimal("1e15")  # beyond any deal; keeps the text form short
MAX_PLACES = 4  # decimal places of an amount


class OpportunityStatus(enum.Enum):
    """Derived from the stage's outcome, stored beside it to filter by."""

    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"


@dataclass(frozen=True)
class StageChange:
    stage_id: str
    at: datetime
    by: str | None  # the user who moved it; None for the server's own work


@dataclass(frozen=True)
class Opportunity:
    id: str
    title: str
    organization_id: str
    owner_id: str
    pipeline_id: str
    stage_id: str
    amount: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime
    status: OpportunityStatus = OpportunityStatus.OPEN
    contact_ids: tuple[str, ...] = ()
    probability: int | None = None  # percent; None: the stage's
    expected_close: date | None = None
    source: str = ""
    lost_reason: str | None = None
    stages: tuple[StageChange, ...] = field(default=())  # oldest first
    version: int = 1

    def references(self) -> tuple[str, ...]:
        """The parties it names, which must exist and be of the right kind."""
        return (self.organization_id, self.owner_id, *self.contact_ids)


def amount_of(given: str) -> Decimal:
    """An amount as given, exact: no float ever holds it."""
    try:
        value = Decimal(given.strip())
    except InvalidOperation:
        raise InvalidValue("amount", given, "must be a decimal number such as 1250.50") from None
    if not value.is_finite() or value < 0 or value >= MAX_AMOUNT:
        raise InvalidValue("amount", given, f"must be from 0 to below {MAX_AMOUNT:,.0f}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_PLACES:
        raise InvalidValue("amount", given, f"has at most {MAX_PLACES} decimal places")
    return value


def currency_of(given: str) -> str:
    code = given.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidValue("currency", given, "must be an ISO 4217 code such as EUR")
    return code


def _text(name: str, given: str, most: int, required: bool) -> str:
    text = given.strip()
    if (required and not text) or len(text) > most:
        least = 1 if required else 0
        raise InvalidValue(name, given[:50], f"must hold {least} to {most} characters")
    return text


def stage_in(pipeline: Pipeline | None, pipeline_id: str, stage_id: str) -> Stage:
    """The stage of that pipeline; a stage of another pipeline is no stage of this one."""
    if pipeline is None:
        raise InvalidValue("pipelineId", pipeline_id, "is no pipeline")
    found = next((s for s in pipeline.stages if s.id == stage_id), None)
    if found is None:
        raise InvalidValue("stageId", stage_id, f"is no stage of pipeline {pipeline.name!r}")
    return found


def checked(opportunity: Opportunity, stage: Stage, parties: Mapping[str, Party]) -> Opportunity:
    """The opportunity as stored: texts trimmed and bounded, parties of the right kinds,
    a lost reason on a LOST stage, the status its stage's outcome."""
    if opportunity.probability is not None and not 0 <= opportunity.probability <= 100:
        raise InvalidValue("probability", str(opportunity.probability), "must be 0 to 100")
    if len(opportunity.contact_ids) > MAX_CONTACTS:
        raise BadUserInput(f"an opportunity names at most {MAX_CONTACTS} contacts")
    wanted = [
        ("organizationId", opportunity.organization_id, PartyKind.ORGANIZATION),
        ("ownerId", opportunity.owner_id, PartyKind.USER),
        *(("contactIds", c, PartyKind.CONTACT) for c in opportunity.contact_ids),
    ]
    for name, party_id, kind in wanted:
        party = parties.get(party_id)
        if party is None or party.archived_at is not None or party.merged_into is not None:
            raise InvalidValue(name, party_id, "is no party, or an archived one")
        if party.kind is not kind:
            raise InvalidValue(name, party_id, f"must be {kind.value.lower()}")
    lost = stage.outcome is StageOutcome.LOST
    reason = None
    if lost:
        if not (opportunity.lost_reason or "").strip():
            raise MissingValue("lostReason", "a deal moved to a LOST stage says why")
        reason = _text("lostReason", opportunity.lost_reason or "", MAX_TEXT, True)
    return replace(
        opportunity,
        title=_text("title", opportunity.title, MAX_TITLE, True),
        source=_text("source", opportunity.source, MAX_SOURCE, False),
        contact_ids=tuple(dict.fromkeys(opportunity.contact_ids)),
        lost_reason=reason,
        status=OpportunityStatus(stage.outcome.value),
    )


def moved(current: Opportunity, stage_id: str, at: datetime, by: str | None) -> Opportunity:
    """The opportunity in another stage, the move kept in its stage history."""
    if stage_id == current.stage_id:
        return current
    change = StageChange(stage_id, at, by)
    return replace(current, stage_id=stage_id, stages=(*current.stages, change))


def following(
    current: Opportunity | None, opportunity_id: str, expected_version: int | None
) -> Opportunity:
    """The opportunity a change starts from: NOT_FOUND, or CONFLICT when stale."""
    if current is None:
        raise NotFound(f"opportunity {opportunity_id} does not exist")
    if expected_version is not None and expected_version != current.version:
        raise Conflict(
            f"opportunity {opportunity_id} is at version {current.version}, not {expected_version}"
        )
    return current


def probability(opportunity: Opportunity, stage: Stage) -> int:
    """Its chance in percent: a closed stage's, else its own or else its stage's."""
    if stage.outcome is not StageOutcome.OPEN or opportunity.probability is None:
        return stage.probability
    return opportunity.probability


def document(opportunity: Opportunity) -> dict[str, Any]:
    """An opportunity as stored and as its history entries show it: JSON values under
    GraphQL names."""
    close = opportunity.expected_close
    return {
        "title": opportunity.title,
        "organizationId": opportunity.organization_id,
        "contactIds": list(opportunity.contact_ids),
        "ownerId": opportunity.owner_id,
        "pipelineId": opportunity.pipeline_id,
        "stageId": opportunity.stage_id,
        "amount": str(opportunity.amount),
        "currency": opportunity.currency,
        "probability": opportunity.probability,
        "expectedCloseDate": None if close is None else close.isoformat(),
        "source": opportunity.source,
        "lostReason": opportunity.lost_reason,
        "status": opportunity.status.value,
        "stageHistory": [
            {"stageId": s.stage_id, "at": format_instant(s.at), "by": s.by}
            for s in opportunity.stages
        ],
    }


def of_document(
    opportunity_id: str,
    version: int,
    created_at: str,
    updated_at: str,
    doc: Mapping[str, Any],
) -> Opportunity:
    close = doc["expectedCloseDate"]
    return Opportunity(
        id=opportunity_id,
        title=doc["title"],
        organization_id=doc["organizationId"],
        owner_id=doc["ownerId"],
        pipeline_id=doc["pipelineId"],
        stage_id=doc["stageId"],
        amount=Decimal(doc["amount"]),
        currency=doc["currency"],
        created_at=parse_instant(created_at),
        updated_at=parse_instant(updated_at),
        status=OpportunityStatus(doc["status"]),
        contact_ids=tuple(doc["contactIds"]),
        probability=doc["probability"],
        expected_close=None if close is None else date.fromisoformat(close),
        source=doc["source"],
        lost_reason=doc["lostReason"],
        stages=tuple(
            StageChange(s["stageId"], parse_instant(s["at"]), s["by"]) for s in doc["stageHistory"]
        ),
        version=version,
    )


def planned(
    before: Opportunity | None,
    after: Opportunity,
    pipeline: Pipeline | None,
    parties: Mapping[str, Party],
    actor: Actor,
) -> tuple[Opportunity, Change | None]:
    """What a store writes: the opportunity checked against its pipeline and parties, its
    version one more, and its history entry (None when nothing changed)."""
    stage = stage_in(pipeline, after.pipeline_id, after.stage_id)
    written = checked(after, stage, parties)
    if before is not None and replace(written, updated_at=before.updated_at) == before:
        return before, None
    if before is not None:
        written = replace(written, version=before.version + 1)
    old = document(before) if before is not None else {}
    new = document(written)
    fields = [FieldChange(k, old.get(k), v) for k, v in new.items() if old.get(k) != v]
    if before is None:
        kind = ChangeKind.OPPORTUNITY_CREATED
    elif before.stage_id != written.stage_id:
        kind = ChangeKind.OPPORTUNITY_MOVED
    else:
        kind = ChangeKind.OPPORTUNITY_UPDATED
    subjects = [written.id, *written.references()]
    return written, about_sales(actor, kind, subjects, fields, written.updated_at)


def party_ids(opportunities: Sequence[Opportunity]) -> set[str]:
    return {p for o in opportunities for p in o.references()}
