"""The shared agenda: several people's planned and recorded work in one window, each
series expanded to its occurrences, merged in time order, overlaps flagged.

A store hands over the activities whose span meets the window (AgendaQuery), at most
MAX_ACTIVITIES; everything after that is the same for every store, here. Conflicts are
found over the whole window, not the page, so an entry is flagged whichever page it is
on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import schedules
from .cursors import decode_cursor, encode_cursor
from .errors import BadUserInput, LimitExceeded
from .hashed import hashed_once
from .model import Activity, ActivityStatus, ActivityType, Response
from .times import format_instant, parse_instant

MAX_WINDOW = timedelta(days=366)
MAX_ACTIVITIES = 5_000  # activities one agenda read may gather from a store
MAX_ENTRIES = 10_000  # occurrences one agenda read may expand them to
MAX_PEOPLE = 200  # users one agenda covers (a team's members among them)


@hashed_once
@dataclass(frozen=True)
class AgendaQuery:
    people: tuple[str, ...]
    since: datetime
    until: datetime
    types: tuple[ActivityType, ...] = ()
    statuses: tuple[ActivityStatus, ...] = ()

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise BadUserInput("to must be later than from")
        if self.until - self.since > MAX_WINDOW:
            raise LimitExceeded(f"an agenda's window is at most {MAX_WINDOW.days} days")
        if len(self.people) > MAX_PEOPLE:
            raise LimitExceeded(f"an agenda covers at most {MAX_PEOPLE} users")


@dataclass(frozen=True)
class AgendaEntry:
    activity: Activity
    starts_at: datetime  # this occurrence's start (a task's due date; else when it happened)
    ends_at: datetime  # equal to starts_at for what has no duration
    people: tuple[str, ...]  # the asked users whose agenda it is on
    conflicts_with: tuple[str, ...]  # activities overlapping it for one of those users

    @property
    def cursor(self) -> str:
        return encode_cursor(format_instant(self.starts_at), self.activity.id)


@dataclass(frozen=True)
class AgendaPage:
    entries: list[AgendaEntry]
    has_next: bool


def too_many(found: int) -> None:
    """LIMIT_EXCEEDED when a store found more activities than one agenda may hold."""
    if found > MAX_ACTIVITIES:
        raise LimitExceeded(
            f"more than {MAX_ACTIVITIES} activities meet this agenda's window: ask a shorter "
            "window, fewer users, or some types or statuses only"
        )


def _busy(activity: Activity, person: str) -> bool:
    """Whether the appointment takes that person's time: not cancelled, and not declined."""
    if activity.status is ActivityStatus.CANCELLED:
        return False
    attendees = activity.schedule.attendees if activity.schedule else ()
    return not any(a.party_id == person and a.response is Response.DECLINED for a in attendees)


def entries(activities: list[Activity], query: AgendaQuery) -> list[AgendaEntry]:
    """Every occurrence in the window, in (start, id) order, with its conflicts."""
    asked = set(query.people)
    found: list[tuple[Activity, datetime, datetime, tuple[str, ...]]] = []
    for activity in activities:
        people = tuple(p for p in schedules.people(activity) if p in asked)
        duration = schedules.duration(activity.schedule)
        for start in schedules.occurrences(activity, query.since, query.until):
            found.append((activity, start, start + duration, people))
            if len(found) > MAX_ENTRIES:
                raise LimitExceeded(
                    f"more than {MAX_ENTRIES} occurrences meet this agenda's window: ask a "
                    "shorter window or fewer users"
                )
    found.sort(key=lambda row: (row[1], row[0].id))
    clashes: dict[int, set[str]] = defaultdict(set)
    for person in asked:
        timed = [
            (i, row)
            for i, row in enumerate(found)
            if person in row[3] and row[2] > row[1] and _busy(row[0], person)
        ]
        for k, (i, (a, start, end, _)) in enumerate(timed):
            for j, (b, other_start, other_end, _) in timed[k + 1 :]:
                if other_start >= end:
                    break
                if b.id != a.id and other_end > start:
                    clashes[i].add(b.id)
                    clashes[j].add(a.id)
    return [
        AgendaEntry(a, start, end, people, tuple(sorted(clashes[i])))
        for i, (a, start, end, people) in enumerate(found)
    ]


def page(found: list[AgendaEntry], first: int, after: str | None) -> AgendaPage:
    """`first` entries after the cursor's (start, id)."""
    rows = found
    if after is not None:
        at, activity_id = decode_cursor(after, 2)
        key = (parse_instant(at), activity_id)
        rows = [e for e in found if (e.starts_at, e.activity.id) > key]
    return AgendaPage(rows[:first], len(rows) > first)
