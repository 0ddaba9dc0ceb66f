"""Reading opportunities: the filtered, cursor-paged list both stores answer, the sort
keys they store to page it, and the pipeline summary summed here from the stored figures
(exact: Decimal, never float)."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .cursors import decode_cursor, encode_cursor
from .errors import BadUserInput
from .hashed import hashed_once
from .model import Page
from .opportunities import MAX_AMOUNT, MAX_PLACES, Opportunity, OpportunityStatus
from .pipelines import Pipeline, StageOutcome

NO_CLOSE = "9999-12-31"  # an opportunity without a close date sorts last


class OpportunityOrder(enum.Enum):
    CLOSE_DATE = "CLOSE_DATE"  # soonest first, those without a date last
    AMOUNT = "AMOUNT"  # largest first
    UPDATED = "UPDATED"  # latest change first


DESCENDING = frozenset({OpportunityOrder.AMOUNT, OpportunityOrder.UPDATED})


@hashed_once
@dataclass(frozen=True)
class OpportunityQuery:
    page: Page
    order: OpportunityOrder = OpportunityOrder.CLOSE_DATE
    pipeline_id: str | None = None
    stage_ids: tuple[str, ...] = ()
    owner_ids: tuple[str, ...] = ()
    organization_id: str | None = None
    include_descendants: bool = False  # with organization_id: its tree now, by the closure
    now: datetime | None = None  # when the tree is read
    close_after: date | None = None  # inclusive
    close_before: date | None = None  # exclusive
    statuses: tuple[OpportunityStatus, ...] = ()

    def after(self) -> tuple[str, str] | None:
        """The (key, id) the page starts after."""
        if self.page.after is None:
            return None
        key, last = decode_cursor(self.page.after, 2)
        return key, last

    def check(self) -> None:
        if (
            self.close_after is not None
            and self.close_before is not None
            and self.close_after >= self.close_before
        ):
            raise BadUserInput("closeAfter must be before closeBefore")


@dataclass(frozen=True)
class OpportunityPage:
    opportunities: list[Opportunity]
    has_next: bool


def sort_keys(opportunity: Opportunity) -> dict[OpportunityOrder, str]:
    """Each order's key as stored text: text order is the order (amounts zero-padded to
    a fixed width, exact)."""
    close = opportunity.expected_close
    width = len(f"{MAX_AMOUNT:.0f}") + MAX_PLACES + 1
    return {
        OpportunityOrder.CLOSE_DATE: NO_CLOSE if close is None else close.isoformat(),
        OpportunityOrder.AMOUNT: f"{opportunity.amount:0{width}.{MAX_PLACES}f}",
        OpportunityOrder.UPDATED: opportunity.updated_at.isoformat(),
    }


def cursor(query: OpportunityQuery, opportunity: Opportunity) -> str:
    return encode_cursor(sort_keys(opportunity)[query.order], opportunity.id)


@dataclass(frozen=True)
class Figure:
    """What a summary reads of one opportunity, or of `count` alike in stage, currency
    and own probability (their amounts summed) when the store sums them itself."""

    stage_id: str
    currency: str
    amount: Decimal
    probability: int | None
    count: int = 1


@dataclass(frozen=True)
class StageSum:
    stage_id: str
    currency: str
    count: int
    amount: Decimal
    weighted: Decimal


def summary(pipeline: Pipeline, figures: Iterable[Figure]) -> list[StageSum]:
    """Per stage (in pipeline order) and currency: how many, their sum, and their sum
    weighted by each one's probability (a closed stage's own, else its or the stage's)."""
    stages = {s.id: s for s in pipeline.stages}
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for figure in figures:
        stage = stages.get(figure.stage_id)
        if stage is None:
            continue  # a stage since removed from the pipeline
        chance = figure.probability
        if stage.outcome is not StageOutcome.OPEN or chance is None:
            chance = stage.probability
        total = sums[(stage.id, figure.currency)]
        total[0] += figure.count
        total[1] += figure.amount
        total[2] += figure.amount * chance / 100
    order = {s.id: i for i, s in enumerate(pipeline.stages)}
    return [
        StageSum(stage_id, currency, int(count), amount, weighted)
        for (stage_id, currency), (count, amount, weighted) in sorted(
            sums.items(), key=lambda item: (order[item[0][0]], item[0][1])
        )
    ]


def by_id(found: Iterable[Opportunity]) -> Mapping[str, Opportunity]:
    return {o.id: o for o in found}
