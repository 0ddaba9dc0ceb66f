"""External ids through GraphQL on both stores: written by creates and updates, read back
normalised, found by partyByExternalId, held by one party not archived at most (also when
two writes race for one), refused when malformed, and kept in the history."""

from __future__ import annotations

import asyncio

from client import GraphQL
from factories import contact, org

READ = """query($s: String!, $k: String!) { partyByExternalId(source: $s, key: $k) {
  id displayName externalIds { source key } } }"""
UPDATE = """mutation($id: ID!, $x: [ExternalIdInput!]) {
  updateParty(id: $id, input: {externalIds: $x}) { version externalIds { source key } } }"""
CREATE = """mutation($x: [ExternalIdInput!]!) {
  createOrganization(input: {name: "Racer", externalIds: $x}) { id } }"""


async def test_external_ids_are_written_read_and_found(gql: GraphQL) -> None:
    acme = await org(gql, "Acme", externalIds=[{"source": " SAP ", "key": " 10 0042 "}])
    found = await gql(READ, {"s": "sap", "k": "10 0042"})
    assert found["partyByExternalId"] == {
        "id": acme,
        "displayName": "Acme",
        "externalIds": [{"source": "sap", "key": "10 0042"}],
    }
    assert (await gql(READ, {"s": "SAP", "k": "10 0042"}))["partyByExternalId"]["id"] == acme
    # keys compare exactly: another case or spacing is another id
    assert (await gql(READ, {"s": "sap", "k": "10 0042x"}))["partyByExternalId"] is None
    assert (await gql(READ, {"s": "crm", "k": "10 0042"}))["partyByExternalId"] is None

    ida = await contact(gql, "Ida", "Sync")
    changed = await gql(UPDATE, {"id": ida, "x": [{"source": "crm", "key": "C-1"}]})
    assert changed["updateParty"] == {
        "version": 2,
        "externalIds": [{"source": "crm", "key": "C-1"}],
    }
    again = await gql(UPDATE, {"id": ida, "x": [{"source": "CRM", "key": "C-1"}]})
    assert again["updateParty"]["version"] == 2  # the same ids, normalised: no change
    history = await gql(
        "query($id: ID!) { party(id: $id) { history(first: 5) { edges { node { kind "
        "fields { field before after } } } } } }",
        {"id": ida},
    )
    [update, _] = history["party"]["history"]["edges"]
    assert {"field": "externalIds", "before": [], "after": [{"source": "crm", "key": "C-1"}]} in (
        update["node"]["fields"]
    )
    cleared = await gql(UPDATE, {"id": ida, "x": None})
    assert cleared["updateParty"]["externalIds"] == []
    assert (await gql(READ, {"s": "crm", "k": "C-1"}))["partyByExternalId"] is None


async def test_a_claimed_external_id_is_a_conflict_naming_its_holder(gql: GraphQL) -> None:
    holder = await org(gql, "Holder", externalIds=[{"source": "sap", "key": "7"}])
    other = await org(gql, "Other")
    error = await gql.error(
        """mutation { createContact(input: {firstName: "Eve",
        externalIds: [{source: "sap", key: "7"}]}) { id } }"""
    )
    assert error["extensions"]["code"] == "CONFLICT"
    assert "sap:7" in error["message"] and holder in error["message"]
    error = await gql.error(UPDATE, {"id": other, "x": [{"source": "Sap", "key": "7"}]})
    assert error["extensions"]["code"] == "CONFLICT" and holder in error["message"]
    # archived, the holder lets go of it
    await gql("mutation($id: ID!) { archiveParty(id: $id) { id } }", {"id": holder})
    taken = await gql(UPDATE, {"id": other, "x": [{"source": "sap", "key": "7"}]})
    assert taken["updateParty"]["externalIds"] == [{"source": "sap", "key": "7"}]
    assert (await gql(READ, {"s": "sap", "k": "7"}))["partyByExternalId"]["id"] == other


async def test_racing_creates_give_an_external_id_to_one_party(gql: GraphQL) -> None:
    claim = {"x": [{"source": "erp", "key": "race"}]}
    answers = await asyncio.gather(*(gql.raw(CREATE, claim) for _ in range(6)))
    bodies = [answer.json() for answer in answers]
    made = [b["data"]["createOrganization"]["id"] for b in bodies if "errors" not in b]
    codes = [b["errors"][0]["extensions"]["code"] for b in bodies if "errors" in b]
    assert len(made) == 1 and codes == ["CONFLICT"] * 5
    assert (await gql(READ, {"s": "erp", "k": "race"}))["partyByExternalId"]["id"] == made[0]


async def test_bad_external_ids_are_refused_naming_the_field(gql: GraphQL) -> None:
    for ids, field in (
        ([{"source": "", "key": "1"}], "externalIds[0].source"),
        ([{"source": "sap", "key": "1"}, {"source": "s a p", "key": "1"}], "externalIds[1].source"),
        ([{"source": "sap", "key": "   "}], "externalIds[0].key"),
        ([{"source": "sap", "key": "x" * 201}], "externalIds[0].key"),
        ([{"source": "sap", "key": str(i)} for i in range(21)], "externalIds"),
    ):
        error = await gql.error(CREATE, {"x": ids})
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"].get("field") == field, error
    error = await gql.error(CREATE, {"x": [{"source": "sap", "key": "a\nb"}]})
    assert "externalIds[0].key holds the control character" in error["message"]
    error = await gql.error(READ, {"s": "no source", "k": "1"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await gql("{ parties { totalCount } }"))["parties"]["totalCount"] == 1  # admin


async def test_a_merge_giving_the_survivor_too_many_external_ids_is_refused(gql: GraphQL) -> None:
    survivor = await org(
        gql, "Keeper", externalIds=[{"source": "sap", "key": str(i)} for i in range(20)]
    )
    merged = await org(gql, "Keeper again", externalIds=[{"source": "crm", "key": "K"}])
    error = await gql.error(
        "mutation($s: ID!, $m: ID!) { mergeParties(survivorId: $s, mergedIds: [$m]) { dryRun } }",
        {"s": survivor, "m": merged},
    )
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "would hold 21 external ids, more than 20" in error["message"]
    # nothing written: the merged party holds its id still
    assert (await gql(READ, {"s": "crm", "k": "K"}))["partyByExternalId"]["id"] == merged
