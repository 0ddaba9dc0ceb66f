"""Duplicate detection through GraphQL on both stores: possibleDuplicates across spellings
and every signal, nothing for parties that differ, archived ones or other kinds;
duplicateCandidates paged over the registry; checkDuplicates writing nothing when a create
may be a party that exists; what a viewer without FISCAL learns; bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from access import bearer, user_token
from client import GraphQL
from factories import CREATE_CONTACT, CREATE_ORG, contact, org, snapshot

from contactgraph.graph.backends import open_store
from contactgraph.graph.duplicates import PAGE_SCAN
from contactgraph.graph.model import Batch, LegalForm, PartyKind
from contactgraph.graph.records import new_party

DUPLICATES = """query($id: ID!, $first: Int, $min: Float) { party(id: $id) {
  possibleDuplicates(first: $first, minScore: $min) {
    party { id displayName } score nameSimilarity signals } } }"""
PAIRS = """query($kinds: [PartyKind!], $min: Float, $first: Int, $after: String) {
  duplicateCandidates(kinds: $kinds, minScore: $min, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { party { id } other { id } score nameSimilarity signals } } } }"""
ARCHIVE = "mutation($id: ID!) { archiveParty(id: $id) { id } }"
RESTORE = "mutation($id: ID!) { restoreParty(id: $id) { id } }"


async def candidates(gql: GraphQL, party_id: str, **variables: Any) -> dict[str, dict]:
    data = await gql(DUPLICATES, {"id": party_id, **variables})
    found = data["party"]["possibleDuplicates"]
    scores = [c["score"] for c in found]
    assert scores == sorted(scores, reverse=True)
    return {c["party"]["id"]: c for c in found}


async def test_a_company_is_found_whatever_its_spelling(gql: GraphQL) -> None:
    acme = await org(gql, "Acme Widgets GmbH")
    spellings = [
        "ACME Widgets",  # case, no legal form
        "Widgets Acme S.r.l.",  # word order, another legal form
        "Acme Widgets S. A.",  # a legal form written spaced
        "Ácmé Wídgets AG",  # accents
        "Acme Widgets GmbH & Co. KG",
    ]
    same = {await org(gql, name): name for name in spellings}
    different = [await org(gql, n) for n in ("Bergbahn Tirol", "Acme Gadgets International")]
    person = await contact(gql, "Acme", "Widgets")  # another kind
    found = await candidates(gql, acme)
    assert set(found) == set(same), [c["party"]["displayName"] for c in found.values()]
    for candidate in found.values():
        assert candidate["signals"] == ["NAME"]
        assert candidate["nameSimilarity"] == 1.0 and candidate["score"] == 0.9
    assert not set(different) & set(found) and person not in found
    # German letters written out and a typo in a longer name still come close
    mueller = await org(gql, "Müller Gebäudereinigung GmbH")
    near = await org(gql, "Mueller Gebaeudereinigung")
    typo = await org(gql, "Müller Gebäudereinigun")
    found = await candidates(gql, mueller)
    assert found[near]["nameSimilarity"] == 1.0
    assert 0.9 < found[typo]["nameSimilarity"] < 1 and found[typo]["signals"] == ["NAME"]
    assert found[near]["score"] > found[typo]["score"]
    # names holding different numbers are different names
    twelve = await org(gql, "Owners' Association Lindenstrasse 12")
    await org(gql, "Owners Association Lindenstrasse 14")
    again = await org(gql, "Owners Association Lindenstraße 12")
    assert set(await candidates(gql, twelve)) == {again}


async def test_each_signal_is_found_and_named(gql: GraphQL) -> None:
    address = {"street": "Museumstrasse 4", "postalCode": "6020", "country": "AT"}
    eva = await contact(
        gql,
        "Eva",
        "Berger",
        emails=[{"address": "eva@berger.example"}],
        phones=[{"number": "+43 664 1234567"}],
        addresses=[address],
    )
    mailed = await contact(gql, "E.", "Huber-Berger", emails=[{"address": "EVA@Berger.Example"}])
    called = await contact(gql, "Max", "Moser", phones=[{"number": "+43 664 12 34 567"}])
    housed = await contact(
        gql,
        "Paul",
        "Lenz",
        addresses=[{"street": "Museumstr. 4", "postalCode": "6020", "country": "Austria"}],
    )
    found = await candidates(gql, eva, min=0.25)
    assert found[mailed]["signals"] == ["EMAIL"] and found[mailed]["score"] >= 0.7
    assert found[called]["signals"] == ["PHONE"] and found[called]["score"] == 0.6
    assert found[housed]["signals"] == ["ADDRESS"]
    assert found[housed]["score"] < found[called]["score"] < found[mailed]["score"]
    # more signals, more certainty: a name alike and the same phone number
    twin = await contact(gql, "Eva", "Berger", phones=[{"number": "+436641234567"}])
    assert (await candidates(gql, eva))[twin]["signals"] == ["NAME", "PHONE"]
    assert (await candidates(gql, eva))[twin]["score"] > 0.95
    # the default minScore, 0.5, leaves out an address alone
    assert housed not in await candidates(gql, eva)


async def test_fiscal_codes_are_signals(gql: GraphQL) -> None:
    """Codes are unique among parties not archived: an archived holder shares one."""
    old = await org(gql, "Huber KG", fiscal={"vatNumber": "ATU13585627"})
    await gql(ARCHIVE, {"id": old})
    renamed = await org(gql, "Bergbahn Tirol", fiscal={"vatNumber": "ATU 1358 5627"})
    found = await candidates(gql, old)
    assert found[renamed]["signals"] == ["VAT"] and found[renamed]["score"] == 0.95
    taxed = await contact(gql, "Maria", "Rossi", fiscal={"taxCode": "00743110157", "country": "IT"})
    await gql(ARCHIVE, {"id": taxed})
    again = await contact(
        gql, "M.", "Bianchi", fiscal={"taxCode": "007 431 101 57", "country": "IT"}
    )
    assert (await candidates(gql, taxed))[again]["signals"] == ["TAX_CODE"]


@pytest.fixture
async def viewers(graph_url: str, http: httpx.AsyncClient) -> AsyncIterator[dict[str, GraphQL]]:
    """Clients of the same app signed in as a reader, and as a reader who may read fiscal
    data."""
    store = open_store(graph_url)
    await store.start()
    try:
        secrets = {
            "reader": (await user_token(store, "plain-reader", "reader"))[1],
            "fiscal": (await user_token(store, "fiscal-reader", "reader", "fiscal"))[1],
        }
    finally:
        await store.close()
    clients = {
        name: httpx.AsyncClient(
            transport=http._transport, base_url=http.base_url, headers=bearer(secret)
        )
        for name, secret in secrets.items()
    }
    yield {name: GraphQL(client) for name, client in clients.items()}
    for client in clients.values():
        await client.aclose()


async def test_fiscal_codes_count_only_for_viewers_who_may_read_them(
    gql: GraphQL, viewers: dict[str, GraphQL]
) -> None:
    """A shared VAT number or tax code would tell a viewer without FISCAL the code: for
    them it is no signal, and adds nothing to the score."""
    old = await org(gql, "Huber KG", fiscal={"vatNumber": "ATU13585627"})
    await gql(ARCHIVE, {"id": old})
    renamed = await org(gql, "Bergbahn Tirol", fiscal={"vatNumber": "ATU13585627"})
    alike = await org(gql, "Huber", fiscal={"taxCode": "81-123/4566", "country": "AT"})
    full = {renamed: (["VAT"], 0.95), alike: (["NAME"], 0.9)}
    for viewer, expected in (
        (gql, full),
        (viewers["fiscal"], full),
        (viewers["reader"], {alike: (["NAME"], 0.9)}),
    ):
        found = await candidates(viewer, old)
        assert {i: (c["signals"], c["score"]) for i, c in found.items()} == expected


async def test_a_reader_may_not_ask_a_create_for_duplicates(
    gql: GraphQL, viewers: dict[str, GraphQL]
) -> None:
    """The check comes with the create's permission: a reader learns nothing from it."""
    await org(gql, "Acme Widgets GmbH")
    input = {"name": "ACME Widgets", "checkDuplicates": True}
    error = await viewers["reader"].error(CREATE_ORG, {"input": input})
    assert error["extensions"] == {"code": "FORBIDDEN"}, error


async def test_archived_parties_are_no_candidates(gql: GraphQL) -> None:
    acme = await org(gql, "Acme Widgets GmbH")
    twin = await org(gql, "ACME Widgets")
    assert twin in await candidates(gql, acme)
    await gql(ARCHIVE, {"id": twin})
    assert await candidates(gql, acme) == {}
    # an archived party may be asked about: its live candidates answer
    assert set(await candidates(gql, twin)) == {acme}
    await gql(RESTORE, {"id": twin})
    assert twin in await candidates(gql, acme)


async def test_first_and_min_score_bound_the_answer(gql: GraphQL) -> None:
    acme = await org(gql, "Acme Widgets GmbH", phones=[{"number": "+43 512 100200"}])
    exact = await org(gql, "Acme Widgets", phones=[{"number": "+43 512 100200"}])
    others = [await org(gql, name) for name in ("ACME Widgets AG", "Acme Widget", "Acme Widgetz")]
    found = await candidates(gql, acme)
    assert next(iter(found)) == exact and set(found) == {exact, *others}
    assert list(await candidates(gql, acme, first=2)) == list(found)[:2]
    high = await candidates(gql, acme, min=0.9)
    assert set(high) == {exact, others[0]} and all(c["score"] >= 0.9 for c in high.values())
    assert await candidates(gql, acme, min=1.0) == {}
    assert await candidates(gql, acme, first=0) == {}


async def _pairs(gql: GraphQL, **variables: Any) -> tuple[list[tuple[str, str, float]], dict]:
    data = (await gql(PAIRS, variables))["duplicateCandidates"]
    pairs = [
        (e["node"]["party"]["id"], e["node"]["other"]["id"], e["node"]["score"])
        for e in data["edges"]
    ]
    return pairs, data["pageInfo"]


async def test_duplicate_candidates_lists_each_pair_once_page_by_page(gql: GraphQL) -> None:
    acme = [await org(gql, name) for name in ("Acme Widgets GmbH", "ACME Widgets", "Acme Widget")]
    bakery = [await org(gql, name) for name in ("Bäckerei Huber", "Baeckerei Huber KG")]
    people = [await contact(gql, "Eva", "Berger"), await contact(gql, "Eva", "Berger")]
    await org(gql, "Bergbahn Tirol")
    everything, info = await _pairs(gql)
    assert info == {"hasNextPage": False, "endCursor": info["endCursor"]}
    expected = {
        (acme[0], acme[1]),
        (acme[0], acme[2]),
        (acme[1], acme[2]),
        (bakery[0], bakery[1]),
        (people[0], people[1]),
    }
    assert {(a, b) for a, b, _ in everything} == expected
    # by the first party's id, then score down, then the other id
    assert everything == sorted(everything, key=lambda p: (p[0], -p[2], p[1]))
    assert all(a < b for a, b, _ in everything)
    paged: list[tuple[str, str, float]] = []
    after = None
    while True:
        page, info = await _pairs(gql, first=2, after=after)
        assert len(page) <= 2
        paged += page
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert paged == everything
    organizations, _ = await _pairs(gql, kinds=["ORGANIZATION"])
    assert {(a, b) for a, b, _ in organizations} == expected - {(people[0], people[1])}
    high, _ = await _pairs(gql, min=0.9)
    assert {(a, b) for a, b, _ in high} == {
        (acme[0], acme[1]),
        (bakery[0], bakery[1]),
        (people[0], people[1]),
    }


async def test_a_page_of_pairs_examines_a_bounded_number_of_parties(
    graph_url: str, gql: GraphQL
) -> None:
    """Past PAGE_SCAN parties without a pair a page ends, empty, with a cursor to go on
    from; the pair after them comes on the next page."""
    store = open_store(graph_url)
    await store.start()
    try:
        names = [f"Unit {i}" for i in range(PAGE_SCAN + 20)] + ["Acme Widgets", "ACME Widgets AG"]
        parties = [
            new_party(PartyKind.ORGANIZATION, name=name, legal_form=LegalForm.LEGAL_PERSON)
            for name in names
        ]
        await store.load_batch(Batch(parties))
    finally:
        await store.close()
    first, info = await _pairs(gql, kinds=["ORGANIZATION"], first=10)
    assert first == [] and info["hasNextPage"] and info["endCursor"]
    second, info = await _pairs(gql, kinds=["ORGANIZATION"], first=10, after=info["endCursor"])
    assert second == [(parties[-2].id, parties[-1].id, 0.9)] and not info["hasNextPage"]


async def test_check_duplicates_refuses_and_writes_nothing(gql: GraphQL) -> None:
    acme = await org(gql, "Acme Widgets GmbH", emails=[{"address": "office@acme.example"}])
    await contact(gql, "Eva", "Berger", emails=[{"address": "eva@berger.example"}])
    before = await snapshot(gql)
    error = await gql.error(
        CREATE_ORG, {"input": {"name": "ACME Widgets", "checkDuplicates": True}}
    )
    assert error["extensions"]["code"] == "CONFLICT", error
    assert error["extensions"]["duplicates"] == [
        {
            "id": acme,
            "displayName": "Acme Widgets GmbH",
            "score": 0.9,
            "nameSimilarity": 1.0,
            "signals": ["NAME"],
        }
    ]
    assert "Acme Widgets GmbH" in error["message"]
    # a contact with another's e-mail address and a name alike: did you mean her?
    error = await gql.error(
        CREATE_CONTACT,
        {
            "input": {
                "firstName": "Eva",
                "lastName": "Berger-Huber",
                "emails": [{"address": "Eva@Berger.example"}],
                "checkDuplicates": True,
            }
        },
    )
    assert error["extensions"]["duplicates"][0]["signals"] == ["EMAIL"]
    assert await snapshot(gql) == before
    # nothing alike, or no check asked for: written
    made = await gql(CREATE_ORG, {"input": {"name": "Bergbahn Tirol AG", "checkDuplicates": True}})
    assert made["createOrganization"]["name"] == "Bergbahn Tirol AG"
    await gql(CREATE_ORG, {"input": {"name": "ACME Widgets", "checkDuplicates": False}})
    await gql(CREATE_ORG, {"input": {"name": "ACME Widgets"}})
    # below the threshold (a name alike, 0.77 < 0.8) the check lets a create through
    await gql(CREATE_ORG, {"input": {"name": "Acme Widgetry", "checkDuplicates": True}})


async def test_a_filed_create_is_checked_too(gql: GraphQL) -> None:
    """checkDuplicates refuses before the nested write: no party, no edge."""
    holding = await org(gql, "Holding")
    await contact(gql, "Eva", "Berger")
    before = await snapshot(gql)
    filed = {"lastName": "Berger", "firstName": "Eva", "parentId": holding}
    error = await gql.error(CREATE_CONTACT, {"input": {**filed, "checkDuplicates": True}})
    assert error["extensions"]["code"] == "CONFLICT" and error["extensions"]["duplicates"]
    assert await snapshot(gql) == before
    # a value the write would refuse is refused as that, checked or not
    bad = {"name": "Acme", "emails": [{"address": "nope"}], "checkDuplicates": True}
    error = await gql.error(CREATE_ORG, {"input": bad})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "emails[0].address"}


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": -1}, "BAD_USER_INPUT"),
        ({"first": 501}, "LIMIT_EXCEEDED"),
        ({"min": 1.5}, "BAD_USER_INPUT"),
        ({"min": -0.1}, "BAD_USER_INPUT"),
    ],
)
async def test_bad_arguments_are_coded(gql: GraphQL, variables: dict, code: str) -> None:
    acme = await org(gql, "Acme")
    error = await gql.error(DUPLICATES, {"id": acme, **variables})
    assert error["extensions"]["code"] == code, error
    error = await gql.error(PAIRS, variables)
    assert error["extensions"]["code"] == code, error


@pytest.mark.parametrize(
    "after",
    ["nope", "", "YQ==", "YR9ub3QgYSBzY29yZR9i", "YR8yLjAwMB9i"],  # a\x1fnot a score\x1fb; 2.000
)
async def test_a_forged_cursor_is_bad_input(gql: GraphQL, after: str) -> None:
    error = await gql.error(PAIRS, {"after": after})
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
