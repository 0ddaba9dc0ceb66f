"""GraphQL of sales pipelines: the stages a deal moves through and the inputs that define
them."""

from __future__ import annotations

import strawberry

from ..graph import pipelines
from .enums import described_enum
from .history import Change, node_history
from .pages import Connection

StageOutcome = described_enum(
    pipelines.StageOutcome,
    "Where a deal in a stage stands.",
    {
        "OPEN": "Still being worked on.",
        "WON": "Closed, won: the stage's probability is 100.",
        "LOST": "Closed, lost: the stage's probability is 0.",
    },
)


@strawberry.type(description="A step of a sales pipeline.")
class Stage:
    id: strawberry.ID = strawberry.field(
        description="Stable across the pipeline's versions while the stage is kept."
    )
    name: str = strawberry.field(description="For display; unique in its pipeline.")
    order: int = strawberry.field(description="Its place in the pipeline, lowest first.")
    probability: int = strawberry.field(
        description="The percent chance (0 to 100) that a deal in this stage closes won; "
        "a deal's own probability defaults to it."
    )
    outcome: StageOutcome = strawberry.field(  # type: ignore[valid-type]
        description="Whether a deal in it is open, won or lost."
    )


@strawberry.type(
    description="The stages deals move through, as data: defined by admins, versioned, each "
    "change in its history."
)
class Pipeline:
    id: strawberry.ID = strawberry.field(description="The pipeline's id.")
    name: str = strawberry.field(description="For display; unique among pipelines.")
    stages: list[Stage] = strawberry.field(description="Its stages, by order.")
    version: int = strawberry.field(
        description="Starts at 1, one more on each change: give it as updatePipeline's "
        "expectedVersion."
    )
    history: Connection[Change] = strawberry.field(
        resolver=node_history, description="Its changes, newest first (PIPELINE_* entries)."
    )

    @classmethod
    def of(cls, pipeline: pipelines.Pipeline) -> Pipeline:
        return cls(
            id=strawberry.ID(pipeline.id),
            name=pipeline.name,
            stages=[
                Stage(
                    id=strawberry.ID(s.id),
                    name=s.name,
                    order=s.order,
                    probability=s.probability,
                    outcome=s.outcome,
                )
                for s in pipeline.stages
            ],
            version=pipeline.version,
        )


@strawberry.input(description="A stage of a pipeline being defined.")
class StageInput:
    name: str = strawberry.field(
        description=f"For display, 1 to {pipelines.MAX_NAME} characters; unique in the pipeline."
    )
    order: int = strawberry.field(
        description=f"Its place, 0 to {pipelines.MAX_ORDER:,}, lowest first; unique in the "
        "pipeline."
    )
    probability: int = strawberry.field(
        description="The percent chance, 0 to 100, that a deal here closes won: 100 for a WON "
        "stage, 0 for a LOST one."
    )
    outcome: StageOutcome = strawberry.field(  # type: ignore[valid-type]
        description="OPEN, WON or LOST."
    )
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="On updatePipeline, the stage of the pipeline this one keeps (renamed, "
        "moved or re-weighted); none: a new stage. Not given on createPipeline.",
    )

    def draft(self) -> pipelines.StageDraft:
        return pipelines.StageDraft(
            name=self.name,
            order=self.order,
            probability=self.probability,
            outcome=self.outcome,
            id=None if self.id is None else str(self.id),
        )
