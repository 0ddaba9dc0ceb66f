"""Whose agenda: users checked, and the users of a team of the home organization.

A team is an organization unit at or below a party of the home-organization category;
its members are the users it EMPLOYS and those that are MEMBER_OF it, now (DESIGN in
docs/architecture.md). Read through the viewer's store, so a user or team outside its
scope reads as absent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .errors import BadUserInput, NotFound
from .model import DEFAULT_HIERARCHY_TYPES, Direction, PartyKind, RelType
from .store import GraphStore

HOME = "home-organization"
MEMBERSHIP = (RelType.EMPLOYS, RelType.MEMBER_OF)


async def users(store: GraphStore, ids: Sequence[str]) -> tuple[str, ...]:
    """The ids, each once, each a user the store reads (else NOT_FOUND or BAD_USER_INPUT)."""
    found = await store.get_parties(ids)
    for user_id in ids:
        party = found.get(user_id)
        if party is None:
            raise NotFound(f"user {user_id} does not exist, or lies outside what you may read")
        if party.kind is not PartyKind.USER:
            raise BadUserInput(f"{user_id} is a {party.kind.value}, not a USER")
    return tuple(dict.fromkeys(ids))


async def members(store: GraphStore, team_id: str, now: datetime, depth: int) -> list[str]:
    """The users of a unit of the home organization, in id order."""
    team = (await store.get_parties([team_id])).get(team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist, or lies outside what you may read")
    above = await store.ancestors([team_id], DEFAULT_HIERARCHY_TYPES, depth, now)
    chain = [team, *(row.party for row in above[team_id].rows)]
    if team.kind is not PartyKind.ORGANIZATION or all(p.category_id != HOME for p in chain):
        raise BadUserInput(f"{team_id} is not a unit of the home organization")
    edges = (await store.relationships([team_id], MEMBERSHIP, Direction.BOTH, now))[team_id]
    ends = {
        e.to_id if e.type is RelType.EMPLOYS else e.from_id
        for e in edges
        if (e.type is RelType.EMPLOYS) == (e.from_id == team_id)
    }
    found = await store.get_parties(sorted(ends))
    return sorted(i for i, p in found.items() if p.kind is PartyKind.USER)
