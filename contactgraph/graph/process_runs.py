"""Process runs: the steps a write opens, closes or is refused by, decided from what the
write's transaction read, so both stores open and close steps inside that transaction.

Each step stored holds its definition as the run started: a run keeps that version of
its category's process, whatever the category says since.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import msgspec

from .errors import FailedPrecondition
from .history import Actor, Change, ChangeKind, FieldChange, about_step
from .ids import new_id
from .model import Activity, Category, Party, Relationship
from .process_context import Found, Wants
from .processes import AssigneeRule, End, Process, Requirement, Step, TriggerKind
from .times import format_instant, utcnow


class RunStep(msgspec.Struct, frozen=True):
    """One step of one run, about one party."""

    id: str
    run_id: str
    party_id: str
    category_id: str
    category_version: int
    process_id: str
    process_name: str
    step: Step
    opened_at: datetime
    due_at: datetime
    assignee_id: str | None = None
    done_at: datetime | None = None
    done_by_id: str | None = None

    def overdue(self, now: datetime) -> bool:
        return self.done_at is None and self.due_at < now


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(RunStep)


def encode(step: RunStep) -> str:
    return _encoder.encode(step).decode()


def decode(text: str | bytes) -> RunStep:
    return _decoder.decode(text)


@dataclass(frozen=True)
class Outcome:
    """What a write does to runs: steps to insert and steps to rewrite (now done)."""

    opened: list[RunStep]
    closed: list[RunStep]

    def entries(self, actor: Actor, at: datetime) -> list[Change]:
        """One history entry per step opened or closed, under its party and the step."""
        return [_entry(s, ChangeKind.PROCESS_STEP_OPENED, actor, at) for s in self.opened] + [
            _entry(s, ChangeKind.PROCESS_STEP_DONE, actor, at) for s in self.closed
        ]


def _entry(step: RunStep, kind: ChangeKind, actor: Actor, at: datetime) -> Change:
    fields = [
        FieldChange("process", None, step.process_id),
        FieldChange("step", None, step.step.id),
        FieldChange("categoryVersion", None, step.category_version),
        FieldChange("assigneeId", None, step.assignee_id),
        FieldChange("dueAt", None, format_instant(step.due_at)),
    ]
    return about_step(actor, kind, [step.party_id, step.id], fields, at)


class Start(NamedTuple):
    """A run to start: the party, its category and process; `key` names a run that may
    start only once (a date reached: its step ids derive from it), None a fresh run."""

    party: Party
    category: Category
    process: Process
    key: str | None = None


@dataclass(frozen=True)
class Pending:
    """What a write does to runs before what its new runs need is read (process_context):
    the processes it starts, their conditions on parents aside, and the steps it closes."""

    triggered: list[Start]
    closed: list[RunStep]

    def wants(self) -> Wants:
        steps = [(t.party.id, step) for t in self.triggered for step in t.process.steps]
        return Wants(
            responsible=frozenset(
                p for p, s in steps if s.assignee.rule is AssigneeRule.RESPONSIBLE
            ),
            roles=frozenset(
                (s.assignee.role, p)
                for p, s in steps
                if s.assignee.rule is AssigneeRule.ROLE and s.assignee.role
            ),
            parents=frozenset(
                t.party.id for t in self.triggered if t.process.conditions.parent_categories
            ),
        )

    def outcome(self, found: Found) -> Outcome:
        kept = [
            t
            for t in self.triggered
            if not t.process.conditions.parent_categories
            or found.parent_categories.get(t.party.id, frozenset()).intersection(
                t.process.conditions.parent_categories
            )
        ]
        return Outcome(_opened(kept, utcnow(), found), self.closed)


def _done(step: RunStep, by: str | None) -> RunStep:
    return msgspec.structs.replace(step, done_at=utcnow(), done_by_id=by)


def on_activity(
    activity: Activity,
    parties: Mapping[str, Party],
    categories: Mapping[str, Category],
    open_steps: Sequence[RunStep],
    actor: Actor,
) -> Pending:
    """The steps an activity closes and the processes it starts; an open step that blocks
    its type (and that it does not close itself) refuses it: FailedPrecondition, nothing
    written."""
    closed = [
        _done(s, actor.user_id or activity.author_id)
        for s in open_steps
        if s.party_id in activity.subject_ids and _satisfies(activity, s.step)
    ]
    done = {s.id for s in closed}
    blocking = next(
        (
            s
            for s in open_steps
            if s.id not in done
            and s.party_id in activity.subject_ids
            and activity.type in s.step.blocks
        ),
        None,
    )
    if blocking is not None:
        raise FailedPrecondition(
            f"{activity.type.value} may not be recorded for {blocking.party_id}: step "
            f"{blocking.process_id}/{blocking.step.id} ({blocking.step.title!r}) is open",
            blocking.id,
        )
    triggered = [
        Start(party, category, process)
        for party, category in _filed(activity.subject_ids, parties, categories)
        for process in category.processes
        if process.trigger.on is TriggerKind.ACTIVITY_RECORDED
        and activity.type in process.trigger.activity_types
        and applies(process, party)
    ]
    return Pending(triggered, closed)


def on_party(
    party: Party,
    before: Party | None,
    category: Category | None,
    open_steps: Sequence[RunStep],
    actor: Actor,
) -> Pending:
    """What a party written does to its runs: entering a category (created in it, or
    moved into it) starts its ENTERED processes; its attributes may close open steps."""
    triggered: list[Start] = []
    if category is not None and (before is None or before.category_id != category.id):
        triggered = [
            Start(party, category, process)
            for process in category.processes
            if process.trigger.on is TriggerKind.ENTERED and applies(process, party)
        ]
    return Pending(triggered, _attribute_closes(party, open_steps, actor))


def on_link(
    rel: Relationship,
    parties: Mapping[str, Party],
    categories: Mapping[str, Category],
    open_steps: Sequence[RunStep],
    actor: Actor,
) -> Pending:
    """What a relationship created does to the runs of its ends: it closes the steps
    asking for one of its type (role, end) and starts the RELATIONSHIP_CREATED processes
    of each end's category that name its type and that end."""
    ends = {rel.from_id: End.FROM, rel.to_id: End.TO}
    closed = [
        _done(s, actor.user_id)
        for s in open_steps
        if s.party_id in ends and _linked(rel, ends[s.party_id], s.step.satisfied_by)
    ]
    triggered = [
        Start(party, category, process)
        for party, category in _filed(ends, parties, categories)
        for process in category.processes
        if process.trigger.on is TriggerKind.RELATIONSHIP_CREATED
        and rel.type in process.trigger.relationship_types
        and process.trigger.end is ends[party.id]
        and applies(process, party)
    ]
    return Pending(triggered, closed)


def _linked(rel: Relationship, end: End, need: Requirement) -> bool:
    return (
        need.relationship_type is rel.type
        and (need.end is None or need.end is end)
        and (need.role is None or need.role == rel.role)
    )


def _filed(
    ids: Iterable[str], parties: Mapping[str, Party], categories: Mapping[str, Category]
) -> Iterable[tuple[Party, Category]]:
    for party_id in ids:
        party = parties.get(party_id)
        category = categories.get(party.category_id or "") if party is not None else None
        if party is not None and category is not None:
            yield party, category


def applies(process: Process, party: Party) -> bool:
    """Whether the party meets every condition of the process."""
    wanted = process.conditions
    if wanted.legal_forms and party.legal_form not in wanted.legal_forms:
        return False
    held = party.attributes
    for test in wanted.attributes:
        if test.exists is not None and (test.field in held) != test.exists:
            return False
        if test.equals is not None and held.get(test.field) != test.equals:
            return False
    return True


def _satisfies(activity: Activity, step: Step) -> bool:
    need = step.satisfied_by
    if need.activity_type is None or activity.type is not need.activity_type:
        return False
    return need.tag is None or need.tag.casefold() in activity.summary.casefold().split()


def _attribute_closes(party: Party, open_steps: Sequence[RunStep], actor: Actor) -> list[RunStep]:
    closed = []
    for step in open_steps:
        need = step.step.satisfied_by
        if step.party_id != party.id or need.attribute is None:
            continue
        value = party.attributes.get(need.attribute)
        if value is not None and (need.equals is None or value == need.equals):
            closed.append(_done(step, actor.user_id))
    return closed


def _assignee(step: Step, party_id: str, found: Found) -> str | None:
    rule = step.assignee
    if rule.rule is AssigneeRule.USER:
        return rule.user_id
    if rule.rule is AssigneeRule.ROLE:
        return found.holders.get((rule.role or "", party_id))
    return found.responsible.get(party_id)


def step_ids(key: str | None, process: Process) -> list[str]:
    """The ids of the steps a run starts with: fresh, or derived from its key (so a run
    that may start once cannot be stored twice)."""
    if key is None:
        return [new_id() for _ in process.steps]
    return [str(uuid.uuid5(_RUNS, f"{key}/{s.id}")) for s in process.steps]


_RUNS = uuid.UUID("6f1d2c1e-8b7a-4f43-9a57-3c5e0d2b9f10")  # namespace of keyed run ids


def _opened(triggered: Sequence[Start], at: datetime, found: Found) -> list[RunStep]:
    steps = []
    for start in triggered:
        party, category, process = start.party, start.category, start.process
        run_id = new_id() if start.key is None else str(uuid.uuid5(_RUNS, start.key))
        for step, step_id in zip(process.steps, step_ids(start.key, process), strict=True):
            steps.append(
                RunStep(
                    id=step_id,
                    run_id=run_id,
                    party_id=party.id,
                    category_id=category.id,
                    category_version=category.version,
                    process_id=process.id,
                    process_name=process.name,
                    step=step,
                    opened_at=at,
                    due_at=at + timedelta(days=step.due_days),
                    assignee_id=_assignee(step, party.id, found),
                )
            )
    return steps
