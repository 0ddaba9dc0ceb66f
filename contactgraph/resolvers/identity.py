"""Identity at the API: the viewer, roles and grants, API tokens. Who may call what is
decided by the store guard (access/guard.py); these resolvers only shape the calls."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from ..access.credentials import new_secret, secret_hash
from ..graph import identity
from ..graph.errors import BadUserInput
from ..graph.ids import new_id
from ..graph.times import utcnow
from ..schema.enums import ScopeKind
from ..schema.identity import ApiToken, Grant, NewApiToken, Role
from ..schema.types import ContextInfo, User, party_of

MAX_TOKEN_DAYS = 3650

GrantUser = Annotated[strawberry.ID, strawberry.argument(description="The user's id.")]
RoleName = Annotated[str, strawberry.argument(description="The role's name, as roles lists it.")]
ScopeId = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="The party the grant's scope starts at; none: everywhere."),
]
Scope = Annotated[
    ScopeKind,
    strawberry.argument(description="How the scope reaches from scopeId; unused without it."),
]
TokenUser = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="The user: the viewer when not given; another user needs ADMIN."
    ),
]


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="The signed-in user.")
    def viewer(self, info: ContextInfo) -> User:
        return party_of(info.context.viewer.user)  # type: ignore[return-value]

    @strawberry.field(description="Every role, by name; any signed-in user may read them.")
    async def roles(self, info: ContextInfo) -> list[Role]:
        return [Role.of(role) for role in await info.context.store.roles()]

    @strawberry.field(
        description="A user's tokens (the viewer's by default), oldest first; another user's "
        "need the ADMIN permission."
    )
    async def api_tokens(self, info: ContextInfo, user_id: TokenUser = None) -> list[ApiToken]:
        found = await info.context.store.tokens(user_id or info.context.viewer.id)
        return [ApiToken.of(token) for token in found]


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        description="Give a user a role (ADMIN), everywhere or only within scopeId; "
        "granting it again is a no-op."
    )
    async def grant_role(
        self,
        info: ContextInfo,
        user_id: GrantUser,
        role: RoleName,
        scope_id: ScopeId = None,
        scope_kind: Scope = ScopeKind.SUBTREE,
    ) -> Grant:
        grant = identity.Grant(new_id(), user_id, role, utcnow(), scope_id, scope_kind)
        granted = await info.context.store.grant_role(grant)
        info.context.authenticator.forget(user_id)
        return Grant.of(granted)

    @strawberry.mutation(
        description="Take a role from a user (ADMIN): the grant with this scope, or the "
        "unscoped one; whether they held it."
    )
    async def revoke_role(
        self,
        info: ContextInfo,
        user_id: GrantUser,
        role: RoleName,
        scope_id: ScopeId = None,
        scope_kind: Scope = ScopeKind.SUBTREE,
    ) -> bool:
        held = await info.context.store.revoke_role(user_id, role, scope_id, scope_kind)
        info.context.authenticator.forget(user_id)
        return held

    @strawberry.mutation(
        description="A new token for the viewer, or for another user (ADMIN). The secret is "
        "in the answer and nowhere else."
    )
    async def create_api_token(
        self,
        info: ContextInfo,
        name: Annotated[
            str, strawberry.argument(description="What the token is for, to tell it apart.")
        ],
        user_id: TokenUser = None,
        expires_at: Annotated[
            datetime | None,
            strawberry.argument(description="Defaults to 90 days from now; at most ten years."),
        ] = None,
        read_only: Annotated[
            bool,
            strawberry.argument(
                description="A token that reads only (READ of its user's grants, nothing "
                "more): what a calendar application is given for a feed's URL."
            ),
        ] = False,
    ) -> NewApiToken:
        now = utcnow()
        expires = expires_at or now.replace(microsecond=0) + identity.DEFAULT_LIFETIME
        if expires <= now:
            raise BadUserInput("expiresAt must be in the future")
        if (expires - now).days > MAX_TOKEN_DAYS:
            raise BadUserInput(f"expiresAt may be at most {MAX_TOKEN_DAYS} days away")
        if not name.strip():
            raise BadUserInput("name must not be blank")
        secret = new_secret()
        token = identity.ApiToken(
            new_id(),
            user_id or info.context.viewer.id,
            name.strip(),
            secret_hash(secret),
            now,
            expires_at=expires,
            read_only=read_only,
        )
        return NewApiToken(
            token=ApiToken.of(await info.context.store.create_token(token)), secret=secret
        )

    @strawberry.mutation(
        description="End a token now: the viewer's own, or anyone's (ADMIN). It is kept, "
        "revoked, for the record."
    )
    async def revoke_api_token(
        self,
        info: ContextInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="The token's id.")],
    ) -> ApiToken:
        revoked = await info.context.store.revoke_token(id, utcnow())
        info.context.authenticator.forget(revoked.user_id)
        return ApiToken.of(revoked)
