"""The Mutation root. Each mutation is one store transaction: all or nothing."""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from ..graph import model
from ..graph.errors import BadUserInput, LimitExceeded
from ..graph.events import ActivityRead
from ..graph.identity import Permission
from ..graph.ids import new_id
from ..graph.records import new_party
from ..graph.times import utcnow
from ..schema.common_arguments import PartyId
from ..schema.inputs import (
    MAX_NEW_ACTIVITIES,
    MAX_NEW_LINKS,
    CreateContactInput,
    CreateOrganizationInput,
    CreateUserInput,
    LinkInput,
    NewActivityInput,
    NewLinkInput,
    PartyDataInput,
    RecordActivityInput,
    UpdatePartyInput,
)
from ..schema.merging import MergeResult, UnmergeResult, merge_parties, unmerge_party
from ..schema.types import (
    Activity,
    Contact,
    ContextInfo,
    Organization,
    Party,
    Relationship,
    User,
    party_of,
)
from .categories import CategoryMutation
from .duplicates import refuse_duplicates
from .identity import IdentityMutation
from .leads import LeadMutation
from .opportunities import OpportunityMutation
from .pipelines import PipelineMutation
from .scheduling import SchedulingMutation, for_deal
from .subscription import announce


async def _create(
    info: ContextInfo, party: model.Party, input: PartyDataInput | None = None
) -> Party:
    """The party, with the edge that files it under its parent and the links its input
    asks for, in one write; with checkDuplicates, none when it may be a party that exists
    (checked first: two creates racing may both pass)."""
    context = info.context
    # since the request's now, which its reads default to: the answer shows the edges
    edges = [_new_link(party.id, link, context.now) for link in _links(input)]
    if input is not None and input.parent_id is not None:
        rel_type = (
            model.RelType.PART_OF
            if party.kind is model.PartyKind.ORGANIZATION
            else model.RelType.MEMBER_OF
        )
        edges.insert(
            0, model.Relationship(new_id(), rel_type, party.id, input.parent_id, context.now)
        )
    activities = [_new_activity(info, party.id, new) for new in _activities(input)]
    if input is not None and input.check_duplicates:
        await refuse_duplicates(context, party)
    if not edges and not activities:
        return _answer(info, await context.store.create_party(party), edges)
    made = await context.store.create_filed(party, edges, activities)  # type: ignore[attr-defined]
    for activity in activities:  # committed: now subscribers may see them
        await announce(context, activity)
    return _answer(info, made, edges)


def _answer(info: ContextInfo, made: model.Party, edges: list[model.Relationship]) -> Party:
    """The new party, whose relationships a viewer who reads everywhere is answered from
    the write, without a transaction to read them back; a scoped reader's are read through
    its scope, as any read of them is (the new party may lie outside it)."""
    answer = party_of(made)
    if info.context.viewer.can(Permission.READ):
        answer.written_edges = tuple(edges)
    return answer


def _activities(input: PartyDataInput | None) -> list[NewActivityInput]:
    activities = input.activities if input is not None else []
    if len(activities) > MAX_NEW_ACTIVITIES:
        raise LimitExceeded(f"a new party may bring at most {MAX_NEW_ACTIVITIES} activities")
    return activities


def _new_activity(info: ContextInfo, party_id: str, new: NewActivityInput) -> model.Activity:
    viewer = info.context.viewer
    return model.Activity(
        id=new_id(),
        type=new.type,
        occurred_at=new.occurred_at or info.context.now,
        summary=new.summary.strip(),
        body=new.body,
        author_id=viewer.id,
        subject_ids=tuple(dict.fromkeys([party_id, *new.subject_ids])),
        recorded_by_id=viewer.id,
    )


def _links(input: PartyDataInput | None) -> list[NewLinkInput]:
    links = input.links if input is not None else []
    if len(links) > MAX_NEW_LINKS:
        raise LimitExceeded(f"a new party may bring at most {MAX_NEW_LINKS} links")
    return links


def _new_link(party_id: str, link: NewLinkInput, now: datetime) -> model.Relationship:
    if (link.from_id is None) == (link.to_id is None):
        raise BadUserInput("a link of a new party names its other end: fromId or toId, not both")
    return model.Relationship(
        id=new_id(),
        type=link.type,
        from_id=link.from_id or party_id,
        to_id=link.to_id or party_id,
        role=link.role,
        since=link.since or now,
        properties=_properties(link.properties),
    )


def _properties(value: JSON | None) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadUserInput("properties must be a JSON object")
    return value


NEW_PARTY = strawberry.argument(description="The new party.")
WITH_INPUT = (
    "with the edge to its parent, the links and the activities its input brings, in one write."
)


@strawberry.type(
    description="What a client may change. Each mutation is one transaction: all or "
    "nothing. Writing needs the WRITE permission where the parties touched are (a viewer "
    "scoped to a subtree writes inside it only); mutations that need more say so."
)
class Mutation(
    IdentityMutation,
    CategoryMutation,
    SchedulingMutation,
    PipelineMutation,
    OpportunityMutation,
    LeadMutation,
):
    merge_parties: MergeResult = strawberry.mutation(
        resolver=merge_parties, description=inspect.cleandoc(merge_parties.__doc__ or "")
    )
    unmerge_party: UnmergeResult = strawberry.mutation(
        resolver=unmerge_party, description=inspect.cleandoc(unmerge_party.__doc__ or "")
    )

    @strawberry.mutation(description=f"Create an organization or unit, {WITH_INPUT}")
    async def create_organization(
        self, info: ContextInfo, input: Annotated[CreateOrganizationInput, NEW_PARTY]
    ) -> Organization:
        party = new_party(
            model.PartyKind.ORGANIZATION,
            name=input.name.strip(),
            legal_form=input.legal_form,
            unit_type=input.level_id(),
            **input.party_data(),
        )
        return await _create(info, party, input)  # type: ignore[return-value]

    @strawberry.mutation(description=f"Create a contact, {WITH_INPUT}")
    async def create_contact(
        self, info: ContextInfo, input: Annotated[CreateContactInput, NEW_PARTY]
    ) -> Contact:
        party = new_party(
            model.PartyKind.CONTACT,
            display_name=input.display_name,
            first_name=input.first_name,
            last_name=input.last_name,
            legal_form=input.legal_form,
            **input.party_data(),
        )
        return await _create(info, party, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Create a user (ADMIN); it holds no role until grantRole gives it one."
    )
    async def create_user(
        self, info: ContextInfo, input: Annotated[CreateUserInput, NEW_PARTY]
    ) -> User:
        party = new_party(
            model.PartyKind.USER,
            display_name=input.display_name,
            username=input.username,
            legal_form=model.LegalForm.NATURAL_PERSON,
            contact_id=input.contact_id,
            emails=(model.Email(input.email, "work"),) if input.email else (),
        )
        return await _create(info, party)  # type: ignore[return-value]

    @strawberry.mutation(description="Change fields; a stale expectedVersion is a CONFLICT.")
    async def update_party(
        self,
        info: ContextInfo,
        id: PartyId,
        input: Annotated[
            UpdatePartyInput, strawberry.argument(description="The fields to change.")
        ],
        expected_version: Annotated[
            int | None,
            strawberry.argument(
                description="The version the change was made against (Party.version); when "
                "the party has moved on since, nothing is written and the answer is CONFLICT."
            ),
        ] = None,
    ) -> Party:
        updated = await info.context.store.update_party(
            id, input.changes(), expected_version, utcnow()
        )
        return party_of(updated)

    @strawberry.mutation(description="Mark a party archived; its history stays readable.")
    async def archive_party(self, info: ContextInfo, id: PartyId) -> Party:
        return party_of(await info.context.store.archive_party(id, utcnow()))

    @strawberry.mutation(
        description="Undo an archive: the party is listed again, with every relationship "
        "and activity it had; restoring a party that is not archived changes nothing."
    )
    async def restore_party(self, info: ContextInfo, id: PartyId) -> Party:
        return party_of(await info.context.store.archive_party(id, utcnow(), archive=False))

    @strawberry.mutation(
        description="Make a relationship; inside a write scope both ends must be inside it."
    )
    async def link(
        self,
        info: ContextInfo,
        input: Annotated[LinkInput, strawberry.argument(description="The new edge.")],
    ) -> Relationship:
        rel = model.Relationship(
            id=new_id(),
            type=input.type,
            from_id=input.from_id,
            to_id=input.to_id,
            role=input.role,
            since=input.since or utcnow(),
            properties=_properties(input.properties),
        )
        seen: dict[str, model.Party] = {}
        linked = await info.context.store.link(rel, seen)
        info.context.answer_with(seen)
        return Relationship.of(linked)

    @strawberry.mutation(description="End a relationship at `until` (default now); it is kept.")
    async def unlink(
        self,
        info: ContextInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="The relationship's id.")],
        until: Annotated[
            datetime | None,
            strawberry.argument(
                description="When it ended (exclusive); defaults to now. It must be after its "
                "since."
            ),
        ] = None,
    ) -> Relationship:
        return Relationship.of(await info.context.store.unlink(id, until or utcnow()))

    @strawberry.mutation(
        description="Record an activity with existing parties; live feeds hear of it once "
        "it commits."
    )
    async def record_activity(
        self,
        info: ContextInfo,
        input: Annotated[RecordActivityInput, strawberry.argument(description="The new activity.")],
    ) -> Activity:
        viewer = info.context.viewer
        activity = model.Activity(
            id=new_id(),
            type=input.type,
            occurred_at=input.occurred_at or utcnow(),
            summary=input.summary.strip(),
            body=input.body,
            author_id=input.author_id or viewer.id,
            subject_ids=tuple(input.subject_ids),
            recorded_by_id=viewer.id,
        )
        activity = await for_deal(info, activity, input.opportunity_id)
        seen = ActivityRead(info.context.settings.max_depth)
        recorded = await info.context.store.record_activity(activity, seen)
        # committed: now subscribers may see it
        await announce(info.context, recorded, read=seen)
        info.context.answer_with(seen)
        return Activity.of(recorded)
