"""Levels as data: the kinds of organizational unit (company, branch, office, department,
team, position, and whatever a business adds), ordered by rank, highest level first.

An organization's level is its `unit_type`, a level's id; the ids of the built-in levels
are the names the UnitType enum had, so values stored before levels were data are
levels as they are. PART_OF between two organizations with levels goes from a lower
level (a greater rank) to a higher one, or to one of its own level (a department of a
department), never upwards to a lower one, unless the category of the part allows any
order (Category.any_level_order).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from .errors import BadUserInput, Conflict, InvalidValue, NotFound
from .history import Actor, Change, ChangeKind, FieldChange, about_category
from .model import Batch, Category, Party, Relationship, RelType

ID = re.compile(r"[A-Z][A-Z0-9_]{0,39}")  # as the built-in ones: DEPARTMENT
MAX_NAME = 200
MAX_LEVELS = 100


@dataclass(frozen=True)
class Level:
    id: str
    name: str
    rank: int  # smaller is higher: a company ranks above its departments
    description: str = ""


DEFAULT_LEVELS: tuple[Level, ...] = (
    Level("COMPANY", "Company", 100, "A legal entity at the top of its organization."),
    Level("BRANCH", "Branch", 200, "A site or subsidiary of a company."),
    Level("OFFICE", "Office", 300, "An office of a branch or company."),
    Level("DEPARTMENT", "Department", 400, "A functional unit."),
    Level("TEAM", "Team", 500, "A working group inside a department."),
    Level("POSITION", "Position", 600, "A post that one person holds at a time."),
)


def checked(level: Level, stored: Mapping[str, Level]) -> Level:
    """A level as stored: a plain upper-case id, a name, a rank no other level has."""
    if not ID.fullmatch(level.id):
        raise InvalidValue(
            "id", level.id, "must be 1-40 upper-case letters, digits or '_', first a letter"
        )
    name = level.name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidValue("name", level.name, f"must hold 1 to {MAX_NAME} characters")
    other = next((x for x in stored.values() if x.id != level.id and x.rank == level.rank), None)
    if other is not None:
        raise Conflict(f"rank {level.rank} is level {other.id}'s: give another")
    if level.id not in stored and len(stored) >= MAX_LEVELS:
        raise BadUserInput(f"there may be at most {MAX_LEVELS} levels")
    return replace(level, name=name, description=level.description.strip())


def created(level: Level, stored: Mapping[str, Level]) -> Level:
    if level.id in stored:
        raise Conflict(f"level {level.id} already exists")
    return checked(level, stored)


def updated(level_id: str, change: Callable[[Level], Level], stored: Mapping[str, Level]) -> Level:
    current = stored.get(level_id)
    if current is None:
        raise NotFound(f"level {level_id} does not exist")
    return checked(change(current), stored)


def checked_by_levels(batch: Batch) -> bool:
    """Whether checking the batch reads the levels: a party with one, or a PART_OF edge
    (whose stored ends may have one). A contact filed under its organization does not."""
    return any(p.unit_type is not None for p in batch.parties) or any(
        rel.type is RelType.PART_OF for rel in batch.relationships
    )


def check_level(party: Party, stored: Mapping[str, Level]) -> None:
    """An organization's level is one of the levels."""
    if party.unit_type is not None and party.unit_type not in stored:
        raise InvalidValue("level", party.unit_type, "is not a level (see the levels query)")


def check_part_of(
    rel: Relationship,
    part: Party,
    whole: Party,
    stored: Mapping[str, Level],
    categories: Mapping[str, Category],
) -> None:
    """PART_OF never goes from a higher level to a lower one, unless the part's category
    allows any order; organizations without a level may be part of anything."""
    if rel.type is not RelType.PART_OF or part.unit_type is None or whole.unit_type is None:
        return
    category = categories.get(part.category_id or "")
    if category is not None and category.any_level_order:
        return
    below, above = stored.get(part.unit_type), stored.get(whole.unit_type)
    if below is None or above is None or below.rank >= above.rank:
        return
    raise BadUserInput(
        f"PART_OF goes from a lower level to a higher one (or the same): {below.id} (rank "
        f"{below.rank}) is above {above.id} (rank {above.rank}); a category with "
        "anyLevelOrder allows it"
    )


def change(before: Level | None, after: Level, actor: Actor, at: datetime) -> Change | None:
    """The history entry of a level write, with each field it changed; None when it
    changed nothing."""
    if before == after:
        return None
    old = {} if before is None else _shown(before)
    changed = [FieldChange(k, old.get(k), v) for k, v in _shown(after).items() if old.get(k) != v]
    kind = ChangeKind.LEVEL_CREATED if before is None else ChangeKind.LEVEL_UPDATED
    return about_category(actor, kind, after.id, changed, at)


def _shown(level: Level) -> dict[str, object]:
    return {"name": level.name, "rank": level.rank, "description": level.description}
