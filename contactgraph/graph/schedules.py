"""Planned work: checking a schedule, the stretch of time it covers, and its occurrences.

An appointment recurs by an RFC 5545 RRULE, read by python-dateutil. Occurrences are
counted in the appointment's own time zone, so a weekly 09:00 in Europe/Berlin stays at
09:00 local time across a daylight-saving change. Rules finer than a day (HOURLY and
finer frequencies, BYHOUR, BYMINUTE, BYSECOND) are refused: an agenda reads every
occurrence between a series' start and the end of its window, at most one a day.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from dateutil.rrule import rrule, rrulestr

from .errors import BadUserInput, InvalidValue, LimitExceeded
from .model import Activity, ActivityStatus, Attendee, Response, Schedule
from .times import format_instant, parse_instant

# an unending series covers the time up to here: its span's end in the stores' indexes
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
MAX_RULE_LENGTH = 300
MAX_COUNT = 1_000  # COUNT= of a rule
MAX_PEOPLE = 100  # assignees and attendees of one activity
MAX_LOCATION = 500
# occurrences a read steps through from a series' start (at most one a day: twenty years,
# some 0.1 s); a window further away is LIMIT_EXCEEDED rather than seconds of stepping
MAX_STEPS = 7_320
_FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
# what a rule may hold: enough for appointments, and nothing whose combinations can never
# occur in ways _never cannot tell (BYYEARDAY, BYWEEKNO; finer than a day)
_PARTS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS"}
)
_DAYS_IN = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_RESPONSES = {member.value: member for member in Response}


def zone(name: str) -> ZoneInfo:
    """The IANA time zone of that name; anything else is an InvalidValue."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidValue("timeZone", name, "is not an IANA time zone") from error


def _rule(schedule: Schedule) -> rrule | None:
    text = schedule.recurrence
    if text is None:
        return None
    if schedule.starts_at is None:
        raise BadUserInput("a recurrence repeats an appointment: it needs startsAt")
    if len(text) > MAX_RULE_LENGTH or "\n" in text or "\r" in text:
        raise InvalidValue(
            "recurrence", text[:40], f"is not one RRULE of {MAX_RULE_LENGTH} or fewer characters"
        )
    parts = dict(part.partition("=")[::2] for part in text.upper().split(";"))
    if parts.get("FREQ") not in _FREQUENCIES or not parts.keys() <= _PARTS:
        raise InvalidValue(
            "recurrence",
            text,
            "must repeat DAILY, WEEKLY, MONTHLY or YEARLY, with no parts but "
            + ", ".join(sorted(_PARTS - {"FREQ"})),
        )
    reason = _never(parts)
    if reason:
        raise InvalidValue("recurrence", text, reason)
    start = schedule.starts_at.astimezone(zone(schedule.time_zone or "UTC"))
    try:
        rule = rrulestr(text, dtstart=start)
    except (ValueError, TypeError, KeyError) as error:
        raise InvalidValue("recurrence", text, f"is not an RFC 5545 RRULE: {error}") from error
    if not isinstance(rule, rrule):
        raise InvalidValue("recurrence", text, "is not one RRULE")
    if not 1 <= int(parts.get("COUNT") or 1) <= MAX_COUNT:  # parsed: numbers
        raise InvalidValue("recurrence", text, f"must repeat 1 to {MAX_COUNT} times (COUNT)")
    if int(parts.get("INTERVAL") or 1) < 1:
        raise InvalidValue("recurrence", text, "must have an INTERVAL of 1 or more")
    return rule


def _numbers(text: str) -> list[int] | None:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        return None  # rrulestr names what is wrong


def _never(parts: dict[str, str]) -> str | None:
    """Why a rule would never occur, as far as its parts tell: dateutil would step through
    every day to the year 9999 looking for one."""
    months = _numbers(parts.get("BYMONTH", "1,2,3,4,5,6,7,8,9,10,11,12")) or [1]
    days = _numbers(parts.get("BYMONTHDAY", "1")) or [1]
    if not all(1 <= m <= 12 for m in months) or not all(1 <= abs(d) <= 31 for d in days):
        return "names a month (BYMONTH) or a day of one (BYMONTHDAY) that does not exist"
    if not any(d < 0 or d <= _DAYS_IN[m - 1] for m in months for d in days):
        return "names days (BYMONTHDAY) that none of its months (BYMONTH) has"
    ordinal = any(day.strip("+-")[:1].isdigit() for day in parts.get("BYDAY", "").split(","))
    monthly = parts["FREQ"] in ("MONTHLY", "YEARLY")
    if (ordinal or "BYSETPOS" in parts) and (not monthly or "BYMONTHDAY" in parts):
        return (
            "numbers weekdays (1MO) or positions (BYSETPOS) only MONTHLY or YEARLY, "
            "without BYMONTHDAY"
        )
    positions = _numbers(parts.get("BYSETPOS", "1")) or [1]
    if not all(1 <= abs(p) <= 5 for p in positions):
        return "has a BYSETPOS other than 1 to 5 or -1 to -5"
    return None


def check(activity: Activity) -> Activity:
    """The activity with its schedule checked: a time zone that exists, an end after the
    start, a rule that parses, bounded lists; every instant in UTC."""
    schedule = activity.schedule
    if schedule is None:
        return activity
    if schedule.time_zone is not None:
        zone(schedule.time_zone)
    if schedule.ends_at is not None:
        if schedule.starts_at is None:
            raise BadUserInput("endsAt needs startsAt")
        if schedule.ends_at <= schedule.starts_at:
            raise BadUserInput("endsAt must be later than startsAt")
    if len(schedule.assignee_ids) + len(schedule.attendees) > MAX_PEOPLE:
        raise BadUserInput(f"an activity has at most {MAX_PEOPLE} assignees and attendees")
    if len(set(schedule.assignee_ids)) != len(schedule.assignee_ids):
        raise BadUserInput("assigneeIds must not repeat")
    if len({a.party_id for a in schedule.attendees}) != len(schedule.attendees):
        raise BadUserInput("attendees must not repeat")
    if schedule.location is not None and len(schedule.location) > MAX_LOCATION:
        raise BadUserInput(f"location is longer than {MAX_LOCATION} characters")
    _rule(schedule)
    return activity


def references(activity: Activity) -> tuple[str, ...]:
    """The parties its schedule names, which must exist (assignees must be users)."""
    if activity.schedule is None:
        return ()
    return (*activity.schedule.assignee_ids, *(a.party_id for a in activity.schedule.attendees))


def people(activity: Activity) -> list[str]:
    """Whose agenda it is on: its author, assignees and attendees, each once."""
    return list(dict.fromkeys([activity.author_id, *references(activity)]))


def duration(schedule: Schedule | None) -> timedelta:
    """How long each occurrence of an appointment lasts; zero for everything else."""
    if schedule is None or schedule.starts_at is None or schedule.ends_at is None:
        return timedelta(0)
    return schedule.ends_at - schedule.starts_at


def when(activity: Activity) -> datetime:
    """Where it sits in time: an appointment's start, a task's due date, else when it
    happened."""
    schedule = activity.schedule
    if schedule is not None:
        return schedule.starts_at or schedule.due_at or activity.occurred_at
    return activity.occurred_at


def span(activity: Activity) -> tuple[datetime, datetime]:
    """From its first start to its last end: what a store indexes it by for windows."""
    start = when(activity)
    schedule = activity.schedule
    if schedule is None:
        return start, start
    rule = _rule(schedule)
    end = start + duration(schedule)
    if rule is None:
        return start, end
    text = (schedule.recurrence or "").upper()
    if "COUNT=" not in text and "UNTIL=" not in text:
        return start, FOREVER
    head = list(islice(rule, MAX_STEPS + 1))
    if len(head) > MAX_STEPS:  # ends further away than a read may step: as if never
        return start, FOREVER
    return start, head[-1].astimezone(UTC) + duration(schedule)


def occurrences(activity: Activity, since: datetime, until: datetime) -> Iterator[datetime]:
    """The starts (UTC) of the times it takes place that meet [since, until): one for a
    single activity, each occurrence of a series, in order."""
    schedule = activity.schedule
    length = duration(schedule)
    rule = None if schedule is None else _rule(schedule)
    starts: Iterator[datetime] = iter([when(activity)]) if rule is None else iter(rule)
    for step, start in enumerate(starts):
        if start >= until:
            return
        if step >= MAX_STEPS:
            raise LimitExceeded(
                f"activity {activity.id} recurs more than {MAX_STEPS} times before this "
                "window: ask a window nearer its start"
            )
        end = start + length
        if end > since if end > start else start >= since:
            yield start.astimezone(UTC)


# -- stored as JSON, named as GraphQL names them ---------------------------------------


def _instant(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def _parsed(value: str | None) -> datetime | None:
    return None if value is None else parse_instant(value)


def fields(schedule: Schedule | None) -> dict[str, Any]:
    """A schedule as JSON values: how it is stored, and how history shows its changes."""
    s = schedule or Schedule()
    return {
        "startsAt": _instant(s.starts_at),
        "endsAt": _instant(s.ends_at),
        "timeZone": s.time_zone,
        "dueAt": _instant(s.due_at),
        "location": s.location,
        "recurrence": s.recurrence,
        "assigneeIds": list(s.assignee_ids),
        "attendees": [{"partyId": a.party_id, "response": a.response.value} for a in s.attendees],
    }


def encode(schedule: Schedule | None) -> str | None:
    return None if schedule is None else orjson.dumps(fields(schedule)).decode()


def decode(text: str | None) -> Schedule | None:
    if text is None:
        return None
    values: Mapping[str, Any] = orjson.loads(text)
    return Schedule(
        starts_at=_parsed(values["startsAt"]),
        ends_at=_parsed(values["endsAt"]),
        time_zone=values["timeZone"],
        due_at=_parsed(values["dueAt"]),
        location=values["location"],
        recurrence=values["recurrence"],
        assignee_ids=tuple(values["assigneeIds"]),
        attendees=tuple(
            Attendee(a["partyId"], _RESPONSES[a["response"]]) for a in values["attendees"]
        ),
    )


def activity_fields(activity: Activity) -> dict[str, Any]:
    """What a change to an activity may alter, as JSON values (its history entries)."""
    return {
        "type": activity.type.value,
        "occurredAt": format_instant(activity.occurred_at),
        "summary": activity.summary,
        "body": activity.body,
        "status": activity.status.value,
        "opportunityId": activity.opportunity_id,
        **fields(activity.schedule),
    }


def moved(activity: Activity, status: ActivityStatus, at: datetime) -> Activity:
    """The activity completed or cancelled at `at`: a completed appointment happened at
    its start, other completed work when it was marked done."""
    if activity.status is not ActivityStatus.PLANNED:
        raise BadUserInput(
            f"activity {activity.id} is {activity.status.value}: only a PLANNED one can be "
            f"{'completed' if status is ActivityStatus.DONE else 'cancelled'}"
        )
    occurred = activity.occurred_at
    if status is ActivityStatus.DONE:
        starts = activity.schedule.starts_at if activity.schedule else None
        occurred = starts or at
    return replace(activity, status=status, occurred_at=occurred, version=activity.version + 1)
