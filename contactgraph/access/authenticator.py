"""From a request's Authorization value to a Viewer, or UNAUTHENTICATED.

An API token is looked up by its hash; a JWT (when an OIDC issuer is set) is
verified against the issuer's keys and names a user by a claim. What a
credential resolved to is cached for a few seconds, so a busy client costs
the store one lookup per interval rather than per request; a token revoked
through the API leaves the cache at once, one revoked from the CLI (another
process) within the interval. Every refusal says the same thing: why a
credential failed is logged, never told. Under --insecure-anonymous-admin a request
with no Authorization at all acts as the anonymous administrator (anonymous.py).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..graph.errors import Unauthenticated
from ..graph.identity import Grant, Permission, Role, Scope
from ..graph.model import LegalForm, Party, PartyKind
from ..graph.records import new_party
from ..graph.store import GraphStore
from ..graph.times import utcnow
from .credentials import PREFIX, bearer, secret_hash
from .viewer import Viewer

log = logging.getLogger("contactgraph.access")
REFUSED = "missing or invalid credential: send Authorization: Bearer TOKEN"
CACHED_CREDENTIALS = 10_000
ANONYMOUS = "anonymous"  # the cache key of the anonymous administrator; no hash is this


class TokenVerifier(Protocol):
    """What the server needs of an OpenID Connect verifier."""

    async def username(self, token: str) -> str: ...


@dataclass(frozen=True)
class _Known:
    viewer: Viewer
    expires_at: datetime | None
    until: float  # monotonic time the entry may be used until


class Authenticator:
    def __init__(
        self,
        store: GraphStore,
        cache_seconds: float,
        oidc: TokenVerifier | None = None,
        create_users: bool = False,
    ) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._oidc = oidc
        self._create_users = create_users
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._roles: tuple[float, dict[str, Role]] = (0.0, {})
        # who a request without any Authorization acts as: --insecure-anonymous-admin only
        self.anonymous_id: str | None = None

    async def viewer(self, authorization: str | None) -> Viewer:
        if authorization is None and self.anonymous_id is not None:
            return await self._anonymous(self.anonymous_id)
        secret = bearer(authorization)
        if secret is None:
            raise Unauthenticated(REFUSED)
        key = secret_hash(secret)
        now = utcnow()
        known = self._known.get(key)
        if known is not None and known.until > time.monotonic():
            if known.expires_at is not None and now >= known.expires_at:
                self._known.pop(key, None)
                raise Unauthenticated(REFUSED)
            return known.viewer
        if secret.startswith(PREFIX) or self._oidc is None:
            viewer, expires_at = await self._by_token(key, now)
        else:
            viewer, expires_at = await self._by_jwt(secret), None
        self._remember(key, _Known(viewer, expires_at, time.monotonic() + self._cache_seconds))
        return viewer

    def forget(self, user_id: str | None = None) -> None:
        """Drop what is cached (for one user), after its tokens or roles changed."""
        if user_id is None:
            self._known.clear()
            return
        for key in [k for k, v in self._known.items() if v.viewer.id == user_id]:
            del self._known[key]

    def _remember(self, key: str, known: _Known) -> None:
        self._known[key] = known
        self._known.move_to_end(key)
        while len(self._known) > CACHED_CREDENTIALS:
            self._known.popitem(last=False)

    async def _anonymous(self, user_id: str) -> Viewer:
        known = self._known.get(ANONYMOUS)
        if known is not None and known.until > time.monotonic():
            return known.viewer
        user = (await self._store.get_parties([user_id])).get(user_id)
        if user is None or user.archived_at is not None:
            log.info("refused an anonymous request: its user is gone or archived")
            raise Unauthenticated(REFUSED)
        viewer = await self._signed_in(user, None)
        self._remember(ANONYMOUS, _Known(viewer, None, time.monotonic() + self._cache_seconds))
        return viewer

    async def _by_token(self, key: str, now: datetime) -> tuple[Viewer, datetime | None]:
        token = await self._store.token_by_hash(key)
        if token is None or not token.valid_at(now):
            log.info("refused a token: %s", "unknown" if token is None else "revoked or expired")
            raise Unauthenticated(REFUSED)
        user = (await self._store.get_parties([token.user_id])).get(token.user_id)
        if user is None or user.archived_at is not None:
            log.info("refused token %s: its user is gone or archived", token.id)
            raise Unauthenticated(REFUSED)
        return await self._signed_in(user, token.id, token.read_only), token.expires_at

    async def _by_jwt(self, token: str) -> Viewer:
        assert self._oidc is not None
        try:
            username = await self._oidc.username(token)
        except Unauthenticated:
            raise Unauthenticated(REFUSED) from None
        user = await self._store.user_by_username(username)
        if user is None and self._create_users:
            user = await self._create(username)
        if user is None or user.archived_at is not None:
            log.info("refused a JWT: no user %r", username)
            raise Unauthenticated(REFUSED)
        return await self._signed_in(user, None)

    async def _create(self, username: str) -> Party:
        user = new_party(
            PartyKind.USER, username, username=username, legal_form=LegalForm.NATURAL_PERSON
        )
        log.warning("created user %r on first sign-in (--oidc-create-users)", username)
        return await self._store.create_user(user, [])

    async def _signed_in(
        self, user: Party, token_id: str | None, read_only: bool = False
    ) -> Viewer:
        """The user's permissions from their grants; by a read-only token, READ alone."""
        grants = (await self._store.grants([user.id])).get(user.id, [])
        roles = await self._role_table()
        everywhere: set[Permission] = set()
        scoped: dict[Permission, list[Grant]] = defaultdict(list)
        for grant in grants:
            for permission in roles[grant.role].permissions if grant.role in roles else ():
                if read_only and permission is not Permission.READ:
                    continue
                if grant.scope_id is None:
                    everywhere.add(permission)
                else:
                    scoped[permission].append(grant)
        reach = {p: Scope.of(user.id, held) for p, held in scoped.items() if p not in everywhere}
        return Viewer(user, frozenset(everywhere), reach, token_id, read_only)

    async def _role_table(self) -> dict[str, Role]:
        fetched_at, roles = self._roles
        if time.monotonic() - fetched_at > self._cache_seconds:
            roles = {role.name: role for role in await self._store.roles()}
            self._roles = (time.monotonic(), roles)
        return roles
