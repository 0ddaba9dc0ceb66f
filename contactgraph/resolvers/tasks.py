"""Query.tasks: a user's task list, or the open tasks about a client's whole tree."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from ..graph import model, tasks, teams
from ..graph.errors import BadUserInput, NotFound
from ..schema.activities import Activity
from ..schema.common_arguments import After, First
from ..schema.enums import ActivityStatus
from ..schema.pages import Connection, Edge, page_info
from ..schema.types import ContextInfo


@strawberry.type
class TasksRoot:
    @strawberry.field(
        description="TASK activities, soonest due first (ties by id): assigned to a user, "
        "about a party (with includeDescendants, about any party below it in the hierarchy "
        "now), or both. Only tasks with a subject the viewer may read show; an assignee or "
        "subject outside is NOT_FOUND."
    )
    async def tasks(
        self,
        info: ContextInfo,
        assignee_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="A user: their tasks.")
        ] = None,
        subject_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="A party: tasks about it.")
        ] = None,
        include_descendants: Annotated[
            bool,
            strawberry.argument(
                description="With subjectId, also tasks about every party below it (PART_OF, "
                "EMPLOYS, MEMBER_OF, down to the server's depth ceiling), as timelines roll up."
            ),
        ] = False,
        status: Annotated[
            ActivityStatus | None,  # type: ignore[valid-type]
            strawberry.argument(description="PLANNED (open, the default), DONE or CANCELLED."),
        ] = None,
        due_before: Annotated[
            datetime | None, strawberry.argument(description="Only tasks due before this.")
        ] = None,
        overdue: Annotated[
            bool,
            strawberry.argument(
                description="Only open tasks whose due date has passed at `now`; with a "
                "status other than PLANNED it is BAD_USER_INPUT."
            ),
        ] = False,
        now: Annotated[
            datetime | None,
            strawberry.argument(
                description="The instant overdue is judged at; defaults to the request's now."
            ),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Activity]:
        context = info.context
        wanted = status or model.ActivityStatus.PLANNED
        if overdue:
            if wanted is not model.ActivityStatus.PLANNED:
                raise BadUserInput("overdue tasks are PLANNED ones: leave status out")
            moment = now or context.now
            due_before = moment if due_before is None else min(due_before, moment)
        if assignee_id is not None:
            await teams.users(context.store, [assignee_id])
        if subject_id is not None and not await context.store.get_parties([subject_id]):
            raise NotFound(f"party {subject_id} does not exist, or lies outside what you may read")
        rollup = None
        if include_descendants:
            rollup = model.Rollup(
                model.DEFAULT_HIERARCHY_TYPES, context.now, context.settings.max_depth
            )
        query = tasks.TaskQuery(
            page=context.page(first, after),
            statuses=(wanted,),
            assignee_id=assignee_id,
            subject_id=subject_id,
            rollup=rollup,
            due_before=due_before,
        )
        query.after()  # a malformed cursor is refused before the store reads
        found = await context.store.tasks(query)
        edges = [Edge(cursor=tasks.cursor(t), node=Activity.of(t)) for t in found.tasks]
        return Connection(edges=edges, page_info=page_info(edges, found.has_next))
