"""Credentials for the tests: an administrator made the way an operator makes one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from contactgraph.access.credentials import new_secret, secret_hash
from contactgraph.config import Settings
from contactgraph.graph.identity import ApiToken, Grant
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import LegalForm, PartyKind
from contactgraph.graph.records import new_party
from contactgraph.graph.store import GraphStore
from contactgraph.graph.times import utcnow


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def user_token(store: GraphStore, username: str, *roles: str) -> tuple[str, str]:
    """A new user holding `roles`, and a token of theirs: (user id, secret)."""
    user = new_party(
        PartyKind.USER, username, username=username, legal_form=LegalForm.NATURAL_PERSON
    )
    now = utcnow()
    await store.create_user(user, [Grant(new_id(), user.id, role, now) for role in roles])
    return user.id, await token_for(store, user.id)


async def token_for(store: GraphStore, user_id: str, lasts: timedelta | None = None) -> str:
    secret = new_secret()
    now = utcnow()
    expires = None if lasts is None else now + lasts
    await store.create_token(ApiToken(new_id(), user_id, "test", secret_hash(secret), now, expires))
    return secret


async def admin_secret(store: GraphStore) -> str:
    """A new token of the administrator `admin` on the graph of a running app's store
    (opening another would cost a Neo4j test a second pool and migration), made when
    missing."""
    admin = await store.user_by_username("admin")
    if admin is None:
        return (await user_token(store, "admin", "admin"))[1]
    return await token_for(store, admin.id)


def with_demo_token(settings: Settings) -> Settings:
    """Demo settings whose administrator signs in with a known token."""
    if settings.demo and settings.demo_token is None:
        return replace(settings, demo_token=new_secret())
    return settings
