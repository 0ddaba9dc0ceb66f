"""Agendas as RFC 5545 iCalendar feeds, written by the icalendar library, which a
calendar application subscribes to.

An appointment is a VEVENT in its own time zone, a recurring one with its RRULE (the
application expands it); a task is a VTODO. Other activities are left out: they have
no time planned. SEQUENCE follows the activity's version, so an application replaces
what changed; a cancelled one stays with STATUS:CANCELLED, so it is taken off.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, Todo, vRecur

from . import schedules
from .model import Activity, ActivityStatus

# the window a feed holds, around the moment it is read
PAST = timedelta(days=60)
AHEAD = timedelta(days=305)
PRODID = "-//contactgraph//agenda feed//EN"
_EVENT_STATUS = {
    ActivityStatus.PLANNED: "CONFIRMED",
    ActivityStatus.DONE: "CONFIRMED",
    ActivityStatus.CANCELLED: "CANCELLED",
}
_TODO_STATUS = {
    ActivityStatus.PLANNED: "NEEDS-ACTION",
    ActivityStatus.DONE: "COMPLETED",
    ActivityStatus.CANCELLED: "CANCELLED",
}


def window(now: datetime) -> tuple[datetime, datetime]:
    return now - PAST, now + AHEAD


def _common(component: Event | Todo, activity: Activity, now: datetime) -> None:
    component.add("uid", f"{activity.id}@contactgraph")
    component.add("dtstamp", now.astimezone(UTC))
    component.add("sequence", activity.version - 1)
    component.add("summary", activity.summary)
    if activity.body:
        component.add("description", activity.body)
    schedule = activity.schedule
    if schedule is not None and schedule.location:
        component.add("location", schedule.location)
    component.add("categories", [activity.type.value])


def _event(activity: Activity, now: datetime) -> Event:
    schedule = activity.schedule
    assert schedule is not None and schedule.starts_at is not None
    zone = schedules.zone(schedule.time_zone or "UTC")
    event = Event()
    _common(event, activity, now)
    event.add("status", _EVENT_STATUS[activity.status])
    event.add("dtstart", schedule.starts_at.astimezone(zone))
    if schedule.ends_at is not None:
        event.add("dtend", schedule.ends_at.astimezone(zone))
    if schedule.recurrence:
        event.add("rrule", vRecur.from_ical(schedule.recurrence))
    return event


def _todo(activity: Activity, now: datetime) -> Todo:
    schedule = activity.schedule
    assert schedule is not None and schedule.due_at is not None
    todo = Todo()
    _common(todo, activity, now)
    todo.add("status", _TODO_STATUS[activity.status])
    todo.add("due", schedule.due_at.astimezone(UTC))
    if activity.status is ActivityStatus.DONE:
        todo.add("completed", activity.occurred_at.astimezone(UTC))
    return todo


def feed(name: str, activities: Iterable[Activity], now: datetime) -> bytes:
    """One calendar of the planned activities, appointments first by start, then tasks
    by due date."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    planned = [a for a in activities if a.schedule is not None]
    events = sorted((a for a in planned if a.schedule and a.schedule.starts_at), key=schedules.when)
    todos = sorted(
        (a for a in planned if a.schedule and not a.schedule.starts_at), key=schedules.when
    )
    for activity in events:
        calendar.add_component(_event(activity, now))
    for activity in todos:
        calendar.add_component(_todo(activity, now))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
