"""Questions answered by composing store calls, the same way on every backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .errors import BadUserInput, NotFound, past_the_ceiling
from .model import (
    DEFAULT_HIERARCHY_TYPES,
    Ancestry,
    Direction,
    Party,
    PartyKind,
    RelType,
    display_order,
)
from .store import GraphStore

HOLDING_TYPES = (RelType.EMPLOYS, RelType.MEMBER_OF)


@dataclass(frozen=True)
class ContactPersonMatch:
    person: Party
    organization: Party
    distance: int


async def contact_person(
    store: GraphStore,
    organization_id: str,
    role: str,
    as_of: datetime,
    max_depth: int,
    ceiling: bool = False,
) -> ContactPersonMatch | None:
    """The nearest holder of `role` (on an EMPLOYS or MEMBER_OF edge, case-insensitive) at
    the unit or, failing that, at the nearest unit above it; ties go by name. When max_depth
    is the server's `ceiling` and nobody within it holds the role, units above it make
    the answer unknown: LIMIT_EXCEEDED."""
    wanted = role.strip().casefold()
    if not wanted:
        raise BadUserInput("role must not be empty")
    unit = (await store.get_parties([organization_id])).get(organization_id)
    if unit is None:
        raise NotFound(f"party {organization_id} does not exist")
    if unit.kind is not PartyKind.ORGANIZATION:
        raise BadUserInput(f"{organization_id} is a {unit.kind.value}, not an ORGANIZATION")
    above = (
        await store.ancestors(
            [organization_id], DEFAULT_HIERARCHY_TYPES, max_depth, as_of, tell_beyond=ceiling
        )
    ).get(organization_id, Ancestry([]))
    units = {unit.id: (unit, 0)}
    for row in above.rows:
        units.setdefault(row.party.id, (row.party, row.depth))
    edges = await store.relationships(list(units), HOLDING_TYPES, Direction.BOTH, as_of)
    holders: list[tuple[int, str, str]] = []  # (distance, holder, unit)
    for unit_id, rels in edges.items():
        for rel in rels:
            if (rel.role or "").strip().casefold() != wanted:
                continue
            if rel.type is RelType.EMPLOYS and rel.from_id == unit_id:
                holders.append((units[unit_id][1], rel.to_id, unit_id))
            elif rel.type is RelType.MEMBER_OF and rel.to_id == unit_id:
                holders.append((units[unit_id][1], rel.from_id, unit_id))
    if not holders:
        if ceiling and above.beyond:
            raise past_the_ceiling(f"the hierarchy above {organization_id}", max_depth)
        return None
    people = await store.get_parties([holder for _, holder, _ in holders])
    distance, holder, unit_id = min(
        holders, key=lambda h: (h[0], *display_order(people[h[1]]), h[2])
    )
    return ContactPersonMatch(people[holder], units[unit_id][0], distance)
