"""Requests, documents and inputs are bounded before they cost anything: each limit refused
with its code and numbers, its boundary value accepted, nothing written when refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from client import GraphQL, serve
from factories import org
from graphql import get_introspection_query
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
    assert (await gql(f"{once} {thirty}"))["parties"]["edges"] == []


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
        assert at_limit["parties"]["edges"] == []
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
    repeated = "{ " + "categories { id } " * 150 + "}"
    error = await gql.error(repeated)
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": LIMITS.max_merge_work}
    assert (await gql("{ " + "categories { id } " * 10 + "}"))["categories"]


async def test_graphiql_introspection_passes(http: httpx.AsyncClient) -> None:
    full = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
        one_of=True,
    )
    response = await http.post("/graphql", json={"query": full})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body and body["data"]["__schema"]["types"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_limits_hold_over_websocket(graph_url: str, protocol: str) -> None:
    aliases = " ".join(f"a{i}: summary" for i in range(LIMITS.max_aliases + 1))
    aliased = f'subscription {{ activityAdded(subjectId: "x") {{ {aliases} }} }}'
    padded = 'subscription { activityAdded(subjectId: "x") { id } }' + "\n#" * LIMITS.max_tokens
    async with (
        live_server(Settings(create=True, graph_url=graph_url)) as address,
        Subscriber.connect(address, protocol) as sub,
    ):
        op = await sub.subscribe(aliased)
        [error] = (await sub.next(op))["errors"]
        assert error["extensions"]["aliases"] == LIMITS.max_aliases + 1
        await sub.completed(op)
        [error] = (await sub.next(await sub.subscribe(padded)))["errors"]
        assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": LIMITS.max_tokens}
