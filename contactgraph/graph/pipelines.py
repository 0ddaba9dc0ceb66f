"""Sales pipelines as data: a pipeline is an ordered list of stages, each with the
probability an opportunity in it closes and whether it is still open, won or lost.

Pipelines are versioned like categories (a stale expectedVersion is a CONFLICT) and
each write leaves one history entry; a stage keeps its id across versions, so what is
filed under it survives a rename or a new order.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .errors import BadUserInput, Conflict, InvalidValue, LimitExceeded, NotFound
from .history import Actor, Change, ChangeKind, FieldChange, about_sales
from .ids import new_id

MAX_NAME = 200
MAX_STAGES = 30
MAX_PIPELINES = 100  # each is read whole on every pipeline write (names are compared)
MAX_ORDER = 10_000


class StageOutcome(enum.Enum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"


# what a closed stage's probability must be: a won deal is certain, a lost one is not
CLOSED_PROBABILITY = {StageOutcome.WON: 100, StageOutcome.LOST: 0}


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    order: int
    probability: int  # percent, 0 to 100: exact when amounts are weighted by it
    outcome: StageOutcome


@dataclass(frozen=True)
class Pipeline:
    id: str
    name: str
    stages: tuple[Stage, ...]  # by order
    version: int = 1


@dataclass(frozen=True)
class StageDraft:
    """A stage as a client gives it: with the id of the stage it keeps, or none for a new
    one."""

    name: str
    order: int
    probability: int
    outcome: StageOutcome
    id: str | None = None


def _name(field: str, given: str) -> str:
    name = given.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidValue(field, given, f"must hold 1 to {MAX_NAME} characters")
    return name


def _stages(drafts: Sequence[StageDraft], kept: Mapping[str, Stage]) -> tuple[Stage, ...]:
    """The stages as stored, checked: unique names and orders, probabilities in range
    and fitting the outcome, at least one open stage; ids of stages kept."""
    if not drafts or len(drafts) > MAX_STAGES:
        raise BadUserInput(f"a pipeline has 1 to {MAX_STAGES} stages")
    stages = []
    for i, draft in enumerate(drafts):
        field = f"stages[{i}]"
        if draft.id is not None and draft.id not in kept:
            raise InvalidValue(f"{field}.id", draft.id, "is not a stage of this pipeline")
        if not 0 <= draft.order <= MAX_ORDER:
            raise InvalidValue(f"{field}.order", str(draft.order), f"must be 0 to {MAX_ORDER}")
        if not 0 <= draft.probability <= 100:
            raise InvalidValue(f"{field}.probability", str(draft.probability), "must be 0 to 100")
        fixed = CLOSED_PROBABILITY.get(draft.outcome)
        if fixed is not None and draft.probability != fixed:
            raise InvalidValue(
                f"{field}.probability",
                str(draft.probability),
                f"must be {fixed} for a {draft.outcome.value} stage",
            )
        stages.append(
            Stage(
                draft.id or new_id(),
                _name(f"{field}.name", draft.name),
                draft.order,
                draft.probability,
                draft.outcome,
            )
        )
    if len({s.name.casefold() for s in stages}) < len(stages):
        raise BadUserInput("two stages of a pipeline share a name")
    if len({s.order for s in stages}) < len(stages):
        raise BadUserInput("two stages of a pipeline share an order")
    if len({s.id for s in stages}) < len(stages):
        raise BadUserInput("a stage id is given twice")
    if all(s.outcome is not StageOutcome.OPEN for s in stages):
        raise BadUserInput("a pipeline needs an OPEN stage for opportunities to start in")
    return tuple(sorted(stages, key=lambda s: s.order))


def created(name: str, stages: Sequence[StageDraft]) -> Pipeline:
    """A new pipeline, version 1, its stages given new ids."""
    if any(s.id is not None for s in stages):
        raise BadUserInput("a new pipeline's stages have no ids yet")
    return Pipeline(new_id(), _name("name", name), _stages(stages, {}))


def updated(
    current: Pipeline | None,
    pipeline_id: str,
    name: str | None,
    stages: Sequence[StageDraft] | None,
    expected_version: int | None,
) -> Pipeline:
    """The next version of a pipeline with what is given changed, or the pipeline as it is
    when nothing changes. Stages are replaced as a whole: a stage without an id is new, one
    left out is gone."""
    if current is None:
        raise NotFound(f"pipeline {pipeline_id} does not exist")
    if expected_version is not None and expected_version != current.version:
        raise Conflict(
            f"pipeline {pipeline_id} is at version {current.version}, not {expected_version}"
        )
    following = replace(
        current,
        name=current.name if name is None else _name("name", name),
        stages=current.stages
        if stages is None
        else _stages(stages, {s.id: s for s in current.stages}),
    )
    return current if following == current else replace(following, version=current.version + 1)


def planned(
    stored: Mapping[str, Pipeline],
    pipeline_id: str | None,
    make: Callable[[Pipeline | None], Pipeline],
    actor: Actor,
    at: datetime,
) -> tuple[Pipeline, Change | None]:
    """What a store writes for a pipeline write, from every stored pipeline: the pipeline
    and its history entry (None: nothing to write). pipeline_id None makes a new one."""
    current = None if pipeline_id is None else stored.get(pipeline_id)
    written = make(current)
    if current is None and len(stored) >= MAX_PIPELINES:
        raise LimitExceeded(f"at most {MAX_PIPELINES} pipelines")
    if written == current:
        return written, None
    key = written.name.casefold()
    other = next(
        (p for p in stored.values() if p.id != written.id and p.name.casefold() == key), None
    )
    if other is not None:
        raise Conflict(f"pipeline {other.id} is already called {other.name!r}")
    old = document(current) if current is not None else {}
    new = document(written)
    changed = [FieldChange(k, old.get(k), v) for k, v in new.items() if old.get(k) != v]
    kind = ChangeKind.PIPELINE_CREATED if current is None else ChangeKind.PIPELINE_UPDATED
    return written, about_sales(actor, kind, [written.id], changed, at)


def check_kept(written: Pipeline, in_use: bool) -> None:
    """A stage holding opportunities stays: they would be in no stage."""
    if in_use:
        raise Conflict(f"a stage of pipeline {written.id} left out still holds opportunities")


def document(pipeline: Pipeline) -> dict[str, Any]:
    """A pipeline as stored and as its history entries show it: JSON values."""
    return {
        "name": pipeline.name,
        "stages": [
            {
                "id": s.id,
                "name": s.name,
                "order": s.order,
                "probability": s.probability,
                "outcome": s.outcome.value,
            }
            for s in pipeline.stages
        ],
    }


def of_document(pipeline_id: str, version: int, doc: Mapping[str, Any]) -> Pipeline:
    """A pipeline read back from its stored document."""
    stages = tuple(
        Stage(s["id"], s["name"], s["order"], s["probability"], StageOutcome(s["outcome"]))
        for s in doc["stages"]
    )
    return Pipeline(pipeline_id, doc["name"], stages, version)
