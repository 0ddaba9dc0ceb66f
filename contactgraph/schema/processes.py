"""GraphQL of process runs: a party's runs with their steps, open or done, and whether a
step is overdue at an instant a client may choose (a dashboard's "as of", a test's
clock)."""

from __future__ import annotations

import enum
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from ..graph.events import StepChange, WorklistChanged
from ..graph.process_runs import RunStep
from ..resolvers.context import ContextInfo
from .enums import ActivityType, described_enum

if TYPE_CHECKING:
    from .types import Party

At = Annotated[
    datetime | None,
    strawberry.argument(
        description="The instant overdue is judged at; defaults to the request's now."
    ),
]


@strawberry.enum(description="Where a process step stands.")
class StepState(enum.Enum):
    OPEN = strawberry.enum_value("OPEN", description="Still to be done.")
    DONE = strawberry.enum_value("DONE", description="Satisfied: doneAt and doneBy say when, who.")


@strawberry.type(description="One step of a process run, as the run's definition had it.")
class ProcessStep:
    id: strawberry.ID = strawberry.field(description="This step of this run.")
    step_id: str = strawberry.field(description="The step's id in the process definition.")
    title: str = strawberry.field(description="What is to be done.")
    state: StepState = strawberry.field(description="OPEN or DONE.")
    overdue: bool = strawberry.field(description="Open, and its due time has passed at `at`.")
    opened_at: datetime = strawberry.field(description="When the trigger opened it.")
    due_at: datetime = strawberry.field(description="When it falls due.")
    done_at: datetime | None = strawberry.field(description="When it was done; null while open.")
    done_by_id: strawberry.ID | None = strawberry.field(
        description="The user whose write satisfied it; null for the server's own writes."
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        description="The user it is assigned to; null when its rule found nobody (no "
        "responsible user at the party or above it)."
    )
    blocks: list[ActivityType] = strawberry.field(  # type: ignore[valid-type]
        description="The activity types that may not be recorded for the party while it is open."
    )

    @strawberry.field(description="The user it is assigned to, when you may read them.")
    async def assignee(
        self, info: ContextInfo
    ) -> Annotated[Party, strawberry.lazy(".types")] | None:
        from .types import party_of

        if self.assignee_id is None:
            return None
        found = await info.context.loaders.parties.load(str(self.assignee_id))
        return None if found is None else party_of(found)

    @classmethod
    def of(cls, step: RunStep, at: datetime) -> ProcessStep:
        return cls(
            id=strawberry.ID(step.id),
            step_id=step.step.id,
            title=step.step.title,
            state=StepState.OPEN if step.done_at is None else StepState.DONE,
            overdue=step.overdue(at),
            opened_at=step.opened_at,
            due_at=step.due_at,
            done_at=step.done_at,
            done_by_id=None if step.done_by_id is None else strawberry.ID(step.done_by_id),
            assignee_id=None if step.assignee_id is None else strawberry.ID(step.assignee_id),
            blocks=list(step.step.blocks),
        )


@strawberry.type(
    description="A process started for a party: the version of its category's definition "
    "it started under, and its steps."
)
class ProcessRun:
    id: strawberry.ID = strawberry.field(description="The run.")
    process_id: str = strawberry.field(description="The process's id in its category.")
    name: str = strawberry.field(description="The process's name as the run started.")
    category_id: strawberry.ID = strawberry.field(description="The category it belongs to.")
    category_version: int = strawberry.field(
        description="The category's version when the run started: the definition it follows."
    )
    started_at: datetime = strawberry.field(description="When its trigger happened.")
    done: bool = strawberry.field(description="Every step is done.")
    steps: list[ProcessStep] = strawberry.field(description="Its steps, in definition order.")


async def party_processes(
    root: strawberry.Parent[object], info: ContextInfo, at: At = None
) -> list[ProcessRun]:
    found = await info.context.loaders.process_steps.load(root.id)  # type: ignore[attr-defined]
    moment = at or info.context.now
    runs: dict[str, list[RunStep]] = defaultdict(list)
    for step in found or ():
        runs[step.run_id].append(step)
    return [
        ProcessRun(
            id=strawberry.ID(run_id),
            process_id=steps[0].process_id,
            name=steps[0].process_name,
            category_id=strawberry.ID(steps[0].category_id),
            category_version=steps[0].category_version,
            started_at=steps[0].opened_at,
            done=all(s.done_at is not None for s in steps),
            steps=[ProcessStep.of(s, moment) for s in steps],
        )
        for run_id, steps in runs.items()
    ]


@strawberry.type(description="An open step on a worklist, with the party it is about.")
class WorklistItem(ProcessStep):
    party_id: strawberry.ID = strawberry.field(description="The party the step is about.")
    run_id: strawberry.ID = strawberry.field(
        description="The run it is a step of: the party's `processes` lists it."
    )
    process_id: str = strawberry.field(description="The process's id in its category.")
    category_id: strawberry.ID = strawberry.field(description="The party's category then.")

    @strawberry.field(description="The party the step is about.")
    async def party(self, info: ContextInfo) -> Annotated[Party, strawberry.lazy(".types")] | None:
        from .types import party_of

        found = await info.context.loaders.parties.load(str(self.party_id))
        return None if found is None else party_of(found)

    @classmethod
    def of(cls, step: RunStep, at: datetime) -> WorklistItem:  # type: ignore[override]
        shown = ProcessStep.of(step, at)
        return cls(
            **vars(shown),
            party_id=strawberry.ID(step.party_id),
            run_id=strawberry.ID(step.run_id),
            process_id=step.process_id,
            category_id=strawberry.ID(step.category_id),
        )


WorklistChange = described_enum(
    StepChange,
    "What happened to a step on a worklist.",
    {
        "OPENED": "A write opened it (its process was triggered).",
        "DONE": "A write satisfied it: it left the worklist.",
        "OVERDUE": "Its due time passed while it was open; told once.",
    },
    name="WorklistChange",
)


@strawberry.type(description="A change on a user's worklist, as worklistChanged pushes it.")
class WorklistEvent:
    change: WorklistChange = strawberry.field(  # type: ignore[valid-type]
        description="What happened to the step."
    )
    at: datetime = strawberry.field(description="When it happened; `step.overdue` is as of it.")
    step: WorklistItem = strawberry.field(description="The step, with its party and run.")

    @classmethod
    def of(cls, event: WorklistChanged) -> WorklistEvent:
        return cls(change=event.change, at=event.at, step=WorklistItem.of(event.step, event.at))
