"""Opportunities through GraphQL: opened, changed and moved under expectedVersion (WRITE
where the organization is, which the guard checks), listed by filter, and summed per
stage and currency in a pipeline summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Annotated

import strawberry

from ..graph import opportunities, opportunity_reads
from ..graph.errors import BadUserInput, Conflict, NotFound
from ..graph.ids import new_id
from ..graph.model import Page
from ..graph.opportunities import Opportunity as Deal
from ..graph.opportunities import StageChange, amount_of, currency_of
from ..graph.times import utcnow
from ..schema.common_arguments import After, First
from ..schema.opportunities import (
    CreateOpportunityInput,
    DateRange,
    Opportunity,
    OpportunityOrder,
    OpportunityStatus,
    StageSummary,
    UpdateOpportunityInput,
)
from ..schema.pages import Connection, Edge, page_info
from ..schema.pipelines import Pipeline
from .context import ContextInfo

OpportunityId = Annotated[strawberry.ID, strawberry.argument(description="The opportunity.")]
ExpectedVersion = Annotated[
    int | None,
    strawberry.argument(description="The version the change was made against (its version)."),
]
CloseAfter = Annotated[
    date | None, strawberry.argument(description="Closing on or after this date.")
]
CloseBefore = Annotated[date | None, strawberry.argument(description="Closing before this date.")]
CloseBetween = Annotated[
    DateRange | None,
    strawberry.argument(
        description="Expected to close within these days, both included; not with "
        "closeAfter or closeBefore (else BAD_USER_INPUT)."
    ),
]
OwnerIds = Annotated[
    list[strawberry.ID] | None,
    strawberry.argument(description="Owned by one of these users."),
]


@strawberry.input(description="Which opportunities; every condition given must hold.")
class OpportunityFilter:
    pipeline_id: strawberry.ID | None = strawberry.field(default=None, description="In it.")
    stage_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In one of these stages."
    )
    owner_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Owned by one of these users."
    )
    organization_id: strawberry.ID | None = strawberry.field(
        default=None, description="With this organization."
    )
    include_descendants: bool = strawberry.field(
        default=False,
        description="With organizationId: also with every party below it in the default "
        "hierarchy now (PART_OF, EMPLOYS, MEMBER_OF), as timelines roll up.",
    )
    close_after: date | None = strawberry.field(
        default=None, description="Expected to close on or after this date."
    )
    close_before: date | None = strawberry.field(
        default=None, description="Expected to close before this date."
    )
    close_between: DateRange | None = strawberry.field(
        default=None,
        description="Expected to close within these days, both included; not with "
        "closeAfter or closeBefore (else BAD_USER_INPUT).",
    )
    status: OpportunityStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="OPEN, WON or LOST."
    )


def _window(
    between: DateRange | None, after: date | None, before: date | None
) -> tuple[date | None, date | None]:
    """The close dates asked, as (from inclusive, before exclusive), by either spelling."""
    if between is None:
        return after, before
    if after is not None or before is not None:
        raise BadUserInput("give closeBetween or closeAfter/closeBefore, not both")
    return between.bounds()


def _ids(given: Sequence[strawberry.ID] | None) -> tuple[str, ...]:
    """Ids as the store takes them (every list argument is bounded by the schema)."""
    return tuple(str(i) for i in given or ())


def deal_of(input: CreateOpportunityInput, by: str | None, now: datetime) -> Deal:
    """A new opportunity from its input, its first stage the start of its stage history;
    amount and currency checked before the store is asked."""
    return Deal(
        id=new_id(),
        title=input.title,
        organization_id=str(input.organization_id),
        owner_id=str(input.owner_id),
        pipeline_id=str(input.pipeline_id),
        stage_id=str(input.stage_id),
        amount=amount_of(input.amount),
        currency=currency_of(input.currency),
        created_at=now,
        updated_at=now,
        contact_ids=_ids(input.contact_ids),
        probability=input.probability,
        expected_close=input.expected_close_date,
        source=input.source,
        lost_reason=input.lost_reason,
        stages=(StageChange(str(input.stage_id), now, by),),
    )


async def shown(info: ContextInfo, found: Sequence[Deal]) -> list[Opportunity]:
    """The opportunities as GraphQL shows them, their pipelines read in one round trip."""
    wanted = {o.pipeline_id for o in found}
    stored = await info.context.store.pipelines(sorted(wanted)) if wanted else {}
    return [Opportunity.of(o, stored[o.pipeline_id]) for o in found if o.pipeline_id in stored]


async def _one(info: ContextInfo, deal: Deal) -> Opportunity:
    return (await shown(info, [deal]))[0]


async def _changed(
    info: ContextInfo,
    opportunity_id: str,
    expected_version: int | None,
    organization_id: str | None,
    change: Callable[[Deal], Deal],
    people: Sequence[str] = (),
) -> Opportunity:
    """Write a change of a stored opportunity: the viewer needs WRITE where its
    organization is and, when it moves to another, there too; the people given that it
    does not name yet are checked as the guard checks new ones."""
    store = info.context.store
    current = (await store.get_opportunities([opportunity_id])).get(opportunity_id)
    if current is None:
        raise NotFound(f"opportunity {opportunity_id} does not exist")
    checked = {current.organization_id, organization_id or current.organization_id}

    def make(stored: Deal | None) -> Deal:
        base = opportunities.following(stored, opportunity_id, expected_version)
        if base.organization_id not in checked:
            raise Conflict(f"opportunity {opportunity_id} changed meanwhile; read it again")
        return replace(change(base), updated_at=utcnow())

    named = [p for p in people if p not in current.references()]
    written = await store.write_opportunity(opportunity_id, make, sorted(checked), named)
    return await _one(info, written)


@strawberry.type
class OpportunityQuery:
    @strawberry.field(
        description="Opportunities by filter, cursor-paged; only those whose organization the "
        "viewer may read."
    )
    async def opportunities(
        self,
        info: ContextInfo,
        filter: Annotated[
            OpportunityFilter | None, strawberry.argument(description="Which ones.")
        ] = None,
        order_by: Annotated[
            OpportunityOrder,  # type: ignore[valid-type]
            strawberry.argument(description="Their order."),
        ] = opportunity_reads.OpportunityOrder.CLOSE_DATE,
        first: First = None,
        after: After = None,
    ) -> Connection[Opportunity]:
        given = filter or OpportunityFilter()
        close_after, close_before = _window(
            given.close_between, given.close_after, given.close_before
        )
        query = opportunity_reads.OpportunityQuery(
            page=info.context.page(first, after),
            order=order_by,
            pipeline_id=None if given.pipeline_id is None else str(given.pipeline_id),
            stage_ids=_ids(given.stage_ids),
            owner_ids=_ids(given.owner_ids),
            organization_id=None if given.organization_id is None else str(given.organization_id),
            include_descendants=given.include_descendants,
            now=info.context.now,
            close_after=close_after,
            close_before=close_before,
            statuses=() if given.status is None else (given.status,),
        )
        query.check()
        if query.page.after is not None:
            query.after()  # a malformed cursor is BAD_USER_INPUT before the store is asked
        page = await info.context.store.list_opportunities(query)
        edges = [
            Edge(cursor=opportunity_reads.cursor(query, o), node=node)
            for o, node in zip(
                page.opportunities, await shown(info, page.opportunities), strict=True
            )
        ]
        return Connection(edges=edges, page_info=page_info(edges, page.has_next))

    @strawberry.field(
        description="Per stage (in pipeline order) and currency: how many opportunities, "
        "their sum and their probability-weighted sum, exact; of those the viewer may read."
    )
    async def pipeline_summary(
        self,
        info: ContextInfo,
        pipeline_id: Annotated[strawberry.ID, strawberry.argument(description="The pipeline.")],
        owner_ids: OwnerIds = None,
        close_after: CloseAfter = None,
        close_before: CloseBefore = None,
        close_between: CloseBetween = None,
    ) -> list[StageSummary]:
        close_after, close_before = _window(close_between, close_after, close_before)
        store = info.context.store
        pipeline = (await store.pipelines([str(pipeline_id)])).get(str(pipeline_id))
        if pipeline is None:
            raise NotFound(f"pipeline {pipeline_id} does not exist")
        query = opportunity_reads.OpportunityQuery(
            page=Page(0),
            pipeline_id=pipeline.id,
            owner_ids=_ids(owner_ids),
            close_after=close_after,
            close_before=close_before,
        )
        query.check()
        stages = {s.id: s for s in Pipeline.of(pipeline).stages}
        return [
            StageSummary(
                stage=stages[row.stage_id],
                currency=row.currency,
                count=row.count,
                amount=row.amount,
                weighted_amount=row.weighted,
            )
            for row in opportunity_reads.summary(pipeline, await store.opportunity_figures(query))
        ]


@strawberry.type
class OpportunityMutation:
    @strawberry.mutation(
        description="Open an opportunity in a stage of a pipeline (WRITE where its "
        "organization is); its first stage starts its stage history."
    )
    async def create_opportunity(
        self,
        info: ContextInfo,
        input: Annotated[CreateOpportunityInput, strawberry.argument(description="The deal.")],
    ) -> Opportunity:
        deal = deal_of(input, info.context.viewer.id, utcnow())

        def make(stored: Deal | None) -> Deal:
            if stored is not None:
                raise Conflict(f"opportunity {deal.id} exists")
            return deal

        made = await info.context.store.write_opportunity(
            deal.id, make, [deal.organization_id], (deal.owner_id, *deal.contact_ids)
        )
        return await _one(info, made)

    @strawberry.mutation(
        description="Change an opportunity's fields (WRITE where its organization is); a "
        "stale expectedVersion is a CONFLICT. Its stage changes with moveOpportunity."
    )
    async def update_opportunity(
        self,
        info: ContextInfo,
        id: OpportunityId,
        input: Annotated[UpdateOpportunityInput, strawberry.argument(description="What.")],
        expected_version: ExpectedVersion = None,
    ) -> Opportunity:
        amount = None if input.amount is None else amount_of(input.amount)
        currency = None if input.currency is None else currency_of(input.currency)
        organization = None if input.organization_id is None else str(input.organization_id)
        contacts = None if input.contact_ids is None else _ids(input.contact_ids)

        def change(deal: Deal) -> Deal:
            return replace(
                deal,
                title=deal.title if input.title is None else input.title,
                organization_id=organization or deal.organization_id,
                owner_id=deal.owner_id if input.owner_id is None else str(input.owner_id),
                amount=deal.amount if amount is None else amount,
                currency=currency or deal.currency,
                contact_ids=deal.contact_ids if contacts is None else contacts,
                probability=deal.probability
                if input.probability is strawberry.UNSET
                else input.probability,
                expected_close=input.expected_close_date or deal.expected_close,
                source=deal.source if input.source is None else input.source,
            )

        owner = () if input.owner_id is None else (str(input.owner_id),)
        people = (*owner, *(contacts or ()))
        return await _changed(info, str(id), expected_version, organization, change, people)

    @strawberry.mutation(
        description="Move an opportunity to another stage of its pipeline, kept in its stage "
        "history with who and when; a LOST stage needs lostReason. A stale expectedVersion "
        "is a CONFLICT."
    )
    async def move_opportunity(
        self,
        info: ContextInfo,
        id: OpportunityId,
        stage_id: Annotated[strawberry.ID, strawberry.argument(description="The new stage.")],
        expected_version: ExpectedVersion = None,
        lost_reason: Annotated[
            str | None,
            strawberry.argument(
                description=f"Why it was lost, 1 to {opportunities.MAX_TEXT} characters: "
                "required for a LOST stage."
            ),
        ] = None,
    ) -> Opportunity:
        by = info.context.viewer.id

        def change(deal: Deal) -> Deal:
            moved = opportunities.moved(deal, str(stage_id), utcnow(), by)
            return replace(moved, lost_reason=lost_reason)

        return await _changed(info, str(id), expected_version, None, change)
