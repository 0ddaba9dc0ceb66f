"""The GraphQL type of an activity: a call, meeting or note with one or more parties."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ..graph import model
from ..resolvers.context import ContextInfo
from .enums import ActivityType
from .history import Change, node_history
from .node import Node
from .pages import Connection
from .party_reads import PartyType, UserType, load_parties, load_party, load_user


@strawberry.type(description="Something that happened with one or more parties.")
class Activity(Node):
    type: ActivityType = strawberry.field(description="What kind of activity it was.")
    occurred_at: datetime = strawberry.field(
        description="When it happened (not when it was recorded: see history); timelines are "
        "ordered by it."
    )
    summary: str = strawberry.field(description="One line, for lists; never empty.")
    body: str | None = strawberry.field(
        description="The full text, line breaks kept; null when there is none."
    )
    author_id: strawberry.ID = strawberry.field(description="The id of the user behind author.")
    recorded_by_id: strawberry.ID | None = strawberry.field(
        description="The user who recorded it: the author, unless an admin recorded it for "
        "them. Null for seeded activities and those recorded before sign-in existed."
    )
    subject_ids: list[strawberry.ID] = strawberry.field(
        description="The ids of the parties it is about, in the order given when recorded."
    )
    history: Connection[Change] = strawberry.field(
        resolver=node_history,
        description="How it was recorded, and what was done to it, newest first.",
    )
    source_id: strawberry.ID | None = strawberry.field(
        description="In a roll-up timeline or feed, the subject that brought this activity "
        "in: the party asked about when it is a subject, else the first subject below it. "
        "Null elsewhere."
    )

    @strawberry.field(description="The party behind sourceId.")
    async def source(self, info: ContextInfo) -> PartyType | None:
        return None if self.source_id is None else await load_party(info, self.source_id)

    @strawberry.field(
        description="The user it is recorded for, who did it; readable also outside a "
        "scoped viewer's scope."
    )
    async def author(self, info: ContextInfo) -> UserType:
        return await load_user(info, self.author_id)

    @strawberry.field(description="The user behind recordedById.")
    async def recorded_by(self, info: ContextInfo) -> UserType | None:
        if self.recorded_by_id is None:
            return None
        return await load_user(info, self.recorded_by_id)

    @strawberry.field(
        description="The parties it is about, as subjectIds orders them; those the viewer may "
        "not read are left out."
    )
    async def subjects(self, info: ContextInfo) -> list[PartyType]:
        return await load_parties(info, self.subject_ids)

    @classmethod
    def of(cls, activity: model.Activity, source_id: str | None = None) -> Activity:
        return cls(
            id=strawberry.ID(activity.id),
            type=activity.type,
            occurred_at=activity.occurred_at,
            summary=activity.summary,
            body=activity.body,
            author_id=strawberry.ID(activity.author_id),
            recorded_by_id=None
            if activity.recorded_by_id is None
            else strawberry.ID(activity.recorded_by_id),
            subject_ids=[strawberry.ID(s) for s in activity.subject_ids],
            source_id=None if source_id is None else strawberry.ID(source_id),
        )
