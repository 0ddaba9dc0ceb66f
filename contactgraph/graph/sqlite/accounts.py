"""What every view of the embedded store shares (its database, the scope it reads in,
the actor it writes as) and the records about people rather than the graph: roles,
grants, tokens, and the change history."""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Self, TypeVar

from .. import history as entry
from ..history import SYSTEM, Actor, AuditQuery, ChangeKind, ChangePage
from ..identity import ApiToken, Grant, Role, Scope, ScopeKind
from ..model import Page, Party
from . import history, identity, scopes
from .database import Database, Work

T = TypeVar("T")


class SqliteAccounts:
    _scope: Scope | None = None
    _actor: Actor = SYSTEM

    def __init__(self, database: Database, region: str | None = None) -> None:
        self._db = database
        self.default_region = region

    def scoped(self, scope: Scope) -> Self:
        view = copy.copy(self)
        view._scope = scope
        return view

    def acting(self, actor: Actor) -> Self:
        view = copy.copy(self)
        view._actor = actor
        return view

    def _inside(self, conn: sqlite3.Connection) -> scopes.Reach:
        return scopes.reach(conn, self._scope)

    @classmethod
    def from_url(
        cls, url: str, create: bool = False, region: str | None = None, read_only: bool = False
    ) -> Self:
        return cls(Database.from_url(url, create, read_only), region=region)

    async def _read(self, work: Work[T]) -> T:
        return await self._db.read(work)

    async def _walk(self, work: Work[T]) -> T:
        return await self._db.walk(work)

    async def _write(self, work: Work[T]) -> T:
        return await self._db.write(work)

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        await self._db.start()

    async def close(self) -> None:
        await self._db.close()

    async def ping(self, seconds: float) -> None:
        await self._db.ping(seconds)

    # -- history -------------------------------------------------------------

    async def history(
        self, subject_ids: Sequence[str], page: Page, hidden: frozenset[ChangeKind]
    ) -> dict[str, ChangePage]:
        return await self._read(lambda conn: history.of_subjects(conn, subject_ids, page, hidden))

    async def audit_log(self, query: AuditQuery, page: Page) -> ChangePage:
        return await self._walk(lambda conn: history.audit(conn, query, page))

    # -- identity ------------------------------------------------------------

    async def roles(self) -> list[Role]:
        return await self._read(identity.roles)

    async def grants(self, user_ids: Sequence[str]) -> dict[str, list[Grant]]:
        return await self._read(lambda conn: identity.grants(conn, user_ids))

    async def user_by_username(self, username: str) -> Party | None:
        return await self._read(lambda conn: identity.user_by_username(conn, username))

    async def grant_role(self, grant: Grant) -> Grant:
        def work(conn: sqlite3.Connection) -> Grant:
            held = identity.add_grant(conn, grant)
            if held.id == grant.id:
                history.append(conn, [entry.role_granted(held, self._actor)])
            return held

        return await self._write(work)

    async def revoke_role(
        self, user_id: str, role: str, scope_id: str | None, kind: ScopeKind
    ) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            held = identity.remove_grant(conn, user_id, role, scope_id, kind)
            if held is not None:
                history.append(conn, [entry.role_revoked(held, self._actor)])
            return held is not None

        return await self._write(work)

    async def create_token(self, token: ApiToken) -> ApiToken:
        def work(conn: sqlite3.Connection) -> ApiToken:
            made = identity.add_token(conn, token)
            history.append(conn, [entry.token_created(made, self._actor)])
            return made

        return await self._write(work)

    async def token_by_hash(self, secret_hash: str) -> ApiToken | None:
        return await self._read(lambda conn: identity.token_by_hash(conn, secret_hash))

    async def tokens(self, user_id: str | None) -> list[ApiToken]:
        return await self._read(lambda conn: identity.tokens(conn, user_id))

    async def revoke_token(self, token_id: str, at: datetime) -> ApiToken:
        def work(conn: sqlite3.Connection) -> ApiToken:
            ended = identity.end_token(conn, token_id, at)
            if ended.revoked_at == at:
                history.append(conn, [entry.token_revoked(ended, self._actor)])
            return ended

        return await self._write(work)
