"""Who is responsible for a party: its own RESPONSIBLE_FOR edges, or the nearest ones
found above it."""

from __future__ import annotations

from datetime import datetime

from ..graph.model import DEFAULT_HIERARCHY_TYPES, Direction, Relationship, RelType
from .context import Context
from .loaders import AncestorsQuery, RelationshipQuery


async def responsibilities(
    context: Context, party_id: str, as_of: datetime, inherited: bool, max_depth: int | None
) -> tuple[list[Relationship], int]:
    """The edges at the party, or with `inherited` at the nearest party at or above it
    that has any (each party above once, at its shortest distance, whatever diamonds lie
    on the way), and that distance. Two batched loads whatever the list it is read in:
    the ancestors, then the edges of all of them at once. Nothing found within the
    server's depth ceiling while the hierarchy goes on past it is LIMIT_EXCEEDED."""
    edges = RelationshipQuery((RelType.RESPONSIBLE_FOR,), Direction.INCOMING, as_of)
    if not inherited:
        return await context.loaders.relationships.load((party_id, edges)), 0
    above = await context.loaders.ancestors.load(
        (
            party_id,
            AncestorsQuery(
                DEFAULT_HIERARCHY_TYPES, context.depth(max_depth), as_of, max_depth is None
            ),
        )
    )
    chain = [(party_id, 0)] + [(row.party.id, row.depth) for row in above.rows]
    found = await context.loaders.relationships.load_many([(pid, edges) for pid, _ in chain])
    for (_, distance), rels in zip(chain, found, strict=True):
        if rels:
            return rels, distance
    context.cut(above.beyond, max_depth, f"the hierarchy above {party_id}")
    return [], 0
