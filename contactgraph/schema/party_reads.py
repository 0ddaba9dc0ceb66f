"""The parties a field points at by id, read through the request's loaders. The party
types use the types that use these, so `party_of` is imported when first called and the
party types are named lazily."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import strawberry

from ..graph.identity import Permission
from ..resolvers.context import ContextInfo

if TYPE_CHECKING:
    from .parties import Party, User

PartyType = Annotated["Party", strawberry.lazy("contactgraph.schema.parties")]
UserType = Annotated["User", strawberry.lazy("contactgraph.schema.parties")]


async def load_party(info: ContextInfo, party_id: str) -> Party:
    from .parties import party_of

    found = await info.context.loaders.parties.load(party_id)
    if found is None:
        raise LookupError(f"party {party_id} vanished")
    return party_of(found)


async def load_parties(info: ContextInfo, party_ids: Sequence[str]) -> list[Party]:
    """Those of `party_ids` the viewer may read, in their order."""
    from .parties import party_of

    found = await info.context.loaders.parties.load_many(party_ids)
    return [party_of(p) for p in found if p is not None]


async def load_user(info: ContextInfo, user_id: str) -> User:
    """An author, even outside a scoped viewer's scope (one more batched read for those);
    an unscoped one's come with the parties around them."""
    from .parties import party_of

    context = info.context
    scoped = Permission.READ in context.viewer.scoped
    found = await (context.loaders.users if scoped else context.loaders.parties).load(user_id)
    if found is None:
        raise LookupError(f"user {user_id} vanished")
    return party_of(found)  # type: ignore[return-value]
