"""Who may do what: permissions, roles (kept as data), grants to users, API tokens.

Roles are rows in the graph, not code, so a deployment can read and grant them
through the API; the built-in ones are written by each store's migration. A token
is stored only as the SHA-256 of its secret (the secret is random, 256 bits: a
fast hash is enough, and lookups by hash need no per-token salt).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import BadUserInput, NotFound
from .model import Party, PartyKind

DEFAULT_LIFETIME = timedelta(days=90)  # of a token made without an expiry


class Permission(enum.Enum):
    READ = "READ"  # parties, relationships, timelines
    WRITE = "WRITE"  # create and change parties, relationships, activities
    FISCAL = "FISCAL"  # read and write fiscal data: VAT numbers and tax codes
    ADMIN = "ADMIN"  # users, roles, grants, every token; an activity's author explicitly


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: frozenset[Permission]


BUILTIN_ROLES: tuple[Role, ...] = (
    Role("admin", "Everything, including users, roles and tokens.", frozenset(Permission)),
    Role(
        "editor",
        "Read, and write parties, relationships and activities.",
        frozenset({Permission.READ, Permission.WRITE}),
    ),
    Role("reader", "Read parties, relationships and timelines.", frozenset({Permission.READ})),
    Role(
        "fiscal",
        "Read and write fiscal data (VAT numbers, tax codes).",
        frozenset({Permission.FISCAL}),
    ),
)


@dataclass(frozen=True)
class Grant:
    """A role held by a user; scope_id None means everywhere."""

    id: str
    user_id: str
    role: str
    granted_at: datetime
    scope_id: str | None = None


@dataclass(frozen=True)
class ApiToken:
    id: str
    user_id: str
    name: str
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def check_grant(grant: Grant, user: Party, roles: Iterable[str], scope: Party | None) -> None:
    """What every store checks before writing a grant (the parties and roles looked up)."""
    if user.kind is not PartyKind.USER:
        raise BadUserInput(f"{user.id} is a {user.kind.value}, not a USER")
    if grant.role not in set(roles):
        raise NotFound(f"role {grant.role!r} does not exist")
    if grant.scope_id is not None and scope is None:
        raise NotFound(f"party {grant.scope_id} does not exist")


def check_token_owner(user: Party | None, user_id: str) -> Party:
    if user is None:
        raise NotFound(f"party {user_id} does not exist")
    if user.kind is not PartyKind.USER:
        raise BadUserInput(f"{user_id} is a {user.kind.value}, not a USER")
    return user
