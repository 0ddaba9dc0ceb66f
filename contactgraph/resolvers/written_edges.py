"""The relationships of a party the request has just created, answered from its write:
every edge a new party has was written with it, so reading them back would cost a
transaction and give nothing more."""

from __future__ import annotations

from collections.abc import Iterable

from ..graph.model import Direction, Relationship
from .loaders import RelationshipQuery


def _at_end(rel: Relationship, party_id: str, direction: Direction) -> bool:
    if direction is Direction.OUTGOING:
        return rel.from_id == party_id
    if direction is Direction.INCOMING:
        return rel.to_id == party_id
    return party_id in (rel.from_id, rel.to_id)


def touching(
    party_id: str, edges: Iterable[Relationship], query: RelationshipQuery
) -> list[Relationship]:
    """Those of the new party's `edges` that the stores' read of its relationships would
    answer to `query` (an unscoped read: every end is visible), in the same order: by
    since, then id."""
    at = query.as_of
    return sorted(
        (
            rel
            for rel in edges
            if rel.type in query.types
            and _at_end(rel, party_id, query.direction)
            and (at is None or (rel.since <= at and (rel.until is None or rel.until > at)))
        ),
        key=lambda rel: (rel.since, rel.id),
    )
