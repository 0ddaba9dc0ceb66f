"""GraphQL types of identity: roles, grants, API tokens."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ..graph import identity
from .enums import Permission, ScopeKind


@strawberry.type(description="A named set of permissions, granted to users.")
class Role:
    name: str = strawberry.field(description="Unique; grantRole names the role by it.")
    description: str = strawberry.field(description="What the role is for.")
    permissions: list[Permission] = strawberry.field(
        description="What it lets a user do, in name order."
    )

    @classmethod
    def of(cls, role: identity.Role) -> Role:
        return cls(
            name=role.name,
            description=role.description,
            permissions=sorted(role.permissions, key=lambda p: p.value),
        )


@strawberry.type(
    description="A role held by a user: everywhere, or only where its scope reaches (a "
    "scoped viewer's graph is the part inside: see ScopeKind)."
)
class Grant:
    id: strawberry.ID = strawberry.field(description="The grant's own id.")
    user_id: strawberry.ID = strawberry.field(description="The user who holds the role.")
    role: str = strawberry.field(description="The role's name.")
    granted_at: datetime = strawberry.field(description="When it was granted.")
    scope_id: strawberry.ID | None = strawberry.field(
        description="The party its scope starts at; null when it holds everywhere."
    )
    scope_kind: ScopeKind | None = strawberry.field(
        description="How the scope reaches from scopeId; null when unscoped."
    )

    @classmethod
    def of(cls, grant: identity.Grant) -> Grant:
        return cls(
            id=strawberry.ID(grant.id),
            user_id=strawberry.ID(grant.user_id),
            role=grant.role,
            granted_at=grant.granted_at,
            scope_id=None if grant.scope_id is None else strawberry.ID(grant.scope_id),
            scope_kind=None if grant.scope_id is None else grant.scope_kind,
        )


@strawberry.type(description="A bearer token of a user; its secret is shown only when made.")
class ApiToken:
    id: strawberry.ID = strawberry.field(description="The token's id, for revokeApiToken.")
    user_id: strawberry.ID = strawberry.field(description="The user it signs in as.")
    name: str = strawberry.field(description="Its owner's name for it: where it is used.")
    created_at: datetime = strawberry.field(description="When it was made.")
    expires_at: datetime | None = strawberry.field(
        description="When it stops working; null for one that does not expire."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; null while it is not."
    )
    read_only: bool = strawberry.field(
        description="It reads only, whatever its user's roles; only such a token may sign "
        "in from a calendar feed's URL (?token=)."
    )

    @classmethod
    def of(cls, token: identity.ApiToken) -> ApiToken:
        return cls(
            id=strawberry.ID(token.id),
            user_id=strawberry.ID(token.user_id),
            name=token.name,
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
            read_only=token.read_only,
        )


@strawberry.type(description="A token just made, with its secret.")
class NewApiToken:
    token: ApiToken = strawberry.field(description="The token as stored.")
    secret: str = strawberry.field(
        description="Send as `Authorization: Bearer SECRET`. Shown this once: only its hash "
        "is stored."
    )
