"""GraphQL of levels: the kinds of organizational unit, ordered by rank, and the inputs
that add and change them."""

from __future__ import annotations

from dataclasses import replace

import strawberry

from ..graph import levels as domain
from .history import Change, node_history
from .pages import Connection

RANK = (
    "Its place in the order, smallest highest: a company 100, a branch 200, an office 300, "
    "a department 400, a team 500, a position 600 by default. Give a rank between two to "
    "insert a level between them; no two levels share one."
)


@strawberry.type(
    description="A kind of organizational unit. An organization is PART_OF one of a higher "
    "level or of its own, never of a lower one, unless its category has anyLevelOrder."
)
class Level:
    id: strawberry.ID = strawberry.field(description="A stable key such as DEPARTMENT.")
    name: str = strawberry.field(description="For display.")
    rank: int = strawberry.field(description=RANK)
    description: str = strawberry.field(description="What units of this level are; may be empty.")
    history: Connection[Change] = strawberry.field(
        resolver=node_history, description="Its changes, newest first (LEVEL_* entries)."
    )

    @classmethod
    def of(cls, level: domain.Level) -> Level:
        return cls(
            id=strawberry.ID(level.id),
            name=level.name,
            rank=level.rank,
            description=level.description,
        )


@strawberry.input(description="A new level.")
class CreateLevelInput:
    id: strawberry.ID = strawberry.field(
        description="1 to 40 upper-case letters, digits or '_', first a letter: REGION."
    )
    name: str = strawberry.field(description="For display; not blank.")
    rank: int = strawberry.field(description=RANK)
    description: str = strawberry.field(default="", description="What units of it are.")

    def value(self) -> domain.Level:
        return domain.Level(str(self.id), self.name, self.rank, self.description)


@strawberry.input(description="What to change of a level; a field left out stays as it is.")
class UpdateLevelInput:
    name: str | None = strawberry.field(default=None, description="For display.")
    rank: int | None = strawberry.field(default=None, description=RANK)
    description: str | None = strawberry.field(default=None, description="What units of it are.")

    def applied(self, level: domain.Level) -> domain.Level:
        given = {k: v for k, v in vars(self).items() if v is not None}
        return replace(level, **given)
