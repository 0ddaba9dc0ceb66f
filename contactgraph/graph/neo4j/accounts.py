"""What every view of the Neo4j store shares (its connections, the scope it reads in,
the actor it writes as) and the records about people rather than the graph: roles,
grants, tokens, and the change history."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Self

from .. import history as entry
from ..history import SYSTEM, Actor, AuditQuery, ChangeKind, ChangePage
from ..identity import ApiToken, Grant, Role, Scope, ScopeKind
from ..model import Page, Party
from . import history, identity
from .cypher import Tx
from .session import Neo4jSession


class Neo4jAccounts(Neo4jSession):
    _scope: Scope | None = None
    _actor: Actor = SYSTEM

    def scoped(self, scope: Scope) -> Self:
        """This store's connection pool and walk turns, its reads narrowed to the scope;
        the store it came from starts and closes them."""
        view = copy.copy(self)
        view._scope = scope
        return view

    def acting(self, actor: Actor) -> Self:
        view = copy.copy(self)
        view._actor = actor
        return view

    # -- history -------------------------------------------------------------

    async def history(
        self, subject_ids: Sequence[str], page: Page, hidden: frozenset[ChangeKind]
    ) -> dict[str, ChangePage]:
        return await self._read(lambda tx: history.of_subjects(tx, subject_ids, page, hidden))

    async def audit_log(self, query: AuditQuery, page: Page) -> ChangePage:
        return await self._walk(lambda tx: history.audit(tx, query, page))

    # -- identity ------------------------------------------------------------

    async def roles(self) -> list[Role]:
        return await self._read(identity.roles)

    async def grants(self, user_ids: Sequence[str]) -> dict[str, list[Grant]]:
        return await self._read(lambda tx: identity.grants(tx, user_ids))

    async def user_by_username(self, username: str) -> Party | None:
        return await self._read(lambda tx: identity.user_by_username(tx, username))

    async def grant_role(self, grant: Grant) -> Grant:
        async def work(tx: Tx) -> Grant:
            held = await identity.add_grant(tx, grant)
            if held.id == grant.id:
                await history.append(tx, [entry.role_granted(held, self._actor)])
            return held

        return await self._write(work)

    async def revoke_role(
        self, user_id: str, role: str, scope_id: str | None, kind: ScopeKind
    ) -> bool:
        async def work(tx: Tx) -> bool:
            held = await identity.remove_grant(tx, user_id, role, scope_id, kind)
            if held is not None:
                await history.append(tx, [entry.role_revoked(held, self._actor)])
            return held is not None

        return await self._write(work)

    async def create_token(self, token: ApiToken) -> ApiToken:
        async def work(tx: Tx) -> ApiToken:
            made = await identity.add_token(tx, token)
            await history.append(tx, [entry.token_created(made, self._actor)])
            return made

        return await self._write(work)

    async def token_by_hash(self, secret_hash: str) -> ApiToken | None:
        return await self._read(lambda tx: identity.token_by_hash(tx, secret_hash))

    async def tokens(self, user_id: str | None) -> list[ApiToken]:
        return await self._read(lambda tx: identity.tokens(tx, user_id))

    async def revoke_token(self, token_id: str, at: datetime) -> ApiToken:
        async def work(tx: Tx) -> ApiToken:
            ended = await identity.end_token(tx, token_id, at)
            if ended.revoked_at == at:
                await history.append(tx, [entry.token_revoked(ended, self._actor)])
            return ended

        return await self._write(work)
