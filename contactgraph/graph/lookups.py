"""Questions answered by composing store calls, the same way on every backend."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from .cursors import encode_cursor
from .errors import BadUserInput, NotFound, past_the_ceiling
from .model import (
    DEFAULT_HIERARCHY_TYPES,
    Ancestry,
    Page,
    Party,
    PartyKind,
    TreeReading,
    display_order,
)
from .store import GraphStore

# rows of the subtree read per call looking down: ids and kinds only, nearest first
DOWN_PAGE = 1_000
_IDS_ONLY = TreeReading(parties=False, edges=False, parents=False)


class Toward(enum.Enum):
    """Where contactPerson looks from the unit asked about."""

    UP = "UP"
    DOWN = "DOWN"
    BOTH = "BOTH"


@dataclass(frozen=True)
class ContactPersonMatch:
    person: Party
    organization: Party
    distance: int
    below: bool = False


# (distance, holder id, unit id, below)
Holder = tuple[int, str, str, bool]


async def contact_person(
    store: GraphStore,
    organization_id: str,
    role: str,
    as_of: datetime,
    max_depth: int,
    ceiling: bool = False,
    toward: Toward = Toward.UP,
) -> ContactPersonMatch | None:
    """The nearest holder of `role` (on an EMPLOYS or MEMBER_OF edge, case-insensitive) at
    the unit or, failing that, at the nearest unit above it, below it (nearest first, each
    unit at its shortest depth) or either; ties go by name, then above before below. When
    max_depth is the server's `ceiling` and nobody within it holds the role, units past it
    make the answer unknown: LIMIT_EXCEEDED."""
    wanted = role.strip().casefold()
    if not wanted:
        raise BadUserInput("role must not be empty")
    unit = (await store.get_parties([organization_id])).get(organization_id)
    if unit is None:
        raise NotFound(f"party {organization_id} does not exist")
    if unit.kind is not PartyKind.ORGANIZATION:
        raise BadUserInput(f"{organization_id} is a {unit.kind.value}, not an ORGANIZATION")
    units: dict[str, tuple[int, bool]] = {unit.id: (0, False)}
    holders: list[Holder] = []
    past = False
    if toward is not Toward.DOWN:
        above = (
            await store.ancestors(
                [organization_id], DEFAULT_HIERARCHY_TYPES, max_depth, as_of, tell_beyond=ceiling
            )
        ).get(organization_id, Ancestry([]))
        for row in above.rows:
            units.setdefault(row.party.id, (row.depth, False))
        holders += await _holders(store, units, wanted, as_of)
        past = above.beyond
    if toward is not Toward.UP:
        if toward is Toward.DOWN:
            holders += await _holders(store, units, wanted, as_of)
        nearest = min((h[0] for h in holders), default=max_depth)
        found, past_below = await _holders_below(store, unit.id, wanted, as_of, nearest, ceiling)
        holders += found
        past = past or past_below
    if not holders:
        if ceiling and past:
            raise past_the_ceiling(f"the hierarchy around {organization_id}", max_depth)
        return None
    # the units below were read as ids: theirs come with the holders
    read = await store.get_parties([i for h in holders for i in (h[1], h[2])])
    holders = [h for h in holders if h[1] in read and h[2] in read]
    if not holders:
        return None
    distance, holder, unit_id, below = min(
        holders, key=lambda h: (h[0], *display_order(read[h[1]]), h[3], h[2])
    )
    return ContactPersonMatch(read[holder], read[unit_id], distance, below)


async def _holders(
    store: GraphStore, units: dict[str, tuple[int, bool]], wanted: str, as_of: datetime
) -> list[Holder]:
    """Who holds the role at each of `units` (by id: distance, below)."""
    found: list[Holder] = []
    for unit_id, pairs in (await store.role_holders(list(units), as_of)).items():
        distance, below = units[unit_id]
        found += [
            (distance, holder, unit_id, below)
            for holder, role in pairs
            if role.strip().casefold() == wanted
        ]
    return found


async def _holders_below(
    store: GraphStore, root: str, wanted: str, as_of: datetime, nearest: int, ceiling: bool
) -> tuple[list[Holder], bool]:
    """Holders at the units below root no deeper than `nearest` (the best distance found so
    far, else the depth bound), read a page of the subtree at a time in depth order: a
    search that finds one stops at the first page past its depth. Each unit once at its
    shortest depth, as descendants reads it, however many ways lead to it."""
    found: list[Holder] = []
    after: str | None = None
    while True:
        page = (
            await store.descendants(
                [root],
                DEFAULT_HIERARCHY_TYPES,
                nearest,
                as_of,
                Page(DOWN_PAGE, after),
                count=False,
                reading=_IDS_ONLY,
                tell_beyond=ceiling,
            )
        )[root]
        units = {
            row.party.id: (row.depth, True)
            for row in page.rows
            if row.party.kind is PartyKind.ORGANIZATION
        }
        if units:
            found += await _holders(store, units, wanted, as_of)
        if found:
            nearest = min(h[0] for h in found)
        if not page.has_next or not page.rows or page.rows[-1].depth > nearest:
            return found, page.beyond
        after = encode_cursor(str(page.rows[-1].depth), page.rows[-1].party.id)
