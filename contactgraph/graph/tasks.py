"""Task lists: a user's tasks, or the tasks about a client and everything below it,
soonest due first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .cursors import decode_cursor, encode_cursor
from .errors import BadUserInput
from .model import Activity, ActivityStatus, Page, Rollup
from .times import format_instant, parse_instant


@dataclass(frozen=True)
class TaskQuery:
    page: Page
    statuses: tuple[ActivityStatus, ...]
    assignee_id: str | None = None
    subject_id: str | None = None
    # with subject_id: also the tasks of every party below it, as the roll-up reaches
    rollup: Rollup | None = None
    due_before: datetime | None = None

    def __post_init__(self) -> None:
        if self.assignee_id is None and self.subject_id is None:
            raise BadUserInput("name whose tasks: assigneeId, subjectId or both")
        if self.rollup is not None and self.subject_id is None:
            raise BadUserInput("includeDescendants needs subjectId")

    def after(self) -> tuple[str, str] | None:
        """The cursor's (due, id), in the stored text form."""
        if self.page.after is None:
            return None
        due, task_id = decode_cursor(self.page.after, 2)
        return format_instant(parse_instant(due)), task_id


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Activity]
    has_next: bool


def cursor(task: Activity) -> str:
    """A task's place in its list: when it is due (or, without a due date, happened)."""
    due = task.schedule.due_at if task.schedule and task.schedule.due_at else task.occurred_at
    return encode_cursor(format_instant(due), task.id)
