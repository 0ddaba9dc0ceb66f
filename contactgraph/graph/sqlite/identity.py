"""The embedded store's roles, grants and API tokens, each function run inside the
caller's job."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from ..errors import Conflict, NotFound
from ..identity import (
    ApiToken,
    Grant,
    Permission,
    Role,
    ScopeKind,
    check_grant,
    check_token_owner,
)
from ..model import Party
from ..times import format_instant, parse_instant
from . import records
from .rows import PARTY_COLUMNS, party_from_row

TOKEN_COLUMNS = "id, user_id, name, secret_hash, created_at, expires_at, revoked_at, read_only"


def _instant(text: str | None) -> datetime | None:
    return None if text is None else parse_instant(text)


def _token(row: sqlite3.Row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        created_at=parse_instant(row["created_at"]),
        expires_at=_instant(row["expires_at"]),
        revoked_at=_instant(row["revoked_at"]),
        read_only=bool(row["read_only"]),
    )


def _grant(row: sqlite3.Row) -> Grant:
    return Grant(
        id=row["id"],
        user_id=row["user_id"],
        role=row["role"],
        granted_at=parse_instant(row["granted_at"]),
        scope_id=row["scope_id"],
        scope_kind=ScopeKind(row["scope_kind"]),
    )


def roles(conn: sqlite3.Connection) -> list[Role]:
    return [
        Role(name, description, frozenset(Permission(p) for p in json.loads(permissions)))
        for name, description, permissions in conn.execute(
            "SELECT name, description, permissions FROM roles ORDER BY name"
        )
    ]


def grants(conn: sqlite3.Connection, user_ids: Sequence[str]) -> dict[str, list[Grant]]:
    found: dict[str, list[Grant]] = defaultdict(list)
    for row in conn.execute(
        f"SELECT * FROM grants WHERE user_id {records.IN_LIST} ORDER BY role, scope_id, id",
        (records.bound_list(set(user_ids)),),
    ):
        found[row["user_id"]].append(_grant(row))
    return found


def grants_of_roles(conn: sqlite3.Connection, roles: Iterable[str]) -> list[Grant]:
    """Every grant of the roles: who a ROLE step may go to (process_context.holders)."""
    return [
        _grant(row)
        for row in conn.execute(
            f"SELECT * FROM grants WHERE role {records.IN_LIST}",
            (records.bound_list(set(roles)),),
        )
    ]


def user_by_username(conn: sqlite3.Connection, username: str) -> Party | None:
    row = conn.execute(
        f"SELECT {PARTY_COLUMNS} FROM parties WHERE username = ? AND kind = 'USER'", (username,)
    ).fetchone()
    return None if row is None else party_from_row(row)


def add_grant(conn: sqlite3.Connection, grant: Grant) -> Grant:
    """The grant written, or the equal one already held (granting is idempotent)."""
    wanted = [grant.user_id] + ([grant.scope_id] if grant.scope_id else [])
    parties = records.parties_by_id(conn, wanted)
    user = check_token_owner(parties.get(grant.user_id), grant.user_id)
    scope = parties.get(grant.scope_id) if grant.scope_id else None
    check_grant(grant, user, [r.name for r in roles(conn)], scope)
    held = conn.execute(
        f"SELECT * FROM grants WHERE {_HELD}",
        _held(grant.user_id, grant.role, grant.scope_id, grant.scope_kind),
    ).fetchone()
    if held is not None:
        return _grant(held)
    conn.execute(
        "INSERT INTO grants (id, user_id, role, scope_id, scope_kind, granted_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            grant.id,
            grant.user_id,
            grant.role,
            grant.scope_id,
            grant.scope_kind.value,
            format_instant(grant.granted_at),
        ),
    )
    return grant


_HELD = "user_id = ? AND role = ? AND scope_id IS ? AND scope_kind = ?"


def _held(
    user_id: str, role: str, scope_id: str | None, kind: ScopeKind
) -> tuple[str, str, str | None, str]:
    """The key of one grant: a grant without a scope is always of the default kind."""
    return user_id, role, scope_id, (kind if scope_id else ScopeKind.SUBTREE).value


def remove_grant(
    conn: sqlite3.Connection, user_id: str, role: str, scope_id: str | None, kind: ScopeKind
) -> Grant | None:
    """The grant removed, or None when the user did not hold it."""
    held = _held(user_id, role, scope_id, kind)
    row = conn.execute(f"SELECT * FROM grants WHERE {_HELD}", held).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM grants WHERE id = ?", (row["id"],))
    return _grant(row)


def add_token(conn: sqlite3.Connection, token: ApiToken) -> ApiToken:
    check_token_owner(
        records.parties_by_id(conn, [token.user_id]).get(token.user_id), token.user_id
    )
    try:
        conn.execute(
            f"INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                token.id,
                token.user_id,
                token.name,
                token.secret_hash,
                format_instant(token.created_at),
                None if token.expires_at is None else format_instant(token.expires_at),
                None,
                int(token.read_only),
            ),
        )
    except sqlite3.IntegrityError:
        raise Conflict("a token with this secret exists") from None
    return token


def token_by_hash(conn: sqlite3.Connection, secret_hash: str) -> ApiToken | None:
    row = conn.execute(
        f"SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?", (secret_hash,)
    ).fetchone()
    return None if row is None else _token(row)


def tokens(conn: sqlite3.Connection, user_id: str | None) -> list[ApiToken]:
    if user_id is None:
        rows = conn.execute(f"SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id")
    else:
        rows = conn.execute(
            f"SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = ? ORDER BY id", (user_id,)
        )
    return [_token(row) for row in rows]


def end_token(conn: sqlite3.Connection, token_id: str, at: datetime) -> ApiToken:
    """Revoke; revoking again keeps the first time."""
    row = conn.execute(
        f"SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", (token_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"token {token_id} does not exist")
    if row["revoked_at"] is None:
        conn.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (format_instant(at), token_id)
        )
        row = conn.execute(
            f"SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", (token_id,)
        ).fetchone()
    return _token(row)
