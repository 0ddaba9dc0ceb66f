"""The agenda as GraphQL shows it: a page of occurrences in time order, each with the
activity, the asked users whose agenda holds it, and what it clashes with."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import strawberry

from ..graph import agenda, model
from ..resolvers.context import ContextInfo
from .activities import Activity
from .enums import ActivityStatus, ActivityType
from .pages import Connection, Edge, page_info
from .party_reads import UserType, load_user


@strawberry.type(description="One occurrence of an activity on an agenda.")
class AgendaEntry:
    starts_at: datetime = strawberry.field(
        description="When this occurrence starts: an appointment's start (each occurrence of "
        "a recurring one), a task's due date, else when the activity happened."
    )
    ends_at: datetime = strawberry.field(
        description="When it ends; equal to startsAt for what has no duration."
    )
    activity: Activity = strawberry.field(description="The activity, as it stands.")
    user_ids: list[strawberry.ID] = strawberry.field(
        description="The users asked about whose agenda it is on: as author, assignee or attendee."
    )
    conflicts_with: list[strawberry.ID] = strawberry.field(
        description="The activities whose occurrences overlap this one for one of userIds "
        "(neither cancelled nor declined by that user), in id order; empty when none."
    )

    @strawberry.field(description="Whether it overlaps another appointment of one of userIds.")
    def conflict(self) -> bool:
        return bool(self.conflicts_with)

    @strawberry.field(description="The users behind userIds.")
    async def users(self, info: ContextInfo) -> list[UserType]:
        return list(await asyncio.gather(*(load_user(info, u) for u in self.user_ids)))


From = Annotated[
    datetime,
    strawberry.argument(
        name="from", description="The window's start: occurrences ending after it show."
    ),
]
To = Annotated[
    datetime,
    strawberry.argument(
        description="The window's end, exclusive: later than from, at most "
        f"{agenda.MAX_WINDOW.days} days after it (else LIMIT_EXCEEDED)."
    ),
]
AgendaTypes = Annotated[
    list[ActivityType] | None,  # type: ignore[valid-type]
    strawberry.argument(description="Only activities of these types; all when not given."),
]
Statuses = Annotated[
    list[ActivityStatus] | None,  # type: ignore[valid-type]
    strawberry.argument(
        description="Only activities in these statuses; when not given, PLANNED and DONE "
        "(cancelled ones are asked for)."
    ),
]
SHOWN = (model.ActivityStatus.PLANNED, model.ActivityStatus.DONE)


def agenda_query(
    people: tuple[str, ...],
    since: datetime,
    until: datetime,
    types: list[model.ActivityType] | None,
    statuses: list[model.ActivityStatus] | None,
) -> agenda.AgendaQuery:
    return agenda.AgendaQuery(
        people=people,
        since=since,
        until=until,
        types=tuple(dict.fromkeys(types or ())),
        statuses=tuple(dict.fromkeys(statuses or SHOWN)),
    )


def connection(
    info: ContextInfo,
    activities: list[model.Activity],
    query: agenda.AgendaQuery,
    first: int | None,
    after: str | None,
) -> Connection[AgendaEntry]:
    """One page of the occurrences of those activities in the query's window."""
    page = info.context.page(first, after)
    found = agenda.page(agenda.entries(activities, query), page.first, page.after)
    edges = [
        Edge(
            cursor=e.cursor,
            node=AgendaEntry(
                starts_at=e.starts_at,
                ends_at=e.ends_at,
                activity=Activity.of(e.activity),
                user_ids=[strawberry.ID(u) for u in e.people],
                conflicts_with=[strawberry.ID(a) for a in e.conflicts_with],
            ),
        )
        for e in found.entries
    ]
    return Connection(edges=edges, page_info=page_info(edges, found.has_next))
