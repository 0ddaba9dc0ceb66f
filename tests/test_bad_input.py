"""Every mutation with bad input: the right extensions.code, and the graph unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from client import GraphQL, serve
from factories import contact, link, org, snapshot, user

from contactgraph.config import Settings

ORG = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }"
CONTACT = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }"
USER = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }"
UPDATE = (
    "mutation($id: ID!, $i: UpdatePartyInput!, $v: Int) "
    "{ updateParty(id: $id, input: $i, expectedVersion: $v) { id } }"
)
ARCHIVE = "mutation($id: ID!) { archiveParty(id: $id) { id } }"
LINK = "mutation($i: LinkInput!) { link(input: $i) { id } }"
UNLINK = "mutation($id: ID!, $until: DateTime) { unlink(id: $id, until: $until) { id } }"
RECORD = "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }"

LINK_LITERAL = (
    "mutation($from: ID!, $to: ID!) "
    "{ link(input: {type: KNOWS, fromId: $from, toId: $to, properties: {x: 1e999}}) { id } }"
)
LIMITS = Settings()
LONG_NAME = "x" * (LIMITS.max_string_length + 1)

pytestmark = pytest.mark.asyncio(loop_scope="module")

Ids = dict[str, str]
Case = tuple[str, Callable[[Ids], dict[str, Any]], str]


def _act(ids: Ids, **fields: Any) -> dict[str, Any]:
    base = {
        "type": "CALL",
        "summary": "call",
        "authorId": ids["user"],
        "subjectIds": [ids["person"]],
    }
    return {"i": {**base, **fields}}


def _link(ids: Ids, **fields: Any) -> dict[str, Any]:
    return {"i": {"type": "EMPLOYS", "fromId": ids["company"], "toId": ids["other"], **fields}}


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


CASES: dict[str, Case] = {
    "org empty name": (ORG, lambda ids: {"i": {"name": "  "}}, "BAD_USER_INPUT"),
    "org unknown category": (
        ORG,
        lambda ids: {"i": {"name": "X", "categoryId": "nope"}},
        "NOT_FOUND",
    ),
    "org legal form the category forbids": (
        ORG,
        lambda ids: {"i": {"name": "X", "categoryId": "owners-association"}},
        "BAD_USER_INPUT",
    ),
    "org bad email": (
        ORG,
        lambda ids: {"i": {"name": "X", "emails": [{"address": "not-an-email"}]}},
        "BAD_USER_INPUT",
    ),
    "org unknown enum value": (
        ORG,
        lambda ids: {"i": {"name": "X", "unitType": "GALAXY"}},
        "BAD_USER_INPUT",
    ),
    "contact without names": (
        CONTACT,
        lambda ids: {"i": {"firstName": " ", "lastName": ""}},
        "BAD_USER_INPUT",
    ),
    "contact empty tag": (
        CONTACT,
        lambda ids: {"i": {"lastName": "X", "tags": [""]}},
        "BAD_USER_INPUT",
    ),
    "user duplicate username": (
        USER,
        lambda ids: {"i": {"username": "anna", "displayName": "Anna 2"}},
        "CONFLICT",
    ),
    "user bad username": (
        USER,
        lambda ids: {"i": {"username": "a b", "displayName": "A"}},
        "BAD_USER_INPUT",
    ),
    "user empty display name": (
        USER,
        lambda ids: {"i": {"username": "bob", "displayName": ""}},
        "BAD_USER_INPUT",
    ),
    "user unknown contact": (
        USER,
        lambda ids: {"i": {"username": "bob", "displayName": "Bob", "contactId": "nope"}},
        "NOT_FOUND",
    ),
    "user contact that is an org": (
        USER,
        lambda ids: {"i": {"username": "bob", "displayName": "Bob", "contactId": ids["company"]}},
        "BAD_USER_INPUT",
    ),
    "update unknown id": (UPDATE, lambda ids: {"id": "nope", "i": {"tags": ["x"]}}, "NOT_FOUND"),
    "update stale version": (
        UPDATE,
        lambda ids: {"id": ids["company"], "i": {"name": "New"}, "v": 1},
        "CONFLICT",
    ),
    "update empty name": (
        UPDATE,
        lambda ids: {"id": ids["company"], "i": {"name": ""}},
        "BAD_USER_INPUT",
    ),
    "update null name": (
        UPDATE,
        lambda ids: {"id": ids["company"], "i": {"name": None}},
        "BAD_USER_INPUT",
    ),
    "update field of another kind": (
        UPDATE,
        lambda ids: {"id": ids["company"], "i": {"firstName": "Bob"}},
        "BAD_USER_INPUT",
    ),
    "update null legal form": (
        UPDATE,
        lambda ids: {"id": ids["person"], "i": {"legalForm": None}},
        "BAD_USER_INPUT",
    ),
    "update unit type on a contact": (
        UPDATE,
        lambda ids: {"id": ids["person"], "i": {"unitType": "TEAM"}},
        "BAD_USER_INPUT",
    ),
    "archive unknown id": (ARCHIVE, lambda ids: {"id": "nope"}, "NOT_FOUND"),
    "link unknown from": (LINK, lambda ids: _link(ids, fromId="nope"), "NOT_FOUND"),
    "link unknown to": (LINK, lambda ids: _link(ids, toId="nope"), "NOT_FOUND"),
    "link wrong endpoints": (LINK, lambda ids: _link(ids, type="PART_OF"), "BAD_USER_INPUT"),
    "link to itself": (
        LINK,
        lambda ids: _link(ids, type="KNOWS", toId=ids["company"]),
        "BAD_USER_INPUT",
    ),
    "link naive since": (
        LINK,
        lambda ids: _link(ids, since="2025-01-01T00:00:00"),
        "BAD_USER_INPUT",
    ),
    "link malformed since": (LINK, lambda ids: _link(ids, since="yesterday"), "BAD_USER_INPUT"),
    "link properties not an object": (
        LINK,
        lambda ids: _link(ids, properties=[1, 2]),
        "BAD_USER_INPUT",
    ),
    "link archived party": (LINK, lambda ids: _link(ids, toId=ids["archived"]), "BAD_USER_INPUT"),
    "link duplicate": (LINK, lambda ids: _link(ids, toId=ids["person"]), "CONFLICT"),
    "unlink unknown id": (UNLINK, lambda ids: {"id": "nope"}, "NOT_FOUND"),
    "unlink before since": (
        UNLINK,
        lambda ids: {"id": ids["employs"], "until": "2000-01-01T00:00:00Z"},
        "BAD_USER_INPUT",
    ),
    "unlink naive until": (
        UNLINK,
        lambda ids: {"id": ids["employs"], "until": "2030-01-01T00:00:00"},
        "BAD_USER_INPUT",
    ),
    "activity empty summary": (RECORD, lambda ids: _act(ids, summary=" "), "BAD_USER_INPUT"),
    "activity unknown subject": (
        RECORD,
        lambda ids: _act(ids, subjectIds=[ids["person"], "nope"]),
        "NOT_FOUND",
    ),
    "activity without subjects": (RECORD, lambda ids: _act(ids, subjectIds=[]), "BAD_USER_INPUT"),
    "activity repeated subject": (
        RECORD,
        lambda ids: _act(ids, subjectIds=[ids["person"], ids["person"]]),
        "BAD_USER_INPUT",
    ),
    "activity author not a user": (
        RECORD,
        lambda ids: _act(ids, authorId=ids["person"]),
        "BAD_USER_INPUT",
    ),
    "activity unknown author": (RECORD, lambda ids: _act(ids, authorId="nope"), "NOT_FOUND"),
    "activity archived subject": (
        RECORD,
        lambda ids: _act(ids, subjectIds=[ids["archived"]]),
        "BAD_USER_INPUT",
    ),
    "activity naive time": (
        RECORD,
        lambda ids: _act(ids, occurredAt="2025-01-01 10:00"),
        "BAD_USER_INPUT",
    ),
    "activity bad type": (RECORD, lambda ids: _act(ids, type="PARTY"), "BAD_USER_INPUT"),
    # sizes and characters, checked before any resolver runs
    "org name too long": (ORG, lambda ids: {"i": {"name": LONG_NAME}}, "BAD_USER_INPUT"),
    "org name of ten megabytes": (ORG, lambda ids: {"i": {"name": "x" * 10**7}}, "LIMIT_EXCEEDED"),
    "org name with a NUL": (ORG, lambda ids: {"i": {"name": "Ac\x00me"}}, "BAD_USER_INPUT"),
    "contact tag with a NUL": (
        CONTACT,
        lambda ids: {"i": {"lastName": "X", "tags": ["vip\x00"]}},
        "BAD_USER_INPUT",
    ),
    "contact too many tags": (
        CONTACT,
        lambda ids: {"i": {"lastName": "X", "tags": [f"t{n}" for n in range(101)]}},
        "BAD_USER_INPUT",
    ),
    "contact email with a trailing newline": (
        CONTACT,
        lambda ids: {"i": {"lastName": "X", "emails": [{"address": "x@example.com\n"}]}},
        "BAD_USER_INPUT",
    ),
    "user username with a trailing newline": (
        USER,
        lambda ids: {"i": {"username": "anna.keller\n", "displayName": "Anna"}},
        "BAD_USER_INPUT",
    ),
    "update name too long": (
        UPDATE,
        lambda ids: {"id": ids["company"], "i": {"name": LONG_NAME}},
        "BAD_USER_INPUT",
    ),
    "link role too long": (LINK, lambda ids: _link(ids, role=LONG_NAME), "BAD_USER_INPUT"),
    "link properties not finite": (
        LINK_LITERAL,
        lambda ids: {"from": ids["company"], "to": ids["other"]},
        "BAD_USER_INPUT",
    ),
    "link properties too deep": (
        LINK,
        lambda ids: _link(ids, properties=_nested(LIMITS.max_properties_depth + 1)),
        "BAD_USER_INPUT",
    ),
    "link properties too large": (
        LINK,
        lambda ids: _link(ids, properties={"x": "x" * LIMITS.max_properties_bytes}),
        "BAD_USER_INPUT",
    ),
    "link properties with a control character": (
        LINK,
        lambda ids: _link(ids, properties={"note": "bell\x07"}),
        "BAD_USER_INPUT",
    ),
    "activity body too long": (
        RECORD,
        lambda ids: _act(ids, body="x" * (LIMITS.max_text_length + 1)),
        "BAD_USER_INPUT",
    ),
    "activity body with a NUL": (RECORD, lambda ids: _act(ids, body="a\x00b"), "BAD_USER_INPUT"),
    "activity summary with a line break": (
        RECORD,
        lambda ids: _act(ids, summary="call\nback"),
        "BAD_USER_INPUT",
    ),
    "activity too many subjects": (
        RECORD,
        lambda ids: _act(ids, subjectIds=[ids["person"]] * 101),
        "BAD_USER_INPUT",
    ),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(module_graph_url: str) -> AsyncIterator[tuple[GraphQL, Ids]]:
    """One graph per backend for every case: a refused write leaves it as it was, which
    each case checks."""
    async for http in serve(Settings(create=True, graph_url=module_graph_url, rate_limit=0)):
        gql = GraphQL(http)
        yield gql, await _graph(gql)


async def _graph(gql: GraphQL) -> Ids:
    company = await org(gql, "Acme")
    await gql(UPDATE, {"id": company, "i": {"tags": ["v2"]}})
    person = await contact(gql, "Jana", "Petersen")
    other = await contact(gql, "Ole", "Hansen")
    archived = await contact(gql, "Old", "Client")
    await gql(ARCHIVE, {"id": archived})
    employs = await link(gql, "EMPLOYS", company, person, since="2020-01-01T00:00:00Z")
    return {
        "company": company,
        "person": person,
        "other": other,
        "archived": archived,
        "user": await user(gql, "anna"),
        "employs": employs["id"],
    }


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
async def test_bad_input_is_refused_and_writes_nothing(
    shared: tuple[GraphQL, Ids], case: str
) -> None:
    gql, graph = shared
    mutation, variables, code = CASES[case]
    before = await snapshot(gql)
    error = await gql.error(mutation, variables(graph))
    assert error["extensions"]["code"] == code, error
    assert error["message"]
    assert await snapshot(gql) == before


async def test_unexpected_errors_are_masked(shared: tuple[GraphQL, Ids]) -> None:
    """A query that cannot be parsed or validated still answers with a code, never a trace."""
    gql, _ = shared
    syntax = await gql.error("{ parties { ")
    assert syntax["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    unknown = await gql.error("{ nonsense }")
    assert unknown["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    literal = await gql.error('{ parties(first: "ten") { totalCount } }')
    assert literal["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
