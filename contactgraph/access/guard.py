"""The store as one viewer may use it: every permission check in one place.

Resolvers reach the store only through this guard, so a new resolver cannot
forget a check: reads need READ, writes WRITE; users, roles and other people's
tokens need ADMIN; fiscal data needs FISCAL to be written. A refused call raises
before the store is touched, so nothing is written. A port method not classified
here is not reachable from a request at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..graph.errors import Forbidden, Unauthenticated
from ..graph.identity import ApiToken, Grant, Permission, Role
from ..graph.model import Activity, Party, PartyKind, Relationship
from ..graph.store import GraphStore
from .viewer import Viewer

READS = frozenset(
    {
        "get_nodes",
        "get_parties",
        "list_parties",
        "get_categories",
        "relationships",
        "children",
        "descendants",
        "ancestors",
        "neighborhood",
        "shortest_path",
        "timelines",
    }
)


class GuardedStore:
    def __init__(self, store: GraphStore, viewer: Viewer | None) -> None:
        self._store = store
        self._viewer = viewer

    @property
    def viewer(self) -> Viewer:
        if self._viewer is None:
            raise Unauthenticated("sign in with Authorization: Bearer TOKEN")
        return self._viewer

    def __getattr__(self, name: str) -> Any:
        if name not in READS:
            raise AttributeError(name)
        read = getattr(self._store, name)

        async def checked(*args: Any, **kwargs: Any) -> Any:
            self.viewer.require(Permission.READ, "reading the graph")
            return await read(*args, **kwargs)

        return checked

    # -- parties, relationships, activities ---------------------------------

    def _may_write(self, party: Party | None = None, fiscal: bool = False) -> Viewer:
        viewer = self.viewer
        viewer.require(Permission.WRITE, "changing the graph")
        if fiscal:
            viewer.require(Permission.FISCAL, "writing fiscal data")
        if party is not None and party.kind is PartyKind.USER and party.id != viewer.id:
            viewer.require(Permission.ADMIN, "changing a user")
        return viewer

    async def _target(self, party_id: str) -> Party | None:
        """The party a write changes, read only when who may change it depends on it."""
        if self.viewer.can(Permission.ADMIN):
            return None
        return (await self._store.get_parties([party_id])).get(party_id)

    async def create_party(self, party: Party) -> Party:
        self._may_write(party, fiscal=party.fiscal is not None)
        return await self._store.create_party(party)

    async def update_party(
        self,
        party_id: str,
        changes: Mapping[str, object],
        expected_version: int | None,
        at: datetime,
    ) -> Party:
        self._may_write(await self._target(party_id), fiscal="fiscal" in changes)
        return await self._store.update_party(party_id, changes, expected_version, at)

    async def archive_party(self, party_id: str, at: datetime) -> Party:
        self._may_write(await self._target(party_id))
        return await self._store.archive_party(party_id, at)

    async def link(self, rel: Relationship) -> Relationship:
        self._may_write()
        return await self._store.link(rel)

    async def unlink(self, rel_id: str, until: datetime) -> Relationship:
        self._may_write()
        return await self._store.unlink(rel_id, until)

    async def record_activity(self, activity: Activity) -> Activity:
        viewer = self._may_write()
        if activity.author_id != viewer.id:
            viewer.require(Permission.ADMIN, "recording an activity for another author")
        return await self._store.record_activity(activity)

    # -- identity ------------------------------------------------------------

    def _self_or_admin(self, user_id: str | None, action: str) -> None:
        if user_id != self.viewer.id:
            self.viewer.require(Permission.ADMIN, action)

    async def roles(self) -> list[Role]:
        self.viewer  # noqa: B018 - signed in is enough
        return await self._store.roles()

    async def grants(self, user_ids: Sequence[str]) -> dict[str, list[Grant]]:
        for user_id in set(user_ids):
            self._self_or_admin(user_id, "reading another user's roles")
        return await self._store.grants(user_ids)

    async def grant_role(self, grant: Grant) -> Grant:
        self.viewer.require(Permission.ADMIN, "granting a role")
        return await self._store.grant_role(grant)

    async def revoke_role(self, user_id: str, role: str, scope_id: str | None) -> bool:
        self.viewer.require(Permission.ADMIN, "revoking a role")
        return await self._store.revoke_role(user_id, role, scope_id)

    async def create_token(self, token: ApiToken) -> ApiToken:
        self._self_or_admin(token.user_id, "making a token for another user")
        return await self._store.create_token(token)

    async def tokens(self, user_id: str | None) -> list[ApiToken]:
        self._self_or_admin(user_id, "listing another user's tokens")
        return await self._store.tokens(user_id)

    async def revoke_token(self, token_id: str, at: datetime) -> ApiToken:
        viewer = self.viewer
        if not viewer.can(Permission.ADMIN) and token_id not in {
            t.id for t in await self._store.tokens(viewer.id)
        }:
            raise Forbidden("revoking another user's token needs the ADMIN permission")
        return await self._store.revoke_token(token_id, at)
