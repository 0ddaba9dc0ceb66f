"""Query.worklist: a user's to-do list of process steps across parties."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..graph import teams
from ..graph.errors import LimitExceeded
from ..graph.worklist import WorklistQuery, cursor
from ..schema.common_arguments import After, First
from ..schema.pages import Connection, Edge, page_info
from ..schema.processes import At, WorklistItem
from .context import ContextInfo

MAX_CATEGORIES = 50  # categoryIds of one worklist


@strawberry.type
class WorklistRoot:
    @strawberry.field(
        description="The open process steps assigned to a user, soonest due first (ties by "
        "id), of the parties the viewer may read. Anyone may ask for their own; another "
        "user's is NOT_FOUND when the viewer may not read that user."
    )
    async def worklist(
        self,
        info: ContextInfo,
        assignee_id: Annotated[strawberry.ID, strawberry.argument(description="The user.")],
        overdue: Annotated[
            bool, strawberry.argument(description="Only the steps overdue at `at`.")
        ] = False,
        category_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description=f"Only steps of these categories' processes (at most "
                f"{MAX_CATEGORIES}); none: every category."
            ),
        ] = None,
        at: At = None,
        first: First = None,
        after: After = None,
    ) -> Connection[WorklistItem]:
        context = info.context
        viewer = context.signed_in
        if viewer is None or viewer.user.id != assignee_id:
            await teams.users(context.store, [assignee_id])
        if category_ids and len(category_ids) > MAX_CATEGORIES:
            raise LimitExceeded(f"at most {MAX_CATEGORIES} categoryIds")
        moment = at or context.now
        query = WorklistQuery(
            assignee_id=str(assignee_id),
            page=context.page(first, after),
            category_ids=tuple(str(c) for c in category_ids or ()),
            due_before=moment if overdue else None,
        )
        query.after()  # a malformed cursor is refused before the store reads
        found = await context.store.worklist(query)
        edges = [Edge(cursor=cursor(s), node=WorklistItem.of(s, moment)) for s in found.steps]
        return Connection(edges=edges, page_info=page_info(edges, found.has_next))
