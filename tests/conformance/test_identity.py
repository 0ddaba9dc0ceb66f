"""Roles, grants and API tokens: the same contract on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import NOW, T0, activity, org, person, user

from contactgraph.graph.errors import BadUserInput, Conflict, NotFound
from contactgraph.graph.identity import BUILTIN_ROLES, ApiToken, Grant, Permission, ScopeKind
from contactgraph.graph.ids import new_id
from contactgraph.graph.model import Batch
from contactgraph.graph.store import GraphStore


def grant(user_id: str, role: str, scope_id: str | None = None) -> Grant:
    return Grant(new_id(), user_id, role, NOW, scope_id)


def token(user_id: str, secret_hash: str, **values: object) -> ApiToken:
    return ApiToken(new_id(), user_id, "ci", secret_hash, NOW, **values)  # type: ignore[arg-type]


async def test_the_builtin_roles_are_data(store: GraphStore) -> None:
    roles = {role.name: role for role in await store.roles()}
    assert roles == {role.name: role for role in BUILTIN_ROLES}
    assert roles["admin"].permissions == frozenset(Permission)
    assert roles["reader"].permissions == {Permission.READ}


async def test_a_user_and_its_grants_are_one_write(store: GraphStore) -> None:
    anna = user("anna")
    await store.create_user(anna, [grant(anna.id, "editor"), grant(anna.id, "fiscal")])
    assert (await store.user_by_username("anna")) == anna
    held = (await store.grants([anna.id]))[anna.id]
    assert [(g.role, g.scope_id) for g in held] == [("editor", None), ("fiscal", None)]

    again = user("anna")  # the username is taken: neither the user nor its grant is written
    with pytest.raises(Conflict):
        await store.create_user(again, [grant(again.id, "admin")])
    assert (await store.grants([again.id])) == {}
    bad = user("bert")  # an unknown role fails the whole write
    with pytest.raises(NotFound):
        await store.create_user(bad, [grant(bad.id, "editor"), grant(bad.id, "owner")])
    assert await store.user_by_username("bert") is None


async def test_granting_is_idempotent_and_checked(store: GraphStore) -> None:
    anna, contact, company = user("anna"), person("Eva", "Berger"), org("Acme")
    await store.load_batch(Batch(parties=[anna, contact, company]))
    first = await store.grant_role(grant(anna.id, "reader"))
    assert (await store.grant_role(grant(anna.id, "reader"))) == first
    scoped = await store.grant_role(grant(anna.id, "reader", company.id))
    assert scoped.scope_id == company.id and scoped.id != first.id
    assert len((await store.grants([anna.id]))[anna.id]) == 2

    with pytest.raises(BadUserInput):
        await store.grant_role(grant(contact.id, "reader"))
    with pytest.raises(NotFound):
        await store.grant_role(grant(anna.id, "superuser"))
    with pytest.raises(NotFound):
        await store.grant_role(grant(new_id(), "reader"))
    with pytest.raises(NotFound):
        await store.grant_role(grant(anna.id, "reader", new_id()))

    assert await store.revoke_role(anna.id, "reader", None, ScopeKind.SUBTREE)
    assert not await store.revoke_role(anna.id, "reader", None, ScopeKind.SUBTREE)
    assert [g.scope_id for g in (await store.grants([anna.id]))[anna.id]] == [company.id]


async def test_tokens_are_found_by_hash_listed_and_revoked(store: GraphStore) -> None:
    anna, bert, contact = user("anna"), user("bert"), person("Eva", "Berger")
    await store.load_batch(Batch(parties=[anna, bert, contact]))
    expires = NOW + timedelta(days=90)
    kept = await store.create_token(token(anna.id, "a" * 64, expires_at=expires))
    other = await store.create_token(token(bert.id, "b" * 64))
    assert await store.token_by_hash("a" * 64) == kept
    assert await store.token_by_hash("c" * 64) is None
    assert await store.tokens(anna.id) == [kept]
    assert await store.tokens(None) == [kept, other]
    assert kept.valid_at(NOW) and not kept.valid_at(expires)

    with pytest.raises(Conflict):  # a hash names one token
        await store.create_token(token(bert.id, "a" * 64))
    with pytest.raises(BadUserInput):
        await store.create_token(token(contact.id, "d" * 64))
    with pytest.raises(NotFound):
        await store.create_token(token(new_id(), "e" * 64))

    revoked = await store.revoke_token(kept.id, NOW)
    assert revoked.revoked_at == NOW and not revoked.valid_at(NOW)
    again = await store.revoke_token(kept.id, NOW + timedelta(hours=1))
    assert again.revoked_at == NOW
    assert await store.token_by_hash("a" * 64) == revoked
    with pytest.raises(NotFound):
        await store.revoke_token(new_id(), NOW)


async def test_an_activity_keeps_who_recorded_it(store: GraphStore) -> None:
    anna, admin, contact = user("anna"), user("admin"), person("Eva", "Berger")
    await store.load_batch(Batch(parties=[anna, admin, contact]))
    imported = activity(anna, [contact], T0, recorded_by_id=admin.id)
    await store.record_activity(imported)
    found = (await store.get_nodes([imported.id]))[imported.id]
    assert found == imported and found.recorded_by_id == admin.id
