"""The GraphQL type of an activity: a call, meeting or note with one or more parties."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types.nodes import Selection

from ..graph import history, model
from ..graph.cursors import check_instant_cursor, encode_cursor
from ..graph.errors import BadUserInput
from ..graph.times import format_instant
from ..resolvers.context import (
    Context,
    ContextInfo,
    field_selections,
    selected_at,
    selects,
)
from .enums import ActivityStatus, ActivityType, Response
from .history import Change, ChangeKind, node_history
from .node import Node
from .pages import EDGES, PAGE_INFO, Connection, Edge, PageInfo, page_info
from .party_reads import PartyType, UserType, load_parties, load_party, load_user

if TYPE_CHECKING:
    from .opportunities import Opportunity


@strawberry.type(description="A person taking part in an appointment, and their answer.")
class Attendee:
    party_id: strawberry.ID = strawberry.field(description="The user or contact attending.")
    response: Response = strawberry.field(description="Their answer to the invitation.")  # type: ignore[valid-type]

    @strawberry.field(description="The party behind partyId; null when the viewer may not read it.")
    async def party(self, info: ContextInfo) -> PartyType | None:
        found = await load_parties(info, [self.party_id])  # outside a scope: null, no error
        return found[0] if found else None


@strawberry.type(
    description="Something that happened with one or more parties, or that is planned to: "
    "an appointment (startsAt) or a task (dueAt)."
)
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
    status: ActivityStatus = strawberry.field(  # type: ignore[valid-type]
        description="PLANNED until completed or cancelled; what is recorded is DONE."
    )
    version: int = strawberry.field(
        description="One more at each change: give it as updateActivity's expectedVersion."
    )
    starts_at: datetime | None = strawberry.field(
        description="When an appointment (its first occurrence) starts; null for others."
    )
    ends_at: datetime | None = strawberry.field(
        description="When an appointment (its first occurrence) ends; null when open-ended."
    )
    time_zone: str | None = strawberry.field(
        description="The IANA time zone it was planned in (Europe/Berlin): how to show its "
        "times, and where a recurrence keeps its local time across daylight-saving changes."
    )
    due_at: datetime | None = strawberry.field(description="When a task is due; null for others.")
    location: str | None = strawberry.field(description="Where it takes place, free text.")
    recurrence: str | None = strawberry.field(
        description="How an appointment repeats: an RFC 5545 RRULE (FREQ=WEEKLY;COUNT=10); "
        "agendas show each occurrence."
    )
    assignee_ids: list[strawberry.ID] = strawberry.field(
        description="The users who are to do it, in the order given."
    )
    attendees: list[Attendee] = strawberry.field(
        description="The users and contacts invited, each with their answer."
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

    opportunity_id: strawberry.Private[str | None]

    change: ChangeKind | None = strawberry.field(  # type: ignore[valid-type]
        description="In a live feed (activityAdded), what was done to it: "
        "ACTIVITY_RECORDED, _SCHEDULED, _UPDATED, _COMPLETED or _CANCELLED. Null elsewhere."
    )

    @strawberry.field(
        description="The sales opportunity it is for; null when none, or when the viewer "
        "may not see it."
    )
    async def opportunity(
        self, info: ContextInfo
    ) -> Annotated[Opportunity, strawberry.lazy(".opportunities")] | None:
        from .opportunities import Opportunity  # it shows its timeline of activities

        if self.opportunity_id is None:
            return None
        found = await info.context.loaders.deals.load(self.opportunity_id)
        if found is None:
            return None
        pipeline = await info.context.loaders.pipelines.load(found.pipeline_id)
        return None if pipeline is None else Opportunity.of(found, pipeline)

    @strawberry.field(description="The party behind sourceId.")
    async def source(self, info: ContextInfo) -> PartyType | None:
        return None if self.source_id is None else await load_party(info, self.source_id)

    @strawberry.field(
        description="The user it is recorded for, who did it; readable also outside a "
        "scoped viewer's scope."
    )
    async def author(self, info: ContextInfo) -> UserType:
        return await load_user(info, self.author_id)

    @strawberry.field(description="The users behind assigneeIds.")
    async def assignees(self, info: ContextInfo) -> list[UserType]:
        return list(await asyncio.gather(*(load_user(info, u) for u in self.assignee_ids)))

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
    def ref_of(cls, ref: model.ActivityRef, source_id: str | None) -> Activity:
        """The GraphQL object of an activity read by id and time only; its other fields are
        unset (reading one fails), which is why only selections within _REF_FIELDS get one."""
        activity = object.__new__(cls)
        activity.id = ref.id  # type: ignore[assignment]  # an ID is a str: no NewType call a row
        activity.occurred_at = ref.occurred_at
        activity.source_id = source_id  # type: ignore[assignment]
        return activity

    @classmethod
    def of(
        cls,
        activity: model.Activity,
        source_id: str | None = None,
        change: history.ChangeKind | None = None,
    ) -> Activity:
        schedule = activity.schedule or model.Schedule()
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
            change=change,
            status=activity.status,
            version=activity.version,
            starts_at=schedule.starts_at,
            ends_at=schedule.ends_at,
            time_zone=schedule.time_zone,
            due_at=schedule.due_at,
            location=schedule.location,
            recurrence=schedule.recurrence,
            assignee_ids=[strawberry.ID(u) for u in schedule.assignee_ids],
            opportunity_id=activity.opportunity_id,
            attendees=[
                Attendee(party_id=strawberry.ID(a.party_id), response=a.response)
                for a in schedule.attendees
            ],
        )


@strawberry.type(description="How many activities of one type a list holds.")
class ActivityTypeCount:
    type: ActivityType = strawberry.field(description="The type.")
    count: int = strawberry.field(description="How many activities of it, never 0.")


@strawberry.type(description="A page of a timeline, with how many activities it holds in all.")
class TimelineConnection:
    edges: list[Edge[Activity]] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    counts: strawberry.Private[dict[model.ActivityType, int] | None]

    @strawberry.field(
        description="How many activities the whole timeline holds with its filters (the "
        "cursor aside), each once; counted only when asked, reading every one of them."
    )
    def total_count(self) -> int:
        return sum(self._counted().values())

    @strawberry.field(
        description="totalCount by type, the types it holds only, in the order of the "
        "ActivityType values."
    )
    def counts_by_type(self) -> list[ActivityTypeCount]:
        counted = self._counted()
        return [
            ActivityTypeCount(type=t, count=counted[t]) for t in model.ActivityType if t in counted
        ]

    def _counted(self) -> dict[model.ActivityType, int]:
        if self.counts is None:  # the resolver counts whenever either field is selected
            raise LookupError("the timeline was not counted")
        return self.counts


# all a timeline's selection may read of its activities to be given ActivityRefs: what one
# holds, and what the page's entry tells (the source)
_SOURCE_FIELDS = frozenset({"sourceId", "source"})
_REF_FIELDS = frozenset({"id", "occurredAt", "__typename"}) | _SOURCE_FIELDS


def check_window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and until <= since:
        raise BadUserInput("until must be later than since")


def timeline_query(
    context: Context,
    selected: list[Selection],
    first: int | None,
    after: str | None,
    types: list[model.ActivityType] | None,
    since: datetime | None,
    until: datetime | None,
    search: str | None,
    rollup: model.Rollup | None = None,
) -> model.TimelineQuery:
    """A timeline's arguments checked and read, as a party's and a deal's take them; it
    counts when totalCount or countsByType is asked, since counting reads it whole, and
    reads whole activities only when a field asks more than their ids and times, and a
    roll-up's sources only when asked."""
    check_window(since, until)
    if after is not None:
        check_instant_cursor(after)
    nodes = selected_at(selected, ("edges", "node"))
    return model.TimelineQuery(
        page=context.page(first, after),
        types=tuple(dict.fromkeys(types or ())),
        since=since,
        until=until,
        rollup=rollup,
        search=search,
        count=any(selects(selected, f) for f in ("totalCount", "countsByType")),
        whole=bool(nodes - _REF_FIELDS),
        sources=bool(nodes & _SOURCE_FIELDS),
    )


def timeline_connection(
    info: ContextInfo, page: model.TimelinePage, query: model.TimelineQuery
) -> TimelineConnection:
    """A page of a timeline as GraphQL answers it; a roll-up's activities name their source.
    An edge's cursor is encoded only when edges' cursors are read (the page's end needs
    the last): 50 organizations' five newest cost 250 encodings a request."""
    cursors = "cursor" in selected_at(field_selections(info), ("edges",))
    last = len(page.entries) - 1
    edges = [
        Edge(
            cursor=encode_cursor(format_instant(e.activity.occurred_at), e.activity.id)
            if cursors or i == last
            else "",
            node=_node(e.activity, e.source_id if query.rollup else None),
        )
        for i, e in enumerate(page.entries)
    ]
    counts = (page.counts_by_type or {}) if query.count else None
    return TimelineConnection(edges=edges, page_info=page_info(edges, page.has_next), counts=counts)


def _node(activity: model.Activity | model.ActivityRef, source_id: str | None) -> Activity:
    if isinstance(activity, model.Activity):
        return Activity.of(activity, source_id)
    return Activity.ref_of(activity, source_id)
