"""The Mutation root. Each mutation is one store transaction: all or nothing."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from ..graph import model
from ..graph.errors import BadUserInput
from ..graph.ids import new_id
from ..graph.records import new_party
from ..graph.times import utcnow
from ..schema.inputs import (
    CreateContactInput,
    CreateOrganizationInput,
    CreateUserInput,
    LinkInput,
    RecordActivityInput,
    UpdatePartyInput,
)
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
from .identity import IdentityMutation
from .subscription import announce


async def _create(info: ContextInfo, party: model.Party, parent_id: str | None = None) -> Party:
    """The party, and with a parent the edge that files it there, in one write."""
    context = info.context
    if parent_id is None:
        return party_of(await context.store.create_party(party))
    rel_type = (
        model.RelType.PART_OF
        if party.kind is model.PartyKind.ORGANIZATION
        else model.RelType.MEMBER_OF
    )
    # since the request's now, which its reads default to: the answer shows the edge
    filed = model.Relationship(new_id(), rel_type, party.id, parent_id, context.now)
    return party_of(await context.store.create_filed(party, filed))  # type: ignore[attr-defined]


def _properties(value: JSON | None) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadUserInput("properties must be a JSON object")
    return value


@strawberry.type
class Mutation(IdentityMutation):
    @strawberry.mutation
    async def create_organization(
        self, info: ContextInfo, input: CreateOrganizationInput
    ) -> Organization:
        party = new_party(
            model.PartyKind.ORGANIZATION,
            name=input.name.strip(),
            legal_form=input.legal_form,
            unit_type=input.unit_type,
            **input.party_data(),
        )
        return await _create(info, party, input.parent_id)  # type: ignore[return-value]

    @strawberry.mutation
    async def create_contact(self, info: ContextInfo, input: CreateContactInput) -> Contact:
        party = new_party(
            model.PartyKind.CONTACT,
            display_name=input.display_name,
            first_name=input.first_name,
            last_name=input.last_name,
            legal_form=input.legal_form,
            **input.party_data(),
        )
        return await _create(info, party, input.parent_id)  # type: ignore[return-value]

    @strawberry.mutation
    async def create_user(self, info: ContextInfo, input: CreateUserInput) -> User:
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
        id: strawberry.ID,
        input: UpdatePartyInput,
        expected_version: int | None = None,
    ) -> Party:
        updated = await info.context.store.update_party(
            id, input.changes(), expected_version, utcnow()
        )
        return party_of(updated)

    @strawberry.mutation(description="Mark a party archived; its history stays readable.")
    async def archive_party(self, info: ContextInfo, id: strawberry.ID) -> Party:
        return party_of(await info.context.store.archive_party(id, utcnow()))

    @strawberry.mutation(
        description="Undo an archive: the party is listed again, with every relationship "
        "and activity it had; restoring a party that is not archived changes nothing."
    )
    async def restore_party(self, info: ContextInfo, id: strawberry.ID) -> Party:
        return party_of(await info.context.store.archive_party(id, utcnow(), archive=False))

    @strawberry.mutation
    async def link(self, info: ContextInfo, input: LinkInput) -> Relationship:
        rel = model.Relationship(
            id=new_id(),
            type=input.type,
            from_id=input.from_id,
            to_id=input.to_id,
            role=input.role,
            since=input.since or utcnow(),
            properties=_properties(input.properties),
        )
        return Relationship.of(await info.context.store.link(rel))

    @strawberry.mutation(description="End a relationship at `until` (default now); it is kept.")
    async def unlink(
        self, info: ContextInfo, id: strawberry.ID, until: datetime | None = None
    ) -> Relationship:
        return Relationship.of(await info.context.store.unlink(id, until or utcnow()))

    @strawberry.mutation
    async def record_activity(self, info: ContextInfo, input: RecordActivityInput) -> Activity:
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
        recorded = await info.context.store.record_activity(activity)
        await announce(info.context, recorded)  # committed: now subscribers may see it
        return Activity.of(recorded)
