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
from .times import utcnow

DEFAULT_LIFETIME = timedelta(days=90)  # of a token made without an expiry


class Permission(enum.Enum):
    READ = "READ"  # parties, relationships, timelines
    WRITE = "WRITE"  # create and change parties, relationships, activities
    FISCAL = "FISCAL"  # read and write fiscal data: VAT numbers and tax codes
    ADMIN = "ADMIN"  # users, roles, grants, every token; an activity's author explicitly
    CATEGORIES = "CATEGORIES"  # create, change and archive categories: rules every party meets


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


class ScopeKind(enum.Enum):
    SUBTREE = "SUBTREE"  # the scope party and everything below it
    PORTFOLIO = "PORTFOLIO"  # what the users at or below the scope party are RESPONSIBLE_FOR


@dataclass(frozen=True)
class Grant:
    """A role held by a user; scope_id None means everywhere."""

    id: str
    user_id: str
    role: str
    granted_at: datetime
    scope_id: str | None = None
    scope_kind: ScopeKind = ScopeKind.SUBTREE  # how scope_id reaches, when there is one


@dataclass(frozen=True)
class Scope:
    """The parties a scoped viewer reaches, as of the moment a store reads them: its
    anchors and every party up to SCOPE_DEPTH levels below one in the default hierarchy.
    The anchors are the subtree parties, the parties that users at or below a team party
    are RESPONSIBLE_FOR, and the viewer (who always sees themselves). A scoped viewer's
    graph is the part of the graph inside: walks never pass a party outside."""

    viewer_id: str
    subtrees: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    at: datetime | None = None  # the moment it is taken at: a request's now; None: the read's

    @classmethod
    def of(cls, viewer_id: str, grants: Iterable[Grant]) -> Scope:
        subtrees: set[str] = set()
        teams: set[str] = set()
        for grant in grants:
            if grant.scope_id is not None:
                kind = grant.scope_kind
                (teams if kind is ScopeKind.PORTFOLIO else subtrees).add(grant.scope_id)
        return cls(viewer_id, frozenset(subtrees), frozenset(teams))

    def taken_at(self) -> datetime:
        return utcnow() if self.at is None else self.at


SCOPE_DEPTH = 64  # the default depth ceiling of walks, and the closure's depth


@dataclass(frozen=True)
class ApiToken:
    id: str
    user_id: str
    name: str
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    # reads only, whatever its user's roles: a calendar application's, which may travel
    # in a feed's URL (docs/calendar.md)
    read_only: bool = False

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
    if grant.scope_id is None and grant.scope_kind is not ScopeKind.SUBTREE:
        raise BadUserInput(f"a {grant.scope_kind.value} grant needs a scope party")


def check_token_owner(user: Party | None, user_id: str) -> Party:
    if user is None:
        raise NotFound(f"party {user_id} does not exist")
    if user.kind is not PartyKind.USER:
        raise BadUserInput(f"{user_id} is a {user.kind.value}, not a USER")
    return user
