"""GraphQL of opportunities: the deal, its dated stage history, the inputs that open
and change it, and the pipeline summary's rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from ..graph import opportunities, opportunity_reads
from ..graph.errors import BadUserInput
from ..resolvers.context import ContextInfo, field_selections
from .activities import TimelineConnection, timeline_connection, timeline_query
from .common_arguments import ActivitySearch, ActivityTypes, After, First, Since, Until
from .enums import described_enum
from .history import Change, node_history
from .node import Node
from .pages import Connection, Edge, page_info
from .pipelines import Pipeline, Stage

if TYPE_CHECKING:
    from .parties import Contact, Organization, Party, User

OpportunityStatus = described_enum(
    opportunities.OpportunityStatus,
    "Where a deal stands, from its stage's outcome.",
    {"OPEN": "Being worked on.", "WON": "Closed, won.", "LOST": "Closed, lost."},
)
OpportunityOrder = described_enum(
    opportunity_reads.OpportunityOrder,
    "How a list of opportunities is ordered (ties by id).",
    {
        "CLOSE_DATE": "Expected close date, soonest first; those without one last.",
        "AMOUNT": "Amount, largest first (across currencies, by figure).",
        "UPDATED": "Last change, latest first.",
    },
)


async def _party(info: ContextInfo, party_id: str) -> object | None:
    from .types import party_of

    found = await info.context.loaders.parties.load(party_id)
    return None if found is None else party_of(found)


@strawberry.type(description="A change of an opportunity's stage: which, when and by whom.")
class StageChange:
    stage_id: strawberry.ID = strawberry.field(description="The stage it was moved to.")
    at: datetime = strawberry.field(description="When.")
    by_id: strawberry.ID | None = strawberry.field(
        description="The user who moved it; null for the server's own work."
    )


@strawberry.type(
    description="A sales opportunity: a deal with an organization, staged in a pipeline. "
    "A viewer sees it when its organization is in their scope."
)
class Opportunity(Node):
    title: str = strawberry.field(description="What the deal is.")
    amount: Decimal = strawberry.field(description="Its value, exact, in `currency`.")
    currency: str = strawberry.field(description="ISO 4217 code, such as EUR.")
    probability: int = strawberry.field(
        description="Percent chance it closes won: its own, or its stage's (always a closed "
        "stage's)."
    )
    own_probability: int | None = strawberry.field(
        description="The probability given for it; null: its stage's."
    )
    expected_close_date: date | None = strawberry.field(description="When it should close.")
    source: str = strawberry.field(description="Where it came from; may be empty.")
    lost_reason: str | None = strawberry.field(description="Why it was lost, in a LOST stage.")
    status: OpportunityStatus = strawberry.field(  # type: ignore[valid-type]
        description="OPEN, WON or LOST, from its stage."
    )
    stage: Stage | None = strawberry.field(
        description="Its stage; null if the pipeline no longer has it."
    )
    pipeline: Pipeline = strawberry.field(description="Its pipeline.")
    stage_history: list[StageChange] = strawberry.field(
        description="Every stage it was in, oldest first: its first stage on creation."
    )
    version: int = strawberry.field(
        description="Starts at 1, one more on each change: give it as expectedVersion."
    )
    created_at: datetime = strawberry.field(description="When it was opened.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    organization_id: strawberry.Private[str]
    owner_id: strawberry.Private[str]
    contact_ids: strawberry.Private[tuple[str, ...]]

    history: Connection[Change] = strawberry.field(
        resolver=node_history, description="Its changes, newest first (OPPORTUNITY_* entries)."
    )

    @strawberry.field(
        description="The activities linked to it (opportunityId when recorded, scheduled or "
        "updated), newest first (ties by id), cursor-paged, as a party's own timeline is: "
        "filtered by types, since/until and `search`; totalCount and countsByType read them "
        "all."
    )
    async def timeline(
        self,
        info: ContextInfo,
        first: First = None,
        after: After = None,
        types: ActivityTypes = None,
        since: Since = None,
        until: Until = None,
        search: ActivitySearch = None,
    ) -> TimelineConnection:
        query = timeline_query(
            info.context, field_selections(info), first, after, types, since, until, search
        )
        page = await info.context.loaders.deal_timelines.load((self.id, query))
        return timeline_connection(info, page, query)

    @strawberry.field(description="The organization the deal is with; null if out of sight.")
    async def organization(
        self, info: ContextInfo
    ) -> Annotated[Organization, strawberry.lazy(".parties")] | None:
        return await _party(info, self.organization_id)  # type: ignore[return-value]

    @strawberry.field(description="The user who owns the deal; null if out of sight.")
    async def owner(self, info: ContextInfo) -> Annotated[User, strawberry.lazy(".parties")] | None:
        return await _party(info, self.owner_id)  # type: ignore[return-value]

    @strawberry.field(description="The contacts involved, those the viewer may see.")
    async def contacts(
        self, info: ContextInfo
    ) -> list[Annotated[Contact, strawberry.lazy(".parties")]]:
        found = [await _party(info, c) for c in self.contact_ids]
        return [c for c in found if c is not None]  # type: ignore[misc]

    @classmethod
    def of(
        cls, found: opportunities.Opportunity, pipeline: opportunity_reads.Pipeline
    ) -> Opportunity:
        stage = next((s for s in pipeline.stages if s.id == found.stage_id), None)
        shown = Pipeline.of(pipeline)
        return cls(
            id=strawberry.ID(found.id),
            title=found.title,
            amount=found.amount,
            currency=found.currency,
            probability=(found.probability or 0)
            if stage is None
            else opportunities.probability(found, stage),
            own_probability=found.probability,
            expected_close_date=found.expected_close,
            source=found.source,
            lost_reason=found.lost_reason,
            status=found.status,
            stage=next((s for s in shown.stages if s.id == found.stage_id), None),
            pipeline=shown,
            stage_history=[
                StageChange(
                    stage_id=strawberry.ID(s.stage_id),
                    at=s.at,
                    by_id=None if s.by is None else strawberry.ID(s.by),
                )
                for s in found.stages
            ],
            version=found.version,
            created_at=found.created_at,
            updated_at=found.updated_at,
            organization_id=found.organization_id,
            owner_id=found.owner_id,
            contact_ids=found.contact_ids,
        )


@strawberry.input(description="An opportunity to open.")
class CreateOpportunityInput:
    title: str = strawberry.field(
        description=f"What the deal is, 1 to {opportunities.MAX_TITLE} characters."
    )
    organization_id: strawberry.ID = strawberry.field(
        description="The organization it is with; writing needs WRITE where it is."
    )
    owner_id: strawberry.ID = strawberry.field(description="The user who owns it.")
    stage_id: strawberry.ID = strawberry.field(description="Its first stage.")
    pipeline_id: strawberry.ID = strawberry.field(description="The pipeline of the stage.")
    amount: str = strawberry.field(
        description=f"Its value as decimal text such as 1250.50: at least 0, at most "
        f"{opportunities.MAX_PLACES} decimal places. Text, so no float rounds it."
    )
    currency: str = strawberry.field(description="ISO 4217 code, such as EUR.")
    contact_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description=f"The contacts involved, at most {opportunities.MAX_CONTACTS}.",
    )
    probability: int | None = strawberry.field(
        default=None, description="Percent, 0 to 100; null: the stage's."
    )
    expected_close_date: date | None = strawberry.field(
        default=None, description="When it should close (YYYY-MM-DD)."
    )
    source: str = strawberry.field(
        default="",
        description=f"Where it came from, up to {opportunities.MAX_SOURCE} characters.",
    )
    lost_reason: str | None = strawberry.field(
        default=None, description="Why it was lost: required when the stage is LOST."
    )


@strawberry.input(description="What to change of an opportunity; what is left out stays.")
class UpdateOpportunityInput:
    title: str | None = strawberry.field(default=None, description="What the deal is.")
    organization_id: strawberry.ID | None = strawberry.field(
        default=None, description="Another organization; WRITE needed at both."
    )
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Another owner.")
    amount: str | None = strawberry.field(default=None, description="Its value, decimal text.")
    currency: str | None = strawberry.field(default=None, description="ISO 4217 code.")
    contact_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="All the contacts involved from now on."
    )
    probability: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Percent, 0 to 100; null goes back to its stage's default probability "
        "(ownProbability null), so it follows the stage from then on.",
    )
    expected_close_date: date | None = strawberry.field(
        default=None, description="When it should close."
    )
    source: str | None = strawberry.field(default=None, description="Where it came from.")


@strawberry.input(description="A span of days, both ends included; an end left out leaves it open.")
class DateRange:
    from_: date | None = strawberry.field(
        default=None, name="from", description="The first day in it."
    )
    to: date | None = strawberry.field(
        default=None, description="The last day in it; not before `from` (else BAD_USER_INPUT)."
    )

    def bounds(self) -> tuple[date | None, date | None]:
        """As the store filters: from inclusive, the day after `to` exclusive."""
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise BadUserInput("a date range's `to` must not be before its `from`")
        return self.from_, None if self.to in (None, date.max) else self.to + timedelta(days=1)


@strawberry.type(description="One stage's deals in one currency, in a pipeline summary.")
class StageSummary:
    stage: Stage = strawberry.field(description="The stage.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    count: int = strawberry.field(description="How many opportunities.")
    amount: Decimal = strawberry.field(description="Their amounts' sum, exact.")
    weighted_amount: Decimal = strawberry.field(
        description="Each amount times its probability (percent / 100), summed, exact."
    )


@strawberry.type(description="What convertLead wrote.")
class ConvertedLead:
    party: Annotated[Party, strawberry.lazy(".parties")] = strawberry.field(
        description="The party, in its new category, CONVERTED."
    )
    opportunity: Opportunity | None = strawberry.field(
        description="The opportunity it opened; null when none was asked for."
    )


async def organization_opportunities(
    root: strawberry.Parent[object],
    info: ContextInfo,
    include_descendants: Annotated[
        bool,
        strawberry.argument(
            description="Also the deals of every party below it in the default hierarchy now "
            "(PART_OF, EMPLOYS, MEMBER_OF), as timelines roll up."
        ),
    ] = False,
    first: First = None,
    after: After = None,
) -> Connection[Opportunity]:
    """Its deals, soonest closing first; those the viewer may read. Nested under a page of
    organizations, one store call per level (a loader)."""
    query = opportunity_reads.OpportunityQuery(
        page=info.context.page(first, after),
        include_descendants=include_descendants,
        now=info.context.now,
    )
    query.after()  # a malformed cursor is BAD_USER_INPUT before the store is asked
    found = await info.context.loaders.opportunities.load((root.id, query))  # type: ignore[attr-defined]
    wanted = sorted({o.pipeline_id for o in found.opportunities})
    stored = await info.context.loaders.pipelines.load_many(wanted)
    pipelines = {p.id: p for p in stored if p is not None}
    edges = [
        Edge(
            cursor=opportunity_reads.cursor(query, o),
            node=Opportunity.of(o, pipelines[o.pipeline_id]),
        )
        for o in found.opportunities
    ]
    return Connection(edges=edges, page_info=page_info(edges, found.has_next))
