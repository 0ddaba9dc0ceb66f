"""Categories through GraphQL, on both stores: created, changed under expectedVersion and
archived by a viewer with CATEGORIES (the permission table in test_permissions.py refuses
everyone else), each write in the category's history; bad definitions refused naming
the field, with nothing written; a change rewrites no party, and Category.violations
lists the parties that no longer fit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import contact

from contactgraph.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

CREATE = """mutation($input: CreateCategoryInput!) { createCategory(input: $input) {
  id name description kinds legalForms version archivedAt
  fields { name type label required default options } documents { name legalForms } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateCategoryInput!, $v: Int) {
  updateCategory(id: $id, input: $input, expectedVersion: $v) {
    version description fields { name required options } } }"""
ARCHIVE = "mutation($id: ID!) { archiveCategory(id: $id) { version archivedAt } }"
READ = """query($id: ID!) { category(id: $id) { version description archivedAt
  fields { name } history(first: 10) { edges { node { kind subjectIds fields { field } } } } } }"""
VIOLATIONS = """query($id: ID!, $first: Int, $after: String) { category(id: $id) {
  violations(first: $first, after: $after) { pageInfo { hasNextPage endCursor }
    edges { node { reasons party { id displayName } } } } } }"""
COUNT = "{ categories { id } }"
NEW_CONTACT = """mutation($input: CreateContactInput!) { createContact(input: $input) {
  id attributes { field type text boolean date } } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gql(module_graph_url: str) -> AsyncIterator[GraphQL]:
    """One graph per backend for the module: each test writes categories of its own ids."""
    async for http in serve(Settings(create=True, graph_url=module_graph_url, rate_limit=0)):
        yield GraphQL(http)


def _client(**more: Any) -> dict[str, Any]:
    return {
        "id": "retail-client",
        "name": "Retail client",
        "description": "Buys for private purposes.",
        "kinds": ["CONTACT"],
        "legalForms": ["NATURAL_PERSON"],
        "fields": [
            {"name": "notice_confirmed", "type": "BOOLEAN", "required": True, "default": False},
            {"name": "segment", "type": "ONE_OF", "options": ["gold", "silver"]},
        ],
        "documents": [{"name": "ID card", "legalForms": ["NATURAL_PERSON"]}],
        **more,
    }


async def test_a_category_is_created_changed_and_archived_with_its_history(gql: GraphQL) -> None:
    made = (await gql(CREATE, {"input": _client()}))["createCategory"]
    assert made["version"] == 1 and made["archivedAt"] is None
    assert made["kinds"] == ["CONTACT"]
    assert made["fields"][0] == {
        "name": "notice_confirmed",
        "type": "BOOLEAN",
        "label": "",
        "required": True,
        "default": False,
        "options": [],
    }
    assert made["documents"] == [{"name": "ID card", "legalForms": ["NATURAL_PERSON"]}]

    changed = await gql(UPDATE, {"id": "retail-client", "input": {"description": "B2C"}, "v": 1})
    assert changed["updateCategory"]["version"] == 2
    assert changed["updateCategory"]["fields"][1]["options"] == ["gold", "silver"]
    same = await gql(UPDATE, {"id": "retail-client", "input": {"description": "B2C"}})
    assert same["updateCategory"]["version"] == 2  # nothing changed, no new version

    stale = await gql.error(UPDATE, {"id": "retail-client", "input": {"description": "x"}, "v": 1})
    assert stale["extensions"]["code"] == "CONFLICT"
    assert "version 2" in stale["message"]

    # a write reads the category before it is archived, the next one after
    early = {"lastName": "Early", "categoryId": "retail-client"}
    assert (await gql(NEW_CONTACT, {"input": early}))["createContact"]["id"]
    archived = (await gql(ARCHIVE, {"id": "retail-client"}))["archiveCategory"]
    assert archived["version"] == 3 and archived["archivedAt"] is not None
    entering = await gql.error(
        NEW_CONTACT, {"input": {"lastName": "Late", "categoryId": "retail-client"}}
    )
    assert entering["extensions"]["code"] == "BAD_USER_INPUT"
    assert "archived" in entering["message"]

    read = (await gql(READ, {"id": "retail-client"}))["category"]
    assert read["description"] == "B2C"
    kinds = [e["node"]["kind"] for e in read["history"]["edges"]]
    assert kinds == ["CATEGORY_ARCHIVED", "CATEGORY_UPDATED", "CATEGORY_CREATED"]
    assert read["history"]["edges"][1]["node"]["fields"] == [{"field": "description"}]
    assert read["history"]["edges"][0]["node"]["subjectIds"] == ["retail-client"]


BAD = {
    "id": ({"id": "Not An Id"}, "BAD_USER_INPUT", "id"),
    "name": ({"name": "  "}, "BAD_USER_INPUT", "name"),
    "field name": (
        {"fields": [{"name": "Bad Name", "type": "TEXT"}]},
        "BAD_USER_INPUT",
        "fields.name",
    ),
    "field twice": (
        {"fields": [{"name": "a", "type": "TEXT"}, {"name": "a", "type": "DATE"}]},
        "BAD_USER_INPUT",
        "fields.name",
    ),
    "choice without options": (
        {"fields": [{"name": "size", "type": "ONE_OF"}]},
        "BAD_USER_INPUT",
        "fields.size.options",
    ),
    "options of text": (
        {"fields": [{"name": "note", "type": "TEXT", "options": ["a"]}]},
        "BAD_USER_INPUT",
        "fields.note.options",
    ),
    "default not a value": (
        {"fields": [{"name": "due", "type": "DATE", "default": "soon"}]},
        "BAD_USER_INPUT",
        "fields.due.default",
    ),
    "label too long": (
        {"fields": [{"name": "a", "type": "TEXT", "label": "x" * 201}]},
        "BAD_USER_INPUT",
        "fields.a",
    ),
    "document without a name": (
        {"documents": [{"name": " "}]},
        "BAD_USER_INPUT",
        "documents[0].name",
    ),
    "too many fields": (
        {"fields": [{"name": f"f{i}", "type": "TEXT"} for i in range(51)]},
        "BAD_USER_INPUT",
        None,
    ),
    "id in use": ({"id": "private-client"}, "CONFLICT", None),
    "name in use": ({"name": "private CLIENT"}, "CONFLICT", None),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
async def test_a_bad_category_is_refused_naming_the_field(gql: GraphQL, case: str) -> None:
    change, code, field = BAD[case]
    before = await gql(COUNT)
    given = {"id": "bad-one", "name": "Bad one", **change}
    error = await gql.error(CREATE, {"input": given})
    assert error["extensions"]["code"] == code, error
    assert error["extensions"].get("field") == field, error
    assert await gql(COUNT) == before


async def test_changing_or_archiving_a_category_that_does_not_exist_is_not_found(
    gql: GraphQL,
) -> None:
    for document, variables in (
        (UPDATE, {"id": "no-such", "input": {"name": "x"}}),
        (ARCHIVE, {"id": "no-such"}),
    ):
        error = await gql.error(document, variables)
        assert error["extensions"]["code"] == "NOT_FOUND"


async def test_a_change_rewrites_no_party_and_violations_list_those_that_no_longer_fit(
    gql: GraphQL,
) -> None:
    await gql(CREATE, {"input": _client(id="vip-client", name="VIP client")})
    gold = await gql(
        NEW_CONTACT,
        {
            "input": {
                "lastName": "Gold",
                "categoryId": "vip-client",
                "attributes": [{"field": "segment", "value": "gold"}],
            }
        },
    )
    assert gold["createContact"]["attributes"] == [
        {
            "field": "notice_confirmed",
            "type": "BOOLEAN",
            "text": None,
            "boolean": False,
            "date": None,
        },
        {"field": "segment", "type": "ONE_OF", "text": "gold", "boolean": None, "date": None},
    ]
    silver = await contact(
        gql,
        "Sid",
        "Silver",
        categoryId="vip-client",
        attributes=[{"field": "segment", "value": "silver"}],
    )
    fine = await contact(gql, "Fay", "Fine", categoryId="vip-client")
    assert (await gql(VIOLATIONS, {"id": "vip-client"}))["category"]["violations"]["edges"] == []

    narrowed = {
        "fields": [
            {"name": "notice_confirmed", "type": "BOOLEAN", "required": True, "default": False},
            {"name": "segment", "type": "ONE_OF", "options": ["silver", "bronze"]},
            {"name": "signed_on", "type": "DATE", "required": True},
        ]
    }
    await gql(UPDATE, {"id": "vip-client", "input": narrowed, "v": 1})
    page = (await gql(VIOLATIONS, {"id": "vip-client"}))["category"]["violations"]
    found = {e["node"]["party"]["id"]: e["node"]["reasons"] for e in page["edges"]}
    gold_id = gold["createContact"]["id"]
    assert set(found) == {gold_id, silver, fine}
    assert found[gold_id] == [
        "attributes.segment 'gold' is not one of silver, bronze",
        "attributes.signed_on is required",
    ]
    assert found[silver] == ["attributes.signed_on is required"]
    assert page["pageInfo"]["hasNextPage"] is False

    first = (await gql(VIOLATIONS, {"id": "vip-client", "first": 1}))["category"]["violations"]
    assert len(first["edges"]) == 1 and first["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        VIOLATIONS, {"id": "vip-client", "first": 5, "after": first["pageInfo"]["endCursor"]}
    )
    rest_ids = [e["node"]["party"]["id"] for e in rest["category"]["violations"]["edges"]]
    assert sorted([first["edges"][0]["node"]["party"]["id"], *rest_ids]) == sorted(found)

    # a stored party is not blocked by the change: an unrelated update still passes
    await gql(
        'mutation($id: ID!) { updateParty(id: $id, input: {tags: ["kept"]}) { id } }',
        {"id": silver},
    )
