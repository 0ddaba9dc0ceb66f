"""`contactgraph user` and `contactgraph token`: identity from the command line, straight
on the graph (whoever can run these can open the database; no token is needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from .access.credentials import lifetime, new_secret, secret_hash
from .cli import _creates, _fail, _open, create_option, graph_option, main
from .graph.errors import ConfigError, GraphError
from .graph.identity import ApiToken, Grant, ScopeKind
from .graph.ids import new_id
from .graph.model import Email, LegalForm, Party, PartyKind
from .graph.records import new_party
from .graph.store import GraphStore
from .graph.times import utcnow

T = TypeVar("T")


def _run(url: str, create: bool, work: Callable[[GraphStore], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await _open(url, _creates(url, create))
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (ConfigError, GraphError) as error:
        raise _fail(error) from None


async def _user(store: GraphStore, username: str) -> Party:
    user = await store.user_by_username(username)
    if user is None:
        raise ConfigError(f"there is no user {username!r}")
    return user


@main.group()
def user() -> None:
    """Users: the first administrator comes from here."""


@user.command("create")
@graph_option
@create_option
@click.argument("username")
@click.option("--display-name", help="How the user is shown [default: USERNAME].")
@click.option("--email", help="A work e-mail address.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="A role to grant (repeatable): admin, editor, reader, fiscal.",
)
@click.option(
    "--scope",
    "scope_id",
    metavar="PARTY_ID",
    help="Grant the roles only for this party and everything below it.",
)
@click.option(
    "--portfolio",
    is_flag=True,
    help="With --scope: for what the users at or below the scope party are "
    "RESPONSIBLE_FOR instead, and everything below that.",
)
def create_user(
    graph_url: str,
    create: bool,
    username: str,
    display_name: str | None,
    email: str | None,
    roles: tuple[str, ...],
    scope_id: str | None,
    portfolio: bool,
) -> None:
    """Make a User party holding ROLEs and print its id.

    Works on any graph, empty or not."""
    if portfolio and scope_id is None:
        raise click.UsageError("--portfolio needs --scope PARTY_ID: whose portfolio")
    party = new_party(
        PartyKind.USER,
        display_name or username,
        username=username,
        legal_form=LegalForm.NATURAL_PERSON,
        emails=(Email(email, "work"),) if email else (),
    )
    now = utcnow()
    kind = ScopeKind.PORTFOLIO if portfolio else ScopeKind.SUBTREE
    grants = [Grant(new_id(), party.id, role, now, scope_id, kind) for role in dict.fromkeys(roles)]
    made = _run(graph_url, create, lambda store: store.create_user(party, grants))
    click.echo(made.id)


@main.group()
def token() -> None:
    """API tokens: bearer credentials of users."""


@token.command("create")
@graph_option
@click.option("--user", "username", required=True, help="The user the token signs in.")
@click.option(
    "--expires",
    default="90d",
    show_default=True,
    help="Lifetime: 12h, 90d, 2w, or never.",
)
@click.option("--name", default="cli", show_default=True, help="A label to tell tokens apart.")
@click.option(
    "--read-only",
    is_flag=True,
    help="A token that only reads (READ of the user's roles): for a calendar feed's URL.",
)
def create_token(graph_url: str, username: str, expires: str, name: str, read_only: bool) -> None:
    """Print a new token's secret, alone on stdout.

    Only its hash is stored."""
    try:
        lasts = lifetime(expires)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--expires") from None
    secret = new_secret()

    async def work(store: GraphStore) -> None:
        user = await _user(store, username)
        now = utcnow()
        expires_at = None if lasts is None else now + lasts
        await store.create_token(
            ApiToken(
                new_id(), user.id, name, secret_hash(secret), now, expires_at, read_only=read_only
            )
        )

    _run(graph_url, False, work)
    click.echo(secret)


@token.command("list")
@graph_option
@click.option("--user", "username", help="Only this user's tokens.")
def list_tokens(graph_url: str, username: str | None) -> None:
    """List tokens, oldest first.

    Tab-separated: id, user, name, created, expires, revoked."""

    async def work(store: GraphStore) -> list[tuple[ApiToken, str]]:
        user_id = None if username is None else (await _user(store, username)).id
        found = await store.tokens(user_id)
        users = await store.get_parties([t.user_id for t in found])
        return [(t, users[t.user_id].username or "") for t in found]

    for found, owner in _run(graph_url, False, work):
        fields = (found.created_at, found.expires_at, found.revoked_at)
        times = [value.isoformat() if value else "-" for value in fields]
        click.echo("\t".join([found.id, owner, found.name, *times]))


@token.command("revoke")
@graph_option
@click.argument("token_id")
def revoke_token(graph_url: str, token_id: str) -> None:
    """End a token now.

    A running server notices within --auth-cache-seconds."""
    revoked = _run(graph_url, False, lambda store: store.revoke_token(token_id, utcnow()))
    assert revoked.revoked_at is not None
    click.echo(f"revoked {revoked.id} at {revoked.revoked_at.isoformat()}")
