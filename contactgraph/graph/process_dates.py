"""DATE_REACHED processes: a date attribute, plus the process's offset, reached by today
(UTC). No write happens when a date arrives, so a sweep looks for them: each store
reads the parties of the category whose date is on or before the cutoff (a range of the
attribute's index), and starts a run for each (party, process, date) it has not started
before. A run's step ids derive from that key (process_runs.step_ids), so a store sees
what it has started already by id, and a second sweep, even at the same time, cannot
store the run again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from .model import Category, Party
from .process_runs import Pending, Start, applies, step_ids
from .processes import Process, TriggerKind

# runs one sweep starts at most, so its transaction stays small; the next sweep (or
# another sweepProcesses call) starts the rest
MAX_RUNS = 5_000


class Watched(NamedTuple):
    """A DATE_REACHED process and the last date that is reached today."""

    category: Category
    process: Process
    field: str
    cutoff: str  # YYYY-MM-DD, as DATE attributes are stored


class Reached(NamedTuple):
    party_id: str
    watched: Watched
    date: str

    def key(self) -> str:
        return f"{self.party_id}/{self.watched.category.id}/{self.watched.process.id}/{self.date}"

    def first_step_id(self) -> str:
        return step_ids(self.key(), self.watched.process)[0]


def watched(categories: Iterable[Category], now: datetime) -> list[Watched]:
    """The DATE_REACHED processes of every category, each with its cutoff at `now`."""
    return [
        Watched(
            category,
            process,
            process.trigger.attribute,
            (now.date() - timedelta(days=process.trigger.offset_days)).isoformat(),
        )
        for category in categories
        for process in category.processes
        if process.trigger.on is TriggerKind.DATE_REACHED and process.trigger.attribute
    ]


def fresh(reached: Sequence[Reached], started: Collection[str]) -> list[Reached]:
    """The dates reached whose run has not started (`started`: first step ids stored),
    at most MAX_RUNS of them."""
    return [r for r in reached if r.first_step_id() not in started][:MAX_RUNS]


def pending(reached: Sequence[Reached], parties: Mapping[str, Party]) -> Pending:
    """The runs to start of the dates reached: those whose party still meets the
    process's conditions."""
    return Pending(
        [
            Start(party, r.watched.category, r.watched.process, r.key())
            for r in reached
            if (party := parties.get(r.party_id)) is not None
            and party.category_id == r.watched.category.id
            and applies(r.watched.process, party)
        ],
        [],
    )
