"""A user's worklist: the open process steps assigned to them across parties, soonest due
first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .cursors import decode_cursor, encode_cursor
from .model import Page
from .process_runs import RunStep
from .times import format_instant, parse_instant


@dataclass(frozen=True)
class WorklistQuery:
    assignee_id: str
    page: Page
    category_ids: tuple[str, ...] = ()  # empty: every category
    due_before: datetime | None = None  # overdue ones: due before now

    def after(self) -> tuple[str, str] | None:
        """The cursor's (due, id), in the stored text form."""
        if self.page.after is None:
            return None
        due, step_id = decode_cursor(self.page.after, 2)
        return format_instant(parse_instant(due)), step_id


@dataclass(frozen=True)
class WorklistPage:
    steps: list[RunStep]
    has_next: bool


def cursor(step: RunStep) -> str:
    return encode_cursor(format_instant(step.due_at), step.id)
