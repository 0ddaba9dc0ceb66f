"""Mutations of planned work: scheduling an appointment or task, changing it against its
version, completing and cancelling it. Each is one write with its history entry, and
live feeds hear of it once it commits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

import strawberry

from ..graph import deal_links, model, schedules
from ..graph.errors import BadUserInput, Conflict, NotFound
from ..graph.history import ChangeKind
from ..graph.ids import new_id
from ..graph.opportunities import Opportunity as Deal
from ..graph.times import utcnow
from ..schema.activities import Activity
from ..schema.enums import ActivityType, Response
from ..schema.inputs import BODY, DEAL, SUBJECTS, SUMMARY
from ..schema.types import ContextInfo
from .subscription import announce

ActivityId = Annotated[strawberry.ID, strawberry.argument(description="The activity's id.")]


@strawberry.input(description="A user or contact invited, and their answer so far.")
class AttendeeInput:
    party_id: strawberry.ID = strawberry.field(description="A user or contact.")
    response: Response = strawberry.field(  # type: ignore[valid-type]
        default=model.Response.NEEDS_ACTION, description="Defaults to NEEDS_ACTION."
    )


def _attendees(given: list[AttendeeInput] | None) -> tuple[model.Attendee, ...]:
    return tuple(model.Attendee(a.party_id, a.response) for a in given or ())


START = "When an appointment starts; with recurrence, its first occurrence."
END = "When it ends; later than startsAt (else BAD_USER_INPUT)."
ZONE = "An IANA time zone (Europe/Berlin) to show it in and to repeat it in; UTC when not given."
RULE = (
    "An RFC 5545 RRULE (FREQ=WEEKLY;BYDAY=MO;COUNT=10), needing startsAt: DAILY, WEEKLY, "
    f"MONTHLY or YEARLY, at most {schedules.MAX_COUNT} times; parts INTERVAL, COUNT, UNTIL, "
    "WKST, BYDAY, BYMONTHDAY, BYMONTH and BYSETPOS. A rule that can never occur (BYMONTH=2;"
    "BYMONTHDAY=30) is BAD_USER_INPUT."
)


@strawberry.input(description="New planned work: an appointment (startsAt) or a task (dueAt).")
class ScheduleActivityInput:
    type: ActivityType = strawberry.field(description="MEETING, CALL, TASK...")  # type: ignore[valid-type]
    summary: str = strawberry.field(description=SUMMARY)
    subject_ids: list[strawberry.ID] = strawberry.field(description=SUBJECTS)
    starts_at: datetime | None = strawberry.field(default=None, description=START)
    ends_at: datetime | None = strawberry.field(default=None, description=END)
    time_zone: str | None = strawberry.field(default=None, description=ZONE)
    due_at: datetime | None = strawberry.field(default=None, description="When a task is due.")
    location: str | None = strawberry.field(default=None, description="Where, free text.")
    recurrence: str | None = strawberry.field(default=None, description=RULE)
    assignee_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The users who are to do it."
    )
    attendees: list[AttendeeInput] | None = strawberry.field(
        default=None, description="The users and contacts invited."
    )
    body: str | None = strawberry.field(default=None, description=BODY)
    opportunity_id: strawberry.ID | None = strawberry.field(default=None, description=DEAL)


@strawberry.input(
    description="What to change; a field left out keeps its value, null clears it "
    "(summary cannot be cleared)."
)
class UpdateActivityInput:
    summary: str | None = strawberry.field(default=strawberry.UNSET, description=SUMMARY)
    body: str | None = strawberry.field(default=strawberry.UNSET, description=BODY)
    starts_at: datetime | None = strawberry.field(default=strawberry.UNSET, description=START)
    ends_at: datetime | None = strawberry.field(default=strawberry.UNSET, description=END)
    time_zone: str | None = strawberry.field(default=strawberry.UNSET, description=ZONE)
    due_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="When a task is due."
    )
    location: str | None = strawberry.field(default=strawberry.UNSET, description="Where.")
    recurrence: str | None = strawberry.field(default=strawberry.UNSET, description=RULE)
    assignee_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The users who are to do it, all of them."
    )
    attendees: list[AttendeeInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The people invited, all of them, with answers."
    )
    opportunity_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Link it to this deal (as scheduleActivity does, its subjects kept); "
        "null unlinks it.",
    )

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not strawberry.UNSET}


def _changed(activity: model.Activity, input: UpdateActivityInput) -> model.Activity:
    """The activity with the input's changes, its version one more."""
    given = input.given()
    if "summary" in given and not (given["summary"] or "").strip():
        raise BadUserInput("summary must not be empty")
    schedule = activity.schedule or model.Schedule()
    values: dict[str, Any] = {}
    for name in ("starts_at", "ends_at", "time_zone", "due_at", "location", "recurrence"):
        if name in given:
            values[name] = given[name]
    if "assignee_ids" in given:
        values["assignee_ids"] = tuple(given["assignee_ids"] or ())
    if "attendees" in given:
        values["attendees"] = _attendees(given["attendees"])
    changed = replace(
        activity,
        summary=(given.get("summary") or activity.summary).strip(),
        body=given.get("body", activity.body),
        schedule=_timed(replace(schedule, **values)),
        version=activity.version + 1,
    )
    return replace(changed, occurred_at=schedules.when(changed))


def _timed(schedule: model.Schedule) -> model.Schedule:
    if schedule.starts_at is None and schedule.due_at is None:
        raise BadUserInput("planned work needs a time: startsAt (an appointment) or dueAt (a task)")
    return schedule


async def _deal(info: ContextInfo, opportunity_id: strawberry.ID) -> Deal | None:
    return await info.context.loaders.deals.load(str(opportunity_id))


async def for_deal(
    info: ContextInfo, activity: model.Activity, opportunity_id: strawberry.ID | None
) -> model.Activity:
    """A new activity linked to the deal named, when one is."""
    if opportunity_id is None:
        return activity
    deal = await _deal(info, opportunity_id)
    return deal_links.linked(activity, deal, str(opportunity_id))


async def _relinked(
    info: ContextInfo, activity: model.Activity, opportunity_id: strawberry.ID | None
) -> model.Activity:
    """Changed planned work linked to another deal, or to none."""
    if opportunity_id is None:
        return replace(activity, opportunity_id=None)
    deal = deal_links.open_for(activity, await _deal(info, opportunity_id), str(opportunity_id))
    return replace(activity, opportunity_id=deal.id)


async def _stored(info: ContextInfo, activity_id: str) -> model.Activity:
    found = (await info.context.store.get_nodes([activity_id])).get(activity_id)
    if not isinstance(found, model.Activity):
        raise NotFound(f"activity {activity_id} does not exist")
    return found


async def _change(info: ContextInfo, activity: model.Activity, kind: ChangeKind) -> Activity:
    changed = await info.context.store.change_activity(activity, kind)
    await announce(info.context, changed, kind)
    return Activity.of(changed)


_ENDS = {
    ChangeKind.ACTIVITY_COMPLETED: model.ActivityStatus.DONE,
    ChangeKind.ACTIVITY_CANCELLED: model.ActivityStatus.CANCELLED,
}


async def _move(
    info: ContextInfo, activity_id: str, expected: int | None, kind: ChangeKind
) -> Activity:
    """Complete or cancel planned work, against the version given."""
    stored = _expected(await _stored(info, activity_id), expected)
    return await _change(info, schedules.moved(stored, _ENDS[kind], utcnow()), kind)


ExpectedVersion = Annotated[
    int | None,
    strawberry.argument(
        description="The version the change was made against (Activity.version); when the "
        "activity has moved on since, nothing is written and the answer is CONFLICT."
    ),
]


def _expected(activity: model.Activity, expected: int | None) -> model.Activity:
    """The activity read, unless the client changed it against an older version."""
    if expected is not None and expected != activity.version:
        raise Conflict(
            f"activity {activity.id} is at version {activity.version}, not {expected}: "
            "read it again"
        )
    return activity


@strawberry.type
class SchedulingMutation:
    @strawberry.mutation(
        description="Plan an appointment or a task with existing parties, authored by the "
        "viewer: PLANNED, on its author's, assignees' and attendees' agendas."
    )
    async def schedule_activity(
        self,
        info: ContextInfo,
        input: Annotated[ScheduleActivityInput, strawberry.argument(description="The plan.")],
    ) -> Activity:
        viewer = info.context.viewer
        schedule = _timed(
            model.Schedule(
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                time_zone=input.time_zone,
                due_at=input.due_at,
                location=input.location,
                recurrence=input.recurrence,
                assignee_ids=tuple(input.assignee_ids or ()),
                attendees=_attendees(input.attendees),
            )
        )
        activity = model.Activity(
            id=new_id(),
            type=input.type,
            occurred_at=schedule.starts_at or schedule.due_at or utcnow(),
            summary=input.summary.strip(),
            body=input.body,
            author_id=viewer.id,
            subject_ids=tuple(input.subject_ids),
            recorded_by_id=viewer.id,
            status=model.ActivityStatus.PLANNED,
            schedule=schedule,
        )
        activity = await for_deal(info, activity, input.opportunity_id)
        recorded = await info.context.store.record_activity(activity)
        await announce(info.context, recorded, ChangeKind.ACTIVITY_SCHEDULED)
        return Activity.of(recorded)

    @strawberry.mutation(
        description="Change planned work: its text, times, place and people. A stale "
        "expectedVersion is CONFLICT; only PLANNED work changes (else BAD_USER_INPUT)."
    )
    async def update_activity(
        self,
        info: ContextInfo,
        id: ActivityId,
        input: Annotated[UpdateActivityInput, strawberry.argument(description="The changes.")],
        expected_version: ExpectedVersion = None,
    ) -> Activity:
        stored = _expected(await _stored(info, id), expected_version)
        if stored.status is not model.ActivityStatus.PLANNED:
            raise BadUserInput(f"activity {id} is {stored.status.value}: only PLANNED work changes")
        changed = _changed(stored, input)
        if input.opportunity_id is not strawberry.UNSET:
            changed = await _relinked(info, changed, input.opportunity_id)
        return await _change(info, changed, ChangeKind.ACTIVITY_UPDATED)

    @strawberry.mutation(
        description="Mark planned work DONE: an appointment then happened at its start, other "
        "work now. Only PLANNED work can be completed (else BAD_USER_INPUT)."
    )
    async def complete_activity(
        self, info: ContextInfo, id: ActivityId, expected_version: ExpectedVersion = None
    ) -> Activity:
        return await _move(info, id, expected_version, ChangeKind.ACTIVITY_COMPLETED)

    @strawberry.mutation(
        description="Call planned work off: CANCELLED, kept in its history. Only PLANNED "
        "work can be cancelled (else BAD_USER_INPUT)."
    )
    async def cancel_activity(
        self, info: ContextInfo, id: ActivityId, expected_version: ExpectedVersion = None
    ) -> Activity:
        return await _move(info, id, expected_version, ChangeKind.ACTIVITY_CANCELLED)
