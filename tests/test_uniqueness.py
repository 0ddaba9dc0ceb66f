"""A VAT number or tax code belongs to one party that is not archived, through GraphQL on
both stores: a create, update, restore or filed create that would give it to a second is
CONFLICT naming the holder, and writes nothing; racing writes let one through."""

from __future__ import annotations

import asyncio

from client import GraphQL
from factories import CREATE_CONTACT, CREATE_ORG, contact, org, snapshot

UPDATE = """
mutation($id: ID!, $input: UpdatePartyInput!) {
  updateParty(id: $id, input: $input) { version fiscal { vatNumber taxCode country } }
}"""
ARCHIVE = "mutation($id: ID!) { archiveParty(id: $id) { archivedAt } }"
RESTORE = "mutation($id: ID!) { restoreParty(id: $id) { archivedAt version } }"
FISCAL = "query($id: ID!) { party(id: $id) { version archivedAt fiscal { vatNumber taxCode } } }"


async def _conflict(gql: GraphQL, document: str, variables: dict, holder: str, value: str) -> None:
    """The write is CONFLICT naming the holder, and the value the writer sent (a restore,
    which needs no FISCAL, quotes none); nothing changes."""
    before = await snapshot(gql)
    error = await gql.error(document, variables)
    assert error["extensions"]["code"] == "CONFLICT", error
    assert holder in error["message"], error["message"]
    assert (value in error["message"]) == (document != RESTORE), error["message"]
    assert await snapshot(gql) == before


async def test_a_vat_number_has_one_holder_on_create(gql: GraphQL) -> None:
    holder = await org(gql, "Huber KG", fiscal={"vatNumber": "ATU13585627"})
    for written in ("ATU13585627", "atu 1358 5627", "AT U13585627"):  # one number
        create = {"input": {"name": "Huber Again", "fiscal": {"vatNumber": written}}}
        await _conflict(gql, CREATE_ORG, create, holder, "ATU13585627")
    # a contact filed under an organization goes through the same check
    filed = {
        "input": {"lastName": "Huber", "parentId": holder, "fiscal": {"vatNumber": "ATU13585627"}}
    }
    await _conflict(gql, CREATE_CONTACT, filed, holder, "ATU13585627")
    # a Swiss number is one whatever the language of its suffix
    swiss = await org(gql, "Bergbahn AG", fiscal={"vatNumber": "CHE-107.787.577 MWST"})
    create = {"input": {"name": "Remontées SA", "fiscal": {"vatNumber": "CHE107787577TVA"}}}
    await _conflict(gql, CREATE_ORG, create, swiss, "CHE107787577TVA")


async def test_a_tax_code_has_one_holder_per_country(gql: GraphQL) -> None:
    fiscal = {"taxCode": "00743110157", "country": "IT"}
    holder = await contact(gql, "Maria", "Rossi", fiscal=fiscal)
    await _conflict(
        gql,
        CREATE_CONTACT,
        {"input": {"lastName": "Rossi", "fiscal": {**fiscal, "taxCode": "007 431 101 57"}}},
        holder,
        "00743110157",
    )
    # the same characters in a country whose code they are not, are not the same code:
    # there they are refused as invalid, never as taken
    error = await gql.error(
        CREATE_CONTACT, {"input": {"lastName": "Rossi", "fiscal": {**fiscal, "country": "AT"}}}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_update_may_not_take_a_held_code(gql: GraphQL) -> None:
    holder = await org(gql, "Holder", fiscal={"vatNumber": "DE136695976"})
    other = await org(gql, "Other", fiscal={"vatNumber": "ATU13585627"})
    taking = {"id": other, "input": {"fiscal": {"vatNumber": "DE 136 695 976"}}}
    await _conflict(gql, UPDATE, taking, holder, "DE136695976")
    # keeping one's own code, however written, is no conflict
    own = {"id": holder, "input": {"fiscal": {"vatNumber": "de136695976", "taxCode": None}}}
    assert (await gql(UPDATE, own))["updateParty"]["fiscal"]["vatNumber"] == "DE136695976"


async def test_an_archived_party_frees_its_codes_and_a_restore_needs_them_free(
    gql: GraphQL,
) -> None:
    first = await org(gql, "First GmbH", fiscal={"vatNumber": "DE136695976"})
    await gql(ARCHIVE, {"id": first})
    second = await org(gql, "Second GmbH", fiscal={"vatNumber": "DE136695976"})
    await _conflict(gql, RESTORE, {"id": first}, second, "DE136695976")
    assert (await gql(FISCAL, {"id": first}))["party"]["archivedAt"] is not None
    # once the code is free again, the restore goes through
    await gql(UPDATE, {"id": second, "input": {"fiscal": None}})
    restored = (await gql(RESTORE, {"id": first}))["restoreParty"]
    assert restored["archivedAt"] is None
    # and an archived party taking a held code is no conflict: it holds nothing
    await gql(ARCHIVE, {"id": second})
    await gql(UPDATE, {"id": second, "input": {"fiscal": {"vatNumber": "DE136695976"}}})
    await _conflict(gql, RESTORE, {"id": second}, first, "DE136695976")


async def test_racing_writes_of_one_code_let_one_through(gql: GraphQL) -> None:
    async def create(i: int) -> dict:
        response = await gql.raw(
            CREATE_ORG, {"input": {"name": f"Racer {i}", "fiscal": {"vatNumber": "ATU13585627"}}}
        )
        return response.json()

    answers = await asyncio.gather(*(create(i) for i in range(6)))
    made = [a for a in answers if "errors" not in a]
    refused = [a["errors"][0]["extensions"]["code"] for a in answers if "errors" in a]
    assert len(made) == 1 and refused == ["CONFLICT"] * 5, answers
    data = await gql('{ parties(search: "Racer", filter: {kinds: [ORGANIZATION]}) { totalCount } }')
    assert data["parties"]["totalCount"] == 1
