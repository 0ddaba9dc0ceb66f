"""Query.agenda: the planned and recorded work of several users, or of a team of the
home organization, in one window."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..graph import teams
from ..graph.errors import BadUserInput
from ..schema.agenda import (
    AgendaEntry,
    AgendaTypes,
    From,
    Statuses,
    To,
    agenda_query,
    connection,
)
from ..schema.common_arguments import After, First
from ..schema.pages import Connection
from ..schema.types import ContextInfo


@strawberry.type
class AgendaRoot:
    @strawberry.field(
        description="Every appointment, task and other activity in the window on the agendas "
        "of these users (as author, assignee or attendee) and of the team's members, each "
        "occurrence of a recurring appointment on its own, in time order (ties by activity "
        "id); overlapping appointments of one user are flagged on each. Only activities "
        "with a subject the viewer may read show; a user or team outside is NOT_FOUND."
    )
    async def agenda(
        self,
        info: ContextInfo,
        from_: From,
        to: To,
        user_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="Users whose agendas to merge."),
        ] = None,
        team_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="A unit of the home organization (its category, or that of a "
                "party above it, is home-organization): its users' agendas, merged."
            ),
        ] = None,
        types: AgendaTypes = None,
        statuses: Statuses = None,
        first: First = None,
        after: After = None,
    ) -> Connection[AgendaEntry]:
        if not user_ids and team_id is None:
            raise BadUserInput("name the agenda's users: userIds, teamId or both")
        context = info.context
        people = list(user_ids or ())
        if team_id is not None:
            depth = context.settings.max_depth
            people += await teams.members(context.store, team_id, context.now, depth)
        query = agenda_query(await teams.users(context.store, people), from_, to, types, statuses)
        activities = await info.context.store.agenda(query)
        return connection(info, activities, query, first, after)
