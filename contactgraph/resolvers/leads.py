"""convertLead: a prospect made a client, and optionally a deal opened, in one write."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..graph.times import utcnow
from ..schema.common_arguments import PartyId
from ..schema.opportunities import ConvertedLead, CreateOpportunityInput
from ..schema.types import party_of
from .context import ContextInfo
from .opportunities import deal_of, shown


@strawberry.type
class LeadMutation:
    @strawberry.mutation(
        description="Convert a lead (a contact or organization): into the category, "
        "CONVERTED, and with createOpportunity a deal opened, in one transaction with the "
        "history of each. WRITE where the party (and the deal's organization) is; a bad "
        "category or deal writes nothing; a lead converts once (CONFLICT after)."
    )
    async def convert_lead(
        self,
        info: ContextInfo,
        party_id: PartyId,
        category_id: Annotated[
            strawberry.ID, strawberry.argument(description="The category it enters.")
        ],
        create_opportunity: Annotated[
            CreateOpportunityInput | None,
            strawberry.argument(description="A deal to open with it; none when not given."),
        ] = None,
    ) -> ConvertedLead:
        now = utcnow()
        deal = None
        if create_opportunity is not None:
            deal = deal_of(create_opportunity, info.context.viewer.id, now)
        party, made = await info.context.store.convert_lead(
            str(party_id), str(category_id), deal, now
        )
        opportunity = None if made is None else (await shown(info, [made]))[0]
        return ConvertedLead(party=party_of(party), opportunity=opportunity)
