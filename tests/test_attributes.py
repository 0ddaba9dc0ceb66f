"""A category's own fields on its parties, on both stores, through GraphQL: each type's
good values stored in one form and read back typed, bad ones refused naming the field
with nothing written, required fields and defaults, changes and re-categorizing, and
parties(filter: {attributes}) by equality, range and presence, and search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import org

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

VALUE = "field type text number decimal boolean date options partyId party { id }"
CREATE = f"""mutation($input: CreateContactInput!) {{ createContact(input: $input) {{
  id attributes {{ {VALUE} }} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: UpdatePartyInput!) {{ updateParty(id: $id, input: $input)
  {{ version categoryId attributes {{ {VALUE} }} }} }}"""
LIST = """query($filter: PartyFilter, $search: String) {
  parties(filter: $filter, search: $search, first: 100) { edges { node { displayName } } } }"""
COUNT = "{ parties(first: 1) { totalCount } }"
FIELDS = [
    {"name": "note", "type": "TEXT"},
    {"name": "rooms", "type": "NUMBER"},
    {"name": "budget", "type": "DECIMAL"},
    {"name": "confirmed", "type": "BOOLEAN"},
    {"name": "signed_on", "type": "DATE"},
    {"name": "tier", "type": "ONE_OF", "options": ["gold", "silver"]},
    {"name": "interests", "type": "MANY_OF", "options": ["flats", "houses", "land"]},
    {"name": "referrer", "type": "PARTY"},
    {"name": "homepage", "type": "URL"},
    {"name": "mail", "type": "EMAIL"},
    {"name": "mobile", "type": "PHONE"},
]
NULLS = dict.fromkeys(
    ["text", "number", "decimal", "boolean", "date", "options", "partyId", "party"]
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def graph(module_graph_url: str) -> AsyncIterator[tuple[GraphQL, str]]:
    """A graph per backend with a category holding a field of every type, and a party
    for PARTY values to name."""
    async for http in serve(Settings(create=True, graph_url=module_graph_url, rate_limit=0)):
        gql = GraphQL(http)
        await gql(
            "mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }",
            {"input": {"id": "buyer", "name": "Buyer", "fields": FIELDS}},
        )
        yield gql, await org(gql, "Referrer Ltd")


def _good(referrer: str) -> list[tuple[str, Any, dict[str, Any]]]:
    """(field, value given, what AttributeValue answers besides field and type)."""
    return [
        ("note", "  likes balconies ", {"text": "likes balconies"}),
        ("rooms", 3, {"number": 3.0}),
        ("rooms", 2.5, {"number": 2.5}),
        ("budget", "250000.50", {"decimal": "250000.50"}),
        ("budget", 1200, {"decimal": "1200"}),
        ("confirmed", True, {"boolean": True}),
        ("signed_on", "2024-02-29", {"date": "2024-02-29"}),
        ("tier", "gold", {"text": "gold"}),
        ("interests", ["land", "flats"], {"options": ["flats", "land"]}),
        ("referrer", referrer, {"partyId": referrer, "party": {"id": referrer}}),
        ("homepage", "https://example.com/a", {"text": "https://example.com/a"}),
        ("mail", "Eva@Example.COM", {"text": "Eva@example.com"}),
        ("mobile", "+43 664 1234567", {"text": "+436641234567"}),
    ]


BAD: list[tuple[str, Any]] = [
    ("note", 12),
    ("note", "   "),
    ("note", "x" * 2001),
    ("rooms", "3"),
    ("rooms", True),
    ("budget", "12,5"),
    ("budget", "NaN"),
    ("confirmed", "yes"),
    ("signed_on", "2023-02-29"),
    ("signed_on", "29.02.2024"),
    ("tier", "bronze"),
    ("interests", "flats"),
    ("interests", ["flats", "castles"]),
    ("interests", ["land", "land"]),
    ("referrer", 42),
    ("referrer", "no-such-party"),
    ("homepage", "ftp://example.com"),
    ("homepage", "example.com"),
    ("mail", "not-an-address"),
    ("mobile", "12"),
    ("unknown", "x"),
]


async def test_each_type_stores_good_values_and_reads_them_typed(
    graph: tuple[GraphQL, str],
) -> None:
    gql, referrer = graph
    types = {f["name"]: f["type"] for f in FIELDS}
    for field, given, shown in _good(referrer):
        made = await gql(
            CREATE,
            {
                "input": {
                    "lastName": f"Good {field}",
                    "categoryId": "buyer",
                    "attributes": [{"field": field, "value": given}],
                }
            },
        )
        expected = {**NULLS, "field": field, "type": types[field], **shown}
        assert made["createContact"]["attributes"] == [expected], (field, given)


@pytest.mark.parametrize(("field", "given"), BAD, ids=[f"{f}={v!r}"[:40] for f, v in BAD])
async def test_a_bad_value_is_refused_naming_its_field(
    graph: tuple[GraphQL, str], field: str, given: Any
) -> None:
    gql, _ = graph
    before = await gql(COUNT)
    error = await gql.error(
        CREATE,
        {
            "input": {
                "lastName": "Bad",
                "categoryId": "buyer",
                "attributes": [{"field": field, "value": given}],
            }
        },
    )
    assert error["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND"), error
    assert error["extensions"]["field"] == f"attributes.{field}", error
    assert await gql(COUNT) == before


async def test_required_fields_and_defaults_on_create_update_and_recategorize(
    graph: tuple[GraphQL, str],
) -> None:
    gql, _ = graph
    await gql(
        "mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }",
        {
            "input": {
                "id": "tenant",
                "name": "Tenant",
                "fields": [
                    {"name": "deposit_paid", "type": "BOOLEAN", "required": True, "default": False},
                    {"name": "moved_in", "type": "DATE", "required": True},
                    {"name": "pets", "type": "MANY_OF", "options": ["cat", "dog"], "default": []},
                ],
            }
        },
    )
    missing = await gql.error(CREATE, {"input": {"lastName": "Nodate", "categoryId": "tenant"}})
    assert missing["extensions"] == {"code": "BAD_USER_INPUT", "field": "attributes.moved_in"}
    made = await gql(
        CREATE,
        {
            "input": {
                "lastName": "Tenant",
                "categoryId": "tenant",
                "attributes": [{"field": "moved_in", "value": "2024-05-01"}],
            }
        },
    )
    party = made["createContact"]
    values = {a["field"]: a for a in party["attributes"]}
    assert values["deposit_paid"]["boolean"] is False  # the default
    assert values["pets"]["options"] == []

    # a value given replaces that field's, the others stay; null removes an optional one
    changed = await gql(
        UPDATE,
        {
            "id": party["id"],
            "input": {"attributes": [{"field": "deposit_paid", "value": True}]},
        },
    )
    shown = {a["field"]: a for a in changed["updateParty"]["attributes"]}
    assert shown["deposit_paid"]["boolean"] is True
    assert shown["moved_in"]["date"] == "2024-05-01"
    removing = await gql.error(
        UPDATE, {"id": party["id"], "input": {"attributes": [{"field": "moved_in", "value": None}]}}
    )
    assert removing["extensions"]["field"] == "attributes.moved_in"

    # re-categorizing checks the values against the new category
    moving = await gql.error(UPDATE, {"id": party["id"], "input": {"categoryId": "buyer"}})
    assert moving["extensions"]["code"] == "BAD_USER_INPUT"
    assert moving["extensions"]["field"] == "attributes.deposit_paid"
    moved = await gql(
        UPDATE,
        {
            "id": party["id"],
            "input": {
                "categoryId": "buyer",
                "attributes": [
                    {"field": "deposit_paid", "value": None},
                    {"field": "moved_in", "value": None},
                    {"field": "pets", "value": None},
                    {"field": "tier", "value": "silver"},
                ],
            },
        },
    )
    assert moved["updateParty"]["categoryId"] == "buyer"
    assert [a["field"] for a in moved["updateParty"]["attributes"]] == ["tier"]
    history = await gql(
        "query($id: ID!) { party(id: $id) { history(first: 1) { edges { node { "
        "fields { field } } } } } }",
        {"id": party["id"]},
    )
    changed_fields = history["party"]["history"]["edges"][0]["node"]["fields"]
    assert {"field": "attributes"} in changed_fields


async def _names(gql: GraphQL, **variables: Any) -> list[str]:
    data = await gql(LIST, variables)
    return sorted(e["node"]["displayName"] for e in data["parties"]["edges"])


async def test_parties_filter_by_attributes_and_search_their_text(
    graph: tuple[GraphQL, str],
) -> None:
    gql, _ = graph
    await gql(
        "mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }",
        {
            "input": {
                "id": "lead",
                "name": "Lead",
                "fields": [
                    {"name": "score", "type": "NUMBER"},
                    {"name": "offer", "type": "DECIMAL"},
                    {"name": "met_on", "type": "DATE"},
                    {"name": "hot", "type": "BOOLEAN"},
                    {"name": "remark", "type": "TEXT"},
                    {"name": "wants", "type": "MANY_OF", "options": ["rent", "buy"]},
                ],
            }
        },
    )
    leads = {
        "Lead A": {
            "score": 10,
            "offer": "99.50",
            "met_on": "2024-01-10",
            "hot": True,
            "remark": "Zanzibar holiday",
            "wants": ["rent"],
        },
        "Lead B": {
            "score": 55,
            "offer": "1000",
            "met_on": "2024-03-01",
            "hot": False,
            "wants": ["rent", "buy"],
        },
        "Lead C": {"score": 90, "met_on": "2024-06-30"},
    }
    for name, values in leads.items():
        await gql(
            CREATE,
            {
                "input": {
                    "lastName": name,
                    "categoryId": "lead",
                    "attributes": [{"field": k, "value": v} for k, v in values.items()],
                }
            },
        )

    async def matching(*tests: dict[str, Any]) -> list[str]:
        return await _names(gql, filter={"categoryIds": ["lead"], "attributes": list(tests)})

    assert await matching({"field": "hot", "equals": True}) == ["Lead A"]
    assert await matching({"field": "score", "equals": 55}) == ["Lead B"]
    assert await matching({"field": "wants", "equals": "buy"}) == ["Lead B"]
    assert await matching({"field": "score", "min": 50}) == ["Lead B", "Lead C"]
    assert await matching({"field": "score", "min": 20, "max": 60}) == ["Lead B"]
    assert await matching({"field": "offer", "min": "100"}) == ["Lead B"]
    assert await matching({"field": "offer", "max": 99.5}) == ["Lead A"]
    assert await matching({"field": "met_on", "min": "2024-02-01", "max": "2024-06-30"}) == [
        "Lead B",
        "Lead C",
    ]
    assert await matching({"field": "offer", "exists": False}) == ["Lead C"]
    assert await matching(
        {"field": "offer", "exists": True}, {"field": "hot", "equals": False}
    ) == ["Lead B"]
    assert await _names(gql, search="zanzib") == ["Lead A"]

    for test, field in (
        ({"field": "nowhere", "equals": 1}, "filter.attributes.field"),
        ({"field": "score", "equals": "many"}, "filter.attributes.score"),
        ({"field": "met_on", "min": "someday"}, "filter.attributes.met_on"),
        ({"field": "hot", "min": 1}, "filter.attributes.hot"),
    ):
        error = await gql.error(LIST, {"filter": {"attributes": [test]}})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, test
    both = await gql.error(
        LIST, {"filter": {"attributes": [{"field": "hot", "equals": True, "exists": True}]}}
    )
    assert both["extensions"]["code"] == "BAD_USER_INPUT"
    many = await gql.error(
        LIST, {"filter": {"attributes": [{"field": "hot", "exists": True}] * 11}}
    )
    assert many["extensions"]["code"] == "LIMIT_EXCEEDED"
