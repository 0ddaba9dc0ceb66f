"""Requests, documents and inputs are bounded before they cost anything: each limit refused
with its code and numbers, its boundary value accepted, nothing written when refused."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from client import GRAPHIQL_INTROSPECTION, GraphQL, serve
from factories import CREATE_ORG, link, org, record, user
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.validation.rules.max_introspection_depth_rule import MAX_LIST_DEPTH
from live import PROTOCOLS, Subscriber, live_server

from contactgraph.config import Settings
from contactgraph.schema.cost import UNBOUNDED_LIST

LIMITS = Settings()
QUERY = "{ categories { id } }"
JSON_BODY = {"content-type": "application/json"}


def padded(size: int) -> bytes:
    """A valid request body of exactly `size` bytes (the padding rides in `extensions`)."""
    empty = json.dumps({"query": QUERY, "extensions": {"pad": ""}}).encode()
    body = json.dumps({"query": QUERY, "extensions": {"pad": "x" * (size - len(empty))}})
    return body.encode()


def refused(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["message"] and error["extensions"]["code"] == code, error
    return error


async def test_a_body_at_the_limit_is_read_and_one_byte_more_is_413(
    http: httpx.AsyncClient,
) -> None:
    limit = LIMITS.max_body_bytes
    at_limit = await http.post("/graphql", content=padded(limit), headers=JSON_BODY)
    assert at_limit.status_code == 200 and at_limit.json()["data"]["categories"]
    over = await http.post("/graphql", content=padded(limit + 1), headers=JSON_BODY)
    error = refused(over, 413, "LIMIT_EXCEEDED")
    assert error["extensions"]["limit"] == limit


async def test_bodies_are_read_no_further_than_the_limit(http: httpx.AsyncClient) -> None:
    """A declared size over the limit is refused unread; a chunked body, or one longer than
    its Content-Length, is refused once what arrived passes the limit."""
    chunk = 64 * 1024
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b" " * chunk

    most_chunks = LIMITS.max_body_bytes // chunk + 1
    for declared, most in [
        ({"content-length": str(100 * 2**20)}, 0),  # refused before reading
        ({}, most_chunks),  # chunked: no length given
        ({"content-length": "10"}, most_chunks),  # more arrives than was declared
    ]:
        pulled = 0
        response = await http.post("/graphql", content=endless(), headers={**JSON_BODY, **declared})
        refused(response, 413, "LIMIT_EXCEEDED")
        assert pulled <= most, declared


async def test_request_json_is_strict(http: httpx.AsyncClient) -> None:
    """NaN, infinities, numbers too large for a float, invalid UTF-8, lone surrogates and
    nesting past the limit are BAD_REQUEST, in the body and in GET parameters alike."""
    depth = LIMITS.max_json_depth
    at_limit = "[" * (depth - 2) + "]" * (depth - 2)  # in the body and `extensions` objects
    assert (await http.post("/graphql", content=_body(at_limit), headers=JSON_BODY)).is_success
    one_more = "[" * (depth - 1) + "]" * (depth - 1)
    refused(
        await http.post("/graphql", content=_body(one_more), headers=JSON_BODY), 400, "BAD_REQUEST"
    )
    for value in [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e999",
        '"\\ud800"',
        '{"\\udc00": 1}',
        "[" * depth + "]" * depth,
        "[" * 1000 + "]" * 1000,
    ]:
        post = await http.post("/graphql", content=_body(value), headers=JSON_BODY)
        refused(post, 400, "BAD_REQUEST")
        for param in ("variables", "extensions"):
            get = await http.get("/graphql", params={"query": QUERY, param: f'{{"v": {value}}}'})
            refused(get, 400, "BAD_REQUEST")
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000  # past the interpreter's recursion limit
    refused(await http.post("/graphql", content=_body(deep), headers=JSON_BODY), 400, "BAD_REQUEST")
    latin1 = json.dumps({"query": QUERY, "extensions": {"v": "é"}}).replace("\\u00e9", "é")
    refused(
        await http.post("/graphql", content=latin1.encode("latin-1"), headers=JSON_BODY),
        400,
        "BAD_REQUEST",
    )


def _body(value: str) -> bytes:
    return f'{{"query": "{QUERY}", "extensions": {{"v": {value}}}}}'.encode()


# -- documents: parsing, validation, and the measure taken before anything runs --------


async def test_tokens_and_length_are_counted_before_parsing_ends(gql: GraphQL) -> None:
    """Comments count as tokens: padding a document with them is no way around the limit."""
    base = "{ categories { id } }"
    padding = LIMITS.max_tokens - 6  # the six tokens of `base`
    assert (await gql(base + "\n#" * padding))["categories"]
    error = await gql.error(base + "\n#" * (padding + 1))
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": LIMITS.max_tokens}
    longest = base + " " * (LIMITS.max_document_length - len(base))
    assert (await gql(longest))["categories"]
    error = await gql.error(longest + " ")
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": LIMITS.max_document_length}
    nested = "{ categories(x: " + "[" * 300 + "]" * 300 + ") { id } }"
    error = await gql.error(nested)
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": MAX_NESTING_DEPTH}


async def test_a_document_kept_parsed_is_held_to_each_servers_limits(graph_url: str) -> None:
    """Documents are parsed once and kept by their text and limits (schema/parsing.py): one
    a server with room for it parsed is still refused by a server whose limit it passes."""
    document = "{ categories { id } }" + "\n#" * 100
    async for roomy in serve(Settings(create=True, graph_url=graph_url, max_tokens=200)):
        assert (await GraphQL(roomy)(document))["categories"] is not None
        async for tight in serve(Settings(create=True, graph_url=graph_url, max_tokens=50)):
            error = await GraphQL(tight).error(document)
            assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": 50}
        assert (await GraphQL(roomy)(document))["categories"] is not None


def _chain(levels: int) -> str:
    """A query whose fields nest `levels` deep, one item per list (so it costs little)."""
    pairs, rest = divmod(levels - 2, 2)
    inner = "category { id }" if rest else "id"
    return (
        "query($id: ID!) { party(id: $id) { "
        + "network(limit: 1) { nodes { " * pairs
        + inner
        + " } }" * pairs
        + " } }"
    )


async def test_fields_nest_no_deeper_than_the_limit(gql: GraphQL) -> None:
    party = await org(gql, "Acme")
    limit = LIMITS.max_query_depth
    assert (await gql(_chain(limit), {"id": party}))["party"]["network"]
    error = await gql.error(_chain(limit + 1), {"id": party})
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": limit}
    # introspection counts too (Strawberry's QueryDepthLimiter skips it)
    deep = '{ __type(name: "Party") { ' + "ofType { " * limit + "name" + " }" * limit + " } }"
    assert (await gql.error(deep))["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": limit}
    # and graphql-core's own bound on nested introspection lists is coded as a limit
    lists = '{ __type(name: "Party") { ' + "fields { type { " * 4 + "name" + " } }" * 4 + " } }"
    error = await gql.error(lists)
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": MAX_LIST_DEPTH}


async def test_aliases_are_counted_through_fragments(gql: GraphQL) -> None:
    limit = LIMITS.max_aliases
    aliased = " ".join(f"a{i}: __typename" for i in range(limit))
    assert len(await gql("{ " + aliased + " }")) == limit
    error = await gql.error("{ " + aliased + " one_more: __typename }")
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "aliases": limit + 1, "limit": limit}
    # a fragment counts wherever it runs: twice here, but once when spread twice in one place
    thirty = "fragment Thirty on Party { " + " ".join(f"b{i}: id" for i in range(30)) + " }"
    twice = "{ parties { edges { node { ...Thirty relationships { from { ...Thirty } } } } } }"
    error = await gql.error(f"{twice} {thirty}")
    assert error["extensions"]["aliases"] == 60
    once = "{ parties { edges { node { ...Thirty ...Thirty } } } }"
    assert len((await gql(f"{once} {thirty}"))["parties"]["edges"]) == 1  # the admin
    # a refused mutation writes nothing
    ids = " ".join(f"a{i}: id" for i in range(limit + 1))
    await gql.error(f'mutation {{ createContact(input: {{lastName: "X"}}) {{ {ids} }} }}')
    organizations = "{ parties(filter: {kinds: [ORGANIZATION, CONTACT]}) { totalCount } }"
    assert (await gql(organizations))["parties"]["totalCount"] == 0


PAGE_OF_RELATIONSHIPS = (
    "query($n: Int) { parties(first: $n) { edges { node { relationships { id } } } } }"
)
FULL_PAGE_INLINE = "{ parties(first: 500) { edges { node { relationships { id } } } } }"


def relationships_cost(page: int) -> int:
    """`parties` once, and per edge: the edge, its node, and UNBOUNDED_LIST relationships
    of two fields each (the relationship and its id)."""
    return 1 + page * (1 + 1 + UNBOUNDED_LIST * 2)


async def test_cost_multiplies_list_sizes_with_variables_coerced(graph_url: str) -> None:
    limit = relationships_cost(LIMITS.max_page_size)
    async for http in serve(Settings(create=True, graph_url=graph_url, max_cost=limit)):
        at_limit = await GraphQL(http)(PAGE_OF_RELATIONSHIPS, {"n": LIMITS.max_page_size})
        assert at_limit["parties"]["edges"] == [{"node": {"relationships": []}}]  # the admin
    async for http in serve(Settings(create=True, graph_url=graph_url, max_cost=limit - 1)):
        gql = GraphQL(http)
        error = await gql.error(PAGE_OF_RELATIONSHIPS, {"n": LIMITS.max_page_size})
        assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "cost": limit, "limit": limit - 1}
        assert (await gql.error(FULL_PAGE_INLINE))["extensions"]["cost"] == limit
        # smaller pages cost less; without `first`, a page is the default size
        assert await gql(PAGE_OF_RELATIONSHIPS, {"n": LIMITS.max_page_size - 1})
        assert await gql(PAGE_OF_RELATIONSHIPS, {})
        # a page past its ceiling counts as the ceiling: the resolver says why it is refused
        past = await gql.error(PAGE_OF_RELATIONSHIPS, {"n": 10**6})
        assert past["extensions"]["cost"] == limit


async def test_the_merge_check_of_repeated_fields_is_bounded(gql: GraphQL) -> None:
    repeated = "{ " + "categories { id } " * 100 + "}"
    error = await gql.error(repeated)
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": LIMITS.max_merge_work}
    assert (await gql("{ " + "categories { id } " * 10 + "}"))["categories"]


async def test_graphiql_introspection_passes(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": GRAPHIQL_INTROSPECTION})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body and body["data"]["__schema"]["types"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_limits_hold_over_websocket(graph_url: str, protocol: str) -> None:
    aliases = " ".join(f"a{i}: summary" for i in range(LIMITS.max_aliases + 1))
    feed = "subscription($id: ID!) { activityAdded(subjectId: $id) { %s } }"
    past = {"code": "LIMIT_EXCEEDED"}
    cases = [  # a document past a limit at parse, before execution, and a bad argument
        (feed % "id" + "\n#" * LIMITS.max_tokens, {"id": "x"}, past),
        (feed % aliases, {"id": "x"}, {**past, "aliases": LIMITS.max_aliases + 1}),
        (feed % "id", {"id": "x" * (LIMITS.max_string_length + 1)}, {"code": "BAD_USER_INPUT"}),
    ]
    async with live_server(Settings(create=True, graph_url=graph_url)) as address:
        for document, variables, expected in cases:
            async with Subscriber.connect(address, protocol) as sub:
                [error] = (await sub.next(await sub.subscribe(document, variables)))["errors"]
                assert expected.items() <= error["extensions"].items(), error


# -- argument values: checked before any resolver runs ----------------------------------

READ_BACK = """query($id: ID!) { party(id: $id) {
  displayName tags
  relationships { properties }
  timeline { edges { node { body } } }
} }"""
UPDATE = """mutation($id: ID!, $input: UpdatePartyInput!, $v: Int) {
  updateParty(id: $id, input: $input, expectedVersion: $v) { version updatedAt displayName }
}"""


async def test_values_at_their_limits_are_stored_and_read_back(gql: GraphQL) -> None:
    name = "N" * LIMITS.max_string_length
    tags = [f"t{n}" for n in range(LIMITS.max_list_length)]
    company = await org(gql, name, tags=tags)
    other = await org(gql, "Other")
    properties: dict[str, object] = {"share": 0.25, "since": 1999, "note": "ü"}
    for _ in range(LIMITS.max_properties_depth - 1):
        properties = {"inner": properties}
    await link(gql, "KNOWS", company, other, properties=properties)
    body = ("a line\twith a tab\r\n" * LIMITS.max_text_length)[: LIMITS.max_text_length]
    await record(gql, await user(gql, "anna.keller"), [company], "2025-01-01T00:00:00Z", body=body)
    party = (await gql(READ_BACK, {"id": company}))["party"]
    assert party["displayName"] == name and party["tags"] == tags
    assert party["relationships"][0]["properties"] == properties
    assert party["timeline"]["edges"][0]["node"]["body"] == body


async def test_bad_values_name_the_field_and_why_and_write_nothing(gql: GraphQL) -> None:
    emails = [{"address": "a@example.com"}, {"address": "b@example.com\x00"}]
    error = await gql.error(CREATE_ORG, {"input": {"name": "Acme", "emails": emails}})
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "createOrganization.input.emails[1].address" in error["message"]
    assert "U+0000" in error["message"]
    error = await gql.error(CREATE_ORG, {"input": {"name": "x" * 10_000}})
    assert "createOrganization.input.name is 10000 characters long; at most" in error["message"]
    # two mutations in one request: the good one is not written either
    both = """mutation($good: CreateOrganizationInput!, $bad: CreateOrganizationInput!) {
      good: createOrganization(input: $good) { id } bad: createOrganization(input: $bad) { id }
    }"""
    error = await gql.error(both, {"good": {"name": "Good"}, "bad": {"name": "Bad\x1b"}})
    assert "bad" not in error["message"] and "U+001B" in error["message"]
    organizations = "{ parties(filter: {kinds: [ORGANIZATION, CONTACT]}) { totalCount } }"
    assert (await gql(organizations))["parties"]["totalCount"] == 0


async def test_lists_in_queries_are_bounded_too(gql: GraphQL) -> None:
    too_many = [f"c{n}" for n in range(LIMITS.max_list_length + 1)]
    query = "query($ids: [ID!]) { parties(filter: {categoryIds: $ids}) { totalCount } }"
    error = await gql.error(query, {"ids": too_many})
    assert "parties.filter.categoryIds has 101 items" in error["message"]
    assert (await gql(query, {"ids": too_many[:-1]}))["parties"]["totalCount"] == 0
    types = (
        "query($t: [RelType!]) { parties { edges { node { relationships(types: $t) { id } } } } }"
    )
    error = await gql.error(types, {"t": ["KNOWS"] * (LIMITS.max_list_length + 1)})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


SEARCH = "query($s: String) { parties(search: $s) { edges { node { displayName } } } }"


async def test_searches_are_bounded_in_words_and_word_length(gql: GraphQL) -> None:
    await org(gql, "Nordwind Logistics")
    most = " ".join(["nord"] * LIMITS.max_search_terms)
    assert len((await gql(SEARCH, {"s": most}))["parties"]["edges"]) == 1
    error = await gql.error(SEARCH, {"s": most + " logistics"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"{LIMITS.max_search_terms + 1} words" in error["message"]
    longest = "n" * LIMITS.max_search_term_length
    assert (await gql(SEARCH, {"s": longest}))["parties"]["edges"] == []
    error = await gql.error(SEARCH, {"s": longest + "n"})
    assert "characters long" in error["message"]


def _cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode()


DESCENDANTS = """query($id: ID!, $after: String) {
  party(id: $id) { descendants(first: 1, after: $after) {
    pageInfo { endCursor } edges { node { party { displayName } } } } } }"""
TIMELINE = """query($id: ID!, $after: String) {
  party(id: $id) { timeline(first: 1, after: $after) {
    pageInfo { endCursor } edges { node { summary } } } } }"""


async def test_forged_or_out_of_range_cursors_are_bad_input(gql: GraphQL) -> None:
    company = await org(gql, "Acme")
    for unit in ("North", "South"):
        await link(gql, "PART_OF", await org(gql, unit), company)
    anna = await user(gql, "anna")
    for summary in ("first", "second"):
        await record(gql, anna, [company], "2025-01-01T00:00:00Z", summary=summary)
    # the cursors the server made page on
    for query, field in [(DESCENDANTS, "descendants"), (TIMELINE, "timeline")]:
        page = (await gql(query, {"id": company}))["party"][field]
        after = page["pageInfo"]["endCursor"]
        following = (await gql(query, {"id": company, "after": after}))["party"][field]
        assert following["edges"] and following["edges"] != page["edges"]
    forged = [
        (DESCENDANTS, _cursor("²", company)),  # a digit, but not an ASCII one
        (DESCENDANTS, _cursor("9" * 30, company)),  # past any integer column
        (DESCENDANTS, _cursor(str(LIMITS.max_depth + 1), company)),  # deeper than walks go
        (DESCENDANTS, _cursor("-1", company)),
        (TIMELINE, _cursor("yesterday", company)),
        (TIMELINE, _cursor("2025-13-01T00:00:00.000000+00:00", company)),
        (TIMELINE, _cursor("2025-01-01T00:00:00Z", company)),  # not the stored form
        (TIMELINE, "not base64 at all"),
    ]
    for query, cursor in forged:
        error = await gql.error(query, {"id": company, "after": cursor})
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (cursor, error)


async def test_an_update_that_changes_nothing_keeps_the_version(gql: GraphQL) -> None:
    company = await org(gql, "Acme", tags=["a"])
    before = (await gql(UPDATE, {"id": company, "input": {"tags": ["a"]}}))["updateParty"]
    assert before["version"] == 1
    empty = (await gql(UPDATE, {"id": company, "input": {}}))["updateParty"]
    same = (await gql(UPDATE, {"id": company, "input": {"name": "Acme"}, "v": 1}))["updateParty"]
    assert empty == same == before
    stale = await gql.error(UPDATE, {"id": company, "input": {}, "v": 2})
    assert stale["extensions"]["code"] == "CONFLICT"
    changed = (await gql(UPDATE, {"id": company, "input": {"name": "Acme AG"}}))["updateParty"]
    assert changed["version"] == 2 and changed["displayName"] == "Acme AG"
