"""Contact and fiscal data are checked on write, per country, through GraphQL on both
stores: VAT numbers, tax codes, phone numbers, e-mail addresses and countries are stored
in their normal form, and a bad one is BAD_USER_INPUT naming the field and why, with
nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from client import GraphQL, serve
from factories import CREATE_CONTACT, CREATE_ORG, CREATE_USER, org, snapshot

from contactgraph.config import Settings

UPDATE = """
mutation($id: ID!, $input: UpdatePartyInput!) {
  updateParty(id: $id, input: $input) {
    version emails { address } phones { number e164 } addresses { country }
    fiscal { vatNumber taxCode country }
  }
}"""
READ = """query($id: ID!) { party(id: $id) {
  version emails { address } phones { number e164 } addresses { country }
  fiscal { vatNumber taxCode country }
} }"""


def _in(country: str | None) -> list[dict[str, str]]:
    """The addresses that give a party its country: one there, or none."""
    return [{"city": "Somewhere", "country": country}] if country else []


# (the party's country, as entered, as stored)
VAT_NUMBERS = [
    (None, "IT 00743110157", "IT00743110157"),
    ("IT", "00743110157", "IT00743110157"),
    (None, "DE 136 695 976", "DE136695976"),
    ("DE", "136695976", "DE136695976"),
    (None, "ATU 1358 5627", "ATU13585627"),
    ("AT", "U13585627", "ATU13585627"),
    (None, "CHE-107.787.577 MWST", "CHE107787577MWST"),
    ("CH", "107.787.577 TVA", "CHE107787577TVA"),
    (None, "FR 40 303 265 045", "FR40303265045"),
    ("FR", "40303265045", "FR40303265045"),
    (None, "ES B-58378431", "ESB58378431"),
    ("ES", "B58378431", "ESB58378431"),
    (None, "NL004495445B01", "NL004495445B01"),
    ("NL", "004495445B01", "NL004495445B01"),
    (None, "GB 980 7806 84", "GB980780684"),
    ("GB", "980780684", "GB980780684"),
    (None, "EL 094259216", "EL094259216"),  # the EU prefix of Greece
    (None, "GR094259216", "EL094259216"),
    ("AT", "de136695976", "DE136695976"),  # a prefix wins over the party's country
]
BAD_VAT_NUMBERS = [
    (None, "IT123", "invalid length"),
    (None, "IT00743110158", "check digit"),
    (None, "DE136695978", "check digit"),
    (None, "ATU13585626", "check digit"),
    (None, "CHE-107.787.578 MWST", "check digit"),
    (None, "FR84323140391", "check digit"),
    (None, "ESB64717839", "check digit"),
    (None, "NL123456789B90", "check digit"),
    (None, "GB802311781", "check digit"),
    ("AT", "!!not a code!!", "invalid format"),
    (None, "ZZ123456", "can check (ZZ)"),
    (None, "00743110157", "no country prefix"),  # and no country to read it by
]

# (the fiscal country, or the address's when "@", as entered, as stored)
TAX_CODES = [
    ("IT", "RCCMNL83S18D969H", "RCCMNL83S18D969H"),  # a person's codice fiscale
    ("IT", "00743110157", "00743110157"),  # a company's
    ("DE", "36 574 261 809", "36574261809"),  # Steuer-IdNr
    ("DE", "181/815/08155", "18181508155"),  # Steuernummer
    ("AT", "59-119/9013", "591199013"),  # Abgabenkontonummer
    ("CH", "756.9217.0769.85", "7569217076985"),  # AHV number
    ("CH", "CHE-100.155.212", "CHE100155212"),  # UID
    ("FR", "30 23 217 600 053", "3023217600053"),  # numéro fiscal
    ("FR", "404 833 048", "404833048"),  # SIREN
    ("ES", "54362315K", "54362315K"),  # DNI
    ("ES", "X-5253868-R", "X5253868R"),  # NIE
    ("ES", "B58378431", "B58378431"),  # CIF
    ("NL", "1112.22.333", "111222333"),  # BSN
    ("GB", "1955839661", "1955839661"),  # UTR
    ("@IT", "RCCMNL83S18D969H", "RCCMNL83S18D969H"),  # the address's country
]
BAD_TAX_CODES = [
    ("IT", "RCCMNL83S18D969A", "check digit"),
    ("IT", "!!not a code!!", "in IT"),
    ("DE", "HRB 98765", "in DE"),
    ("AT", "59-119/9014", "check digit"),
    ("AT", "FN 123456a", "in AT"),
    ("CH", "756.9217.0769.84", "check digit"),
    ("FR", "3023217600054", "in FR"),
    ("ES", "54362315Z", "check digit"),
    ("NL", "1112.52.333", "check digit"),
    ("GB", "2955839661", "check digit"),
    ("@DE", "MRNSFO80A41H501O", "in DE"),  # an Italian code read by German rules
    (None, "MRNSFO80A41H501O", "needs a country"),
]

# (the party's country, as entered, E.164)
PHONES = [
    (None, "+39 06 1234 5678", "+390612345678"),
    ("IT", "06 1234 5678", "+390612345678"),
    (None, "+49 30 1234567", "+49301234567"),
    ("DE", "030 1234567", "+49301234567"),
    (None, "+43 664 1234567", "+436641234567"),
    ("AT", "0664 1234567", "+436641234567"),
    ("AT", "tel:+43-512-100200", "+43512100200"),
    (None, "+41 44 668 18 00", "+41446681800"),
    ("CH", "044 668 18 00", "+41446681800"),
    (None, "+33 1 42 68 53 00", "+33142685300"),
    ("FR", "01 42 68 53 00", "+33142685300"),
    (None, "+34 912 345 678", "+34912345678"),
    ("ES", "912 345 678", "+34912345678"),
    (None, "+31 20 123 4567", "+31201234567"),
    ("NL", "020 123 4567", "+31201234567"),
    (None, "+44 20 7946 0958", "+442079460958"),
    ("GB", "020 7946 0958", "+442079460958"),
    ("DE", "+43 664 1234567", "+436641234567"),  # +country code wins over the party's
]
BAD_PHONES = [
    ("AT", "call me maybe", "not a phone number"),
    (None, "0664 1234567", "no country code"),  # and no country to read it by
    ("IT", "+39 12", "not a valid phone number"),
    ("DE", "+49 1234", "not a valid phone number"),
    ("GB", "020 79", "not a valid phone number"),
    ("FR", "06 12 34 56 7", "not a valid phone number in FR"),
    (None, "+999 123456", "unknown country code"),
]

EMAILS = [
    ("Ada.Lovelace@Example.COM", "Ada.Lovelace@example.com"),  # the domain in lower case
    ("o'brien+crm@mail.example", "o'brien+crm@mail.example"),
    ("jürgen@bäckerei.example", "jürgen@bäckerei.example"),
]
BAD_EMAILS = [
    ("call me maybe", "@-sign"),
    ("ada@localhost", "period"),
    ("ada@", "after the @-sign"),
    ("@mail.example", "before the @-sign"),
    ("a..b@mail.example", "two periods"),
    ("a b@mail.example", "invalid characters"),
    ("ada@x_y.example", "invalid characters"),
]

COUNTRIES = [("AT", "AT"), ("de", "DE"), ("CHE", "CH"), ("Italy", "IT"), ("GB", "GB")]
BAD_COUNTRIES = [("XX", "ISO 3166"), ("UK", "write GB"), ("Germania", "ISO 3166")]


@pytest.fixture
async def party(gql: GraphQL) -> str:
    return await org(gql, "Testing Co")


async def _stored(gql: GraphQL, party: str, **input: Any) -> dict[str, Any]:
    return (await gql(UPDATE, {"id": party, "input": input}))["updateParty"]


async def _refused(
    gql: GraphQL, party: str, field: str, value: str, why: str, **input: Any
) -> None:
    """The update is BAD_USER_INPUT naming the field, the value and why; nothing changes."""
    before = await gql(READ, {"id": party})
    error = await gql.error(UPDATE, {"id": party, "input": input})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, error
    assert repr(value) in error["message"] and why in error["message"], error["message"]
    assert await gql(READ, {"id": party}) == before


def _fiscal_country(where: str | None) -> dict[str, Any]:
    """A tax code's country: given in fiscal.country, or the address's when "@XX"."""
    if where is None:
        return {"addresses": []}
    if where.startswith("@"):
        return {"addresses": _in(where[1:])}
    return {"addresses": []}


async def test_vat_numbers_by_country(gql: GraphQL, party: str) -> None:
    for country, entered, stored in VAT_NUMBERS:
        data = await _stored(gql, party, addresses=_in(country), fiscal={"vatNumber": entered})
        assert data["fiscal"]["vatNumber"] == stored, entered
    for country, entered, why in BAD_VAT_NUMBERS:
        await _refused(
            gql,
            party,
            "fiscal.vatNumber",
            entered,
            why,
            addresses=_in(country),
            fiscal={"vatNumber": entered},
        )


async def test_tax_codes_by_country(gql: GraphQL, party: str) -> None:
    for where, entered, stored in TAX_CODES:
        fiscal: dict[str, Any] = {"taxCode": entered}
        if not where.startswith("@"):
            fiscal["country"] = where
        data = await _stored(gql, party, fiscal=fiscal, **_fiscal_country(where))
        country = where.strip("@")
        assert data["fiscal"] == {"vatNumber": None, "taxCode": stored, "country": country}
    for where, entered, why in BAD_TAX_CODES:
        fiscal = {"taxCode": entered}
        if where and not where.startswith("@"):
            fiscal["country"] = where
        await _refused(
            gql, party, "fiscal.taxCode", entered, why, fiscal=fiscal, **_fiscal_country(where)
        )


async def test_phone_numbers_by_country(gql: GraphQL, party: str) -> None:
    for country, entered, e164 in PHONES:
        data = await _stored(gql, party, addresses=_in(country), phones=[{"number": entered}])
        assert data["phones"] == [{"number": entered, "e164": e164}]
    for country, entered, why in BAD_PHONES:
        await _refused(
            gql,
            party,
            "phones[0].number",
            entered,
            why,
            addresses=_in(country),
            phones=[{"number": entered}],
        )
    # the second of two, named by its place (read in the party's country, DE by now)
    await _refused(
        gql,
        party,
        "phones[1].number",
        "12",
        "not a valid phone number in DE",
        phones=[{"number": "+43 664 1234567"}, {"number": "12"}],
    )


async def test_email_addresses(gql: GraphQL, party: str) -> None:
    for entered, stored in EMAILS:
        data = await _stored(gql, party, emails=[{"address": entered}])
        assert data["emails"] == [{"address": stored}]
    for entered, why in BAD_EMAILS:
        await _refused(
            gql,
            party,
            "emails[1].address",
            entered,
            why,
            emails=[{"address": "ok@mail.example"}, {"address": entered}],
        )


async def test_countries_are_iso_3166(gql: GraphQL, party: str) -> None:
    for entered, stored in COUNTRIES:
        data = await _stored(gql, party, addresses=_in(entered))
        assert data["addresses"] == [{"country": stored}]
        data = await _stored(gql, party, fiscal={"country": entered})
        assert data["fiscal"]["country"] == stored
    for entered, why in BAD_COUNTRIES:
        await _refused(gql, party, "addresses[0].country", entered, why, addresses=_in(entered))
        await _refused(gql, party, "fiscal.country", entered, why, fiscal={"country": entered})


async def test_a_refused_create_writes_nothing(gql: GraphQL, party: str) -> None:
    before = await snapshot(gql)
    cases = [
        (CREATE_ORG, {"name": "Bad VAT", "fiscal": {"vatNumber": "IT123"}}, "fiscal.vatNumber"),
        (
            CREATE_ORG,
            {"name": "Filed", "parentId": party, "phones": [{"number": "call me maybe"}]},
            "phones[0].number",
        ),
        (CREATE_CONTACT, {"lastName": "X", "emails": [{"address": "x@"}]}, "emails[0].address"),
        (
            CREATE_CONTACT,
            {"lastName": "X", "parentId": party, "fiscal": {"taxCode": "!!", "country": "IT"}},
            "fiscal.taxCode",
        ),
        (
            CREATE_USER,
            {"username": "ada", "displayName": "Ada", "email": "ada"},
            "emails[0].address",
        ),
    ]
    for document, input, field in cases:
        error = await gql.error(document, {"input": input})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, error
    assert await snapshot(gql) == before


async def test_a_tax_code_keeps_the_rules_it_was_stored_under(gql: GraphQL, party: str) -> None:
    """A tax code read by the address's country is stored with that country: moving the
    party elsewhere later does not make it a code of the new country."""
    await _stored(gql, party, addresses=_in("IT"), fiscal={"taxCode": "RCCMNL83S18D969H"})
    data = await _stored(gql, party, addresses=_in("AT"))
    assert data["fiscal"] == {"vatNumber": None, "taxCode": "RCCMNL83S18D969H", "country": "IT"}
    fiscal = {"taxCode": "RCCMNL83S18D969H", "vatNumber": "ATU13585627"}
    data = await _stored(gql, party, fiscal=fiscal)
    assert data["fiscal"] == {
        "vatNumber": "ATU13585627",
        "taxCode": "RCCMNL83S18D969H",
        "country": "IT",
    }


@pytest.fixture
async def regional(graph_url: str) -> AsyncIterator[GraphQL]:
    """A server reading national numbers of parties without a country in Austria."""
    async for client in serve(Settings(create=True, graph_url=graph_url, default_region="AT")):
        yield GraphQL(client)


async def test_the_default_region_reads_numbers_of_parties_without_a_country(
    regional: GraphQL,
) -> None:
    party = await org(regional, "Regional Co")
    data = await _stored(regional, party, phones=[{"number": "0664 1234567"}])
    assert data["phones"] == [{"number": "0664 1234567", "e164": "+436641234567"}]
    # a party's own country comes first
    data = await _stored(regional, party, addresses=_in("DE"), phones=[{"number": "030 1234567"}])
    assert data["phones"] == [{"number": "030 1234567", "e164": "+49301234567"}]
    # and it is the country of a tax code and a VAT number without one
    fiscal = {"taxCode": "59-119/9013", "vatNumber": "U13585627"}
    other = await org(regional, "Other Co", fiscal=fiscal)
    data = await regional(READ, {"id": other})
    assert data["party"]["fiscal"] == {
        "vatNumber": "ATU13585627",
        "taxCode": "591199013",
        "country": "AT",
    }
