"""Sales pipelines through GraphQL: anyone who may read lists them; defining or changing
one needs ADMIN (the guard checks it)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..graph import pipelines
from ..graph.times import utcnow
from ..schema.pipelines import Pipeline, StageInput
from .context import ContextInfo

PipelineId = Annotated[strawberry.ID, strawberry.argument(description="The pipeline's id.")]
Stages = Annotated[
    list[StageInput],
    strawberry.argument(
        description=f"Its stages, 1 to {pipelines.MAX_STAGES}, at least one OPEN; names and "
        "orders unique."
    ),
]


@strawberry.type
class PipelineQuery:
    @strawberry.field(description="Every sales pipeline, by name.")
    async def pipelines(self, info: ContextInfo) -> list[Pipeline]:
        return [Pipeline.of(p) for p in (await info.context.store.pipelines(None)).values()]

    @strawberry.field(description="A sales pipeline by id; null when there is none.")
    async def pipeline(self, info: ContextInfo, id: PipelineId) -> Pipeline | None:
        found = (await info.context.store.pipelines([str(id)])).get(str(id))
        return None if found is None else Pipeline.of(found)


@strawberry.type
class PipelineMutation:
    @strawberry.mutation(
        description=f"Define a sales pipeline (ADMIN); a name in use is a CONFLICT, more than "
        f"{pipelines.MAX_PIPELINES} pipelines LIMIT_EXCEEDED."
    )
    async def create_pipeline(
        self,
        info: ContextInfo,
        name: Annotated[
            str,
            strawberry.argument(
                description=f"For display, 1 to {pipelines.MAX_NAME} characters; unique."
            ),
        ],
        stages: Stages,
    ) -> Pipeline:
        wanted = pipelines.created(name, [s.draft() for s in stages])
        made = await info.context.store.write_pipeline(None, lambda _: wanted, utcnow())
        return Pipeline.of(made)

    @strawberry.mutation(
        description="Rename a pipeline or replace its stages (ADMIN): a stage given with its "
        "id is kept, one without is new, one left out is gone (CONFLICT while it holds "
        "opportunities). A stale expectedVersion is a CONFLICT; a change that changes "
        "nothing makes no new version."
    )
    async def update_pipeline(
        self,
        info: ContextInfo,
        id: PipelineId,
        name: Annotated[
            str | None, strawberry.argument(description="The new name; null: kept.")
        ] = None,
        stages: Annotated[
            list[StageInput] | None,
            strawberry.argument(description="All its stages from now on; null: kept."),
        ] = None,
        expected_version: Annotated[
            int | None,
            strawberry.argument(
                description="The version the change was made against (Pipeline.version)."
            ),
        ] = None,
    ) -> Pipeline:
        drafts = None if stages is None else [s.draft() for s in stages]

        def make(current: pipelines.Pipeline | None) -> pipelines.Pipeline:
            return pipelines.updated(current, str(id), name, drafts, expected_version)

        return Pipeline.of(await info.context.store.write_pipeline(str(id), make, utcnow()))
