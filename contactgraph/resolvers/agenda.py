"""Query.agenda: the planned and recorded work of several users, or of a team of the
home organization, in one window."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..graph import model
from ..graph.errors import BadUserInput, NotFound
from ..schema.agenda import (
    AgendaEntry,
    AgendaTypes,
    From,
    Statuses,
    To,
    agenda_query,
    connection,
    users_of,
)
from ..schema.common_arguments import After, First
from ..schema.pages import Connection
from ..schema.types import ContextInfo

HOME = "home-organization"
MEMBERSHIP = (model.RelType.EMPLOYS, model.RelType.MEMBER_OF)


async def team_members(info: ContextInfo, team_id: str) -> list[str]:
    """The users of a unit of the home organization (the unit EMPLOYS them, or they are
    MEMBER_OF it, now), in id order."""
    context = info.context
    store, now = context.store, context.now
    team = (await store.get_parties([team_id])).get(team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist, or lies outside what you may read")
    above = await store.ancestors(
        [team_id], model.DEFAULT_HIERARCHY_TYPES, context.settings.max_depth, now
    )
    chain = [team, *(row.party for row in above[team_id].rows)]
    if team.kind is not model.PartyKind.ORGANIZATION or all(p.category_id != HOME for p in chain):
        raise BadUserInput(f"{team_id} is not a unit of the home organization")
    edges = (await store.relationships([team_id], MEMBERSHIP, model.Direction.BOTH, now))[team_id]
    ends = {
        e.to_id if e.type is model.RelType.EMPLOYS else e.from_id
        for e in edges
        if (e.type is model.RelType.EMPLOYS) == (e.from_id == team_id)
    }
    found = await store.get_parties(sorted(ends))
    return sorted(i for i, p in found.items() if p.kind is model.PartyKind.USER)


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
        people = list(user_ids or ())
        if team_id is not None:
            people += await team_members(info, team_id)
        query = agenda_query(await users_of(info, people), from_, to, types, statuses)
        activities = await info.context.store.agenda(query)
        return connection(info, activities, query, first, after)
