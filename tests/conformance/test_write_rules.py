"""Rules every store applies to a write, for input no GraphQL request can carry: the
schema refuses control characters before a store sees them, the stores must not
rely on it."""

from __future__ import annotations

import pytest
from builders import T0, org, user

from contactgraph.graph.errors import BadUserInput
from contactgraph.graph.model import Email
from contactgraph.graph.store import GraphStore


async def test_usernames_and_addresses_are_matched_whole(store: GraphStore) -> None:
    with pytest.raises(BadUserInput):
        await store.create_party(user("anna.keller\n"))
    with pytest.raises(BadUserInput):
        await store.create_party(org("Acme", emails=(Email("shop@acme.example\n"),)))
    assert await store.is_empty()


async def test_an_update_that_changes_nothing_is_no_new_version(store: GraphStore) -> None:
    company = await store.create_party(org("Acme", tags=("b2b",)))
    for changes in ({}, {"name": "Acme", "tags": ("b2b",)}):
        assert await store.update_party(company.id, changes, 1, T0) == company
    assert (await store.get_parties([company.id]))[company.id] == company
