"""The GraphQL types of edges between parties: relationships, and the answers of lookups
made of them (a path, a responsibility, a contact person)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from ..graph import model
from ..resolvers.context import ContextInfo
from .common_arguments import DEFAULTS
from .enums import RelType
from .history import Change, node_history
from .node import Node
from .pages import Connection
from .party_reads import PartyType, UserType, load_party

HISTORY = "What was done to it, newest first."


@strawberry.type(description="A typed, dated edge; ended edges stay for history.")
class Relationship(Node):
    type: RelType = strawberry.field(description="What the edge means; see RelType.")
    from_id: strawberry.ID = strawberry.field(description="The id of the party it starts at.")
    to_id: strawberry.ID = strawberry.field(description="The id of the party it points to.")
    role: str | None = strawberry.field(
        description="Free text: the job on EMPLOYS, the function on MEMBER_OF (CEO, "
        "treasurer), the kind of care on RESPONSIBLE_FOR; null when none was given."
    )
    since: datetime = strawberry.field(description="When it began; it holds from this instant.")
    until: datetime | None = strawberry.field(
        description="When it ended (exclusive); null while it holds."
    )
    properties: JSON = strawberry.field(
        description=f"A JSON object of the writer's own details; {{}} when none. At most "
        f"{DEFAULTS.max_properties_bytes} bytes and {DEFAULTS.max_properties_depth} levels "
        "deep by default (the server's --max-properties-bytes and --max-properties-depth)."
    )
    history: Connection[Change] = strawberry.field(resolver=node_history, description=HISTORY)

    @strawberry.field(name="from", description="The party it starts at.")
    async def from_(self, info: ContextInfo) -> PartyType:
        return await load_party(info, self.from_id)

    @strawberry.field(description="The party it points to.")
    async def to(self, info: ContextInfo) -> PartyType:
        return await load_party(info, self.to_id)

    @classmethod
    def of(cls, rel: model.Relationship) -> Relationship:
        return cls(
            id=strawberry.ID(rel.id),
            type=rel.type,
            from_id=strawberry.ID(rel.from_id),
            to_id=strawberry.ID(rel.to_id),
            role=rel.role,
            since=rel.since,
            until=rel.until,
            properties=rel.properties,
        )


@strawberry.type(description="A shortest path: nodes from start to goal, edges between them.")
class Path:
    nodes: list[PartyType] = strawberry.field(
        description="The parties along it, the start first and the goal last."
    )
    relationships: list[Relationship] = strawberry.field(
        description="The edges between consecutive nodes, in path order, whichever way each points."
    )

    @strawberry.field(description="How many edges the path has.")
    def length(self) -> int:
        return len(self.relationships)


@strawberry.type(description="A user responsible for a party, and since when.")
class Responsibility:
    relationship: Relationship = strawberry.field(
        description="The RESPONSIBLE_FOR edge: its role, since and until."
    )
    distance: int = strawberry.field(
        description="Levels between the party asked about and the party the edge points to: "
        "0 when it is that party's own, more when inherited from above."
    )

    @strawberry.field(description="The user who is responsible.")
    async def user(self, info: ContextInfo) -> UserType:
        return await load_party(info, self.relationship.from_id)  # type: ignore[return-value]

    @strawberry.field(
        description="The party the responsibility was found on: the one asked about, or the "
        "nearest one above it that has one."
    )
    async def found_on(self, info: ContextInfo) -> PartyType:
        return await load_party(info, self.relationship.to_id)


@strawberry.type(
    description="Who to ask at a unit: the nearest holder of a role at, above or below it."
)
class ContactPerson:
    person: PartyType = strawberry.field(
        description="The party holding the role (by an EMPLOYS or MEMBER_OF edge)."
    )
    organization: PartyType = strawberry.field(
        description="The unit where it was found: the one asked about, or one above or below it."
    )
    distance: int = strawberry.field(
        description="Levels between the unit asked about and the unit where it was found."
    )
    below: bool = strawberry.field(
        description="The unit where it was found lies below the one asked about."
    )
