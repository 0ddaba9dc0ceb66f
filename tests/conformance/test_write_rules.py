"""Rules every store applies to a write, for input no GraphQL request can carry: the
schema refuses control characters before a store sees them, the stores must not
rely on it."""

from __future__ import annotations

import pytest
from builders import T0, org, user

from contactgraph.graph.errors import BadUserInput, Conflict
from contactgraph.graph.model import Batch, Email, Fiscal
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


async def test_a_batch_gives_each_fiscal_code_to_one_party(store: GraphStore) -> None:
    """Seeds and filed creates write batches: a code twice in one, or one a stored party
    not archived holds, is a Conflict and the batch writes nothing."""
    vat = Fiscal(vat_number="ATU13585627")
    twins = [org("Twin A", fiscal=vat), org("Twin B", fiscal=Fiscal(vat_number="ATU 1358 5627"))]
    with pytest.raises(Conflict, match=twins[0].id):
        await store.load_batch(Batch(twins))
    assert await store.is_empty()
    holder = await store.create_party(org("Holder", fiscal=vat))
    late = org(
        "Late", fiscal=Fiscal(tax_code="59-119/9013", country="AT", vat_number="ATU13585627")
    )
    with pytest.raises(Conflict, match=holder.id):
        await store.load_batch(Batch([late]))
    await store.archive_party(holder.id, T0)
    written = await store.load_batch(Batch([late]))
    assert written.parties[0].fiscal == Fiscal("ATU13585627", "591199013", "AT")
