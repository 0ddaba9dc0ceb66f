"""Roles, grants and API tokens on Neo4j: :Role, :Grant and :ApiToken nodes that name
parties by id (they are not edges, so no walk over the graph ever meets them). Each
function runs inside the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..errors import NotFound
from ..identity import (
    BUILTIN_ROLES,
    ApiToken,
    Grant,
    Permission,
    Role,
    ScopeKind,
    check_grant,
    check_token_owner,
)
from ..model import Party
from . import cypher
from .cypher import PARTY_MAP, Tx, decode, encode

SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT role_name IF NOT EXISTS FOR (r:Role) REQUIRE r.name IS UNIQUE",
    "CREATE CONSTRAINT grant_id IF NOT EXISTS FOR (g:Grant) REQUIRE g.id IS UNIQUE",
    "CREATE CONSTRAINT grant_held IF NOT EXISTS FOR (g:Grant) REQUIRE g.held IS UNIQUE",
    "CREATE CONSTRAINT token_id IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.id IS UNIQUE",
    "CREATE CONSTRAINT token_hash IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.secret_hash IS UNIQUE",
    "CREATE INDEX grant_user IF NOT EXISTS FOR (g:Grant) ON (g.user_id)",
    "CREATE INDEX token_user IF NOT EXISTS FOR (t:ApiToken) ON (t.user_id)",
)
TOKEN_MAP = (
    "t {.id, .user_id, .name, .secret_hash, created_at: toString(t.created_at), "
    "expires_at: toString(t.expires_at), revoked_at: toString(t.revoked_at), .read_only}"
)
GRANT_MAP = "g {.id, .user_id, .role, .scope_id, .scope_kind, granted_at: toString(g.granted_at)}"


def _held(user_id: str, role: str, scope_id: str | None, kind: ScopeKind) -> str:
    """One key per (user, role, scope, kind): the constraint that makes granting
    idempotent under concurrent requests. Subtree grants keep the key they had before
    portfolios existed."""
    if scope_id and kind is not ScopeKind.SUBTREE:
        return f"{user_id}|{role}|{scope_id}|{kind.value}"
    return f"{user_id}|{role}|{scope_id or ''}"


async def write_roles(tx: Tx) -> None:
    await tx.run(
        "UNWIND $rows AS row MERGE (r:Role {name: row.name}) ON CREATE SET r = row",
        rows=[
            {
                "name": role.name,
                "description": role.description,
                "permissions": sorted(p.value for p in role.permissions),
            }
            for role in BUILTIN_ROLES
        ],
    )


async def roles(tx: Tx) -> list[Role]:
    result = await tx.run(
        "MATCH (r:Role) RETURN r.name AS name, r.description AS description, "
        "r.permissions AS permissions ORDER BY name"
    )
    return [
        Role(row["name"], row["description"], frozenset(Permission(p) for p in row["permissions"]))
        async for row in result
    ]


def _grant(row: Mapping[str, Any]) -> Grant:
    return Grant(
        id=row["id"],
        user_id=row["user_id"],
        role=row["role"],
        granted_at=decode(row["granted_at"]),
        scope_id=row["scope_id"],
        scope_kind=ScopeKind(row["scope_kind"] or ScopeKind.SUBTREE.value),
    )


def _token(row: Mapping[str, Any]) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        created_at=decode(row["created_at"]),
        expires_at=decode(row["expires_at"]) if row["expires_at"] else None,
        revoked_at=decode(row["revoked_at"]) if row["revoked_at"] else None,
        read_only=bool(row["read_only"]),  # null on tokens made before it existed
    )


async def grants(tx: Tx, user_ids: Sequence[str]) -> dict[str, list[Grant]]:
    result = await tx.run(
        f"UNWIND $ids AS id MATCH (g:Grant {{user_id: id}}) RETURN {GRANT_MAP} AS g "
        "ORDER BY g.role, g.scope_id, g.id",
        ids=list(set(user_ids)),
    )
    found: dict[str, list[Grant]] = defaultdict(list)
    async for record in result:
        grant = _grant(record["g"])
        found[grant.user_id].append(grant)
    return found


async def grants_of_roles(tx: Tx, roles: Iterable[str]) -> list[Grant]:
    """Every grant of the roles: who a ROLE step may go to (process_context.holders)."""
    result = await tx.run(
        f"UNWIND $roles AS role MATCH (g:Grant {{role: role}}) RETURN {GRANT_MAP} AS g",
        roles=sorted(set(roles)),
    )
    return [_grant(record["g"]) async for record in result]


async def user_by_username(tx: Tx, username: str) -> Party | None:
    result = await tx.run(
        f"MATCH (p:User {{username: $username}}) RETURN {PARTY_MAP} AS p", username=username
    )
    record = await result.single()
    return None if record is None else cypher.party(record["p"])


async def add_grant(tx: Tx, grant: Grant) -> Grant:
    wanted = [grant.user_id] + ([grant.scope_id] if grant.scope_id else [])
    parties = await cypher.parties(tx, wanted)
    user = check_token_owner(parties.get(grant.user_id), grant.user_id)
    scope = parties.get(grant.scope_id) if grant.scope_id else None
    check_grant(grant, user, [r.name for r in await roles(tx)], scope)
    result = await tx.run(
        "MERGE (g:Grant {held: $held}) "
        "ON CREATE SET g.id = $id, g.user_id = $user_id, g.role = $role, "
        "g.scope_id = $scope_id, g.scope_kind = $scope_kind, "
        "g.granted_at = datetime($granted_at) "
        f"RETURN {GRANT_MAP} AS g",
        held=_held(grant.user_id, grant.role, grant.scope_id, grant.scope_kind),
        id=grant.id,
        user_id=grant.user_id,
        role=grant.role,
        scope_id=grant.scope_id,
        scope_kind=grant.scope_kind.value,
        granted_at=encode(grant.granted_at),
    )
    return _grant((await result.single(strict=True))["g"])


async def remove_grant(
    tx: Tx, user_id: str, role: str, scope_id: str | None, kind: ScopeKind
) -> Grant | None:
    """The grant removed, or None when the user did not hold it."""
    result = await tx.run(
        f"MATCH (g:Grant {{held: $held}}) WITH g, {GRANT_MAP} AS held DELETE g RETURN held",
        held=_held(user_id, role, scope_id, kind),
    )
    record = await result.single()
    return None if record is None else _grant(record["held"])


async def add_token(tx: Tx, token: ApiToken) -> ApiToken:
    found = await cypher.parties(tx, [token.user_id])
    check_token_owner(found.get(token.user_id), token.user_id)
    await tx.run(
        "CREATE (t:ApiToken {id: $id, user_id: $user_id, name: $name, "
        "secret_hash: $secret_hash, created_at: datetime($created_at), "
        "expires_at: datetime($expires_at), read_only: $read_only})",
        id=token.id,
        user_id=token.user_id,
        name=token.name,
        secret_hash=token.secret_hash,
        created_at=encode(token.created_at),
        expires_at=None if token.expires_at is None else encode(token.expires_at),
        read_only=token.read_only,
    )
    return token


async def token_by_hash(tx: Tx, secret_hash: str) -> ApiToken | None:
    result = await tx.run(
        f"MATCH (t:ApiToken {{secret_hash: $hash}}) RETURN {TOKEN_MAP} AS t", hash=secret_hash
    )
    record = await result.single()
    return None if record is None else _token(record["t"])


async def tokens(tx: Tx, user_id: str | None) -> list[ApiToken]:
    result = await tx.run(
        "MATCH (t:ApiToken) WHERE $user_id IS NULL OR t.user_id = $user_id "
        f"RETURN {TOKEN_MAP} AS t ORDER BY t.id",
        user_id=user_id,
    )
    return [_token(record["t"]) async for record in result]


async def end_token(tx: Tx, token_id: str, at: datetime) -> ApiToken:
    """Revoke; revoking again keeps the first time."""
    result = await tx.run(
        "MATCH (t:ApiToken {id: $id}) SET t.revoked_at = coalesce(t.revoked_at, datetime($at)) "
        f"RETURN {TOKEN_MAP} AS t",
        id=token_id,
        at=encode(at),
    )
    record = await result.single()
    if record is None:
        raise NotFound(f"token {token_id} does not exist")
    return _token(record["t"])
