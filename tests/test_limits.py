"""Requests, documents and inputs are bounded before they cost anything: each limit refused
with its code and numbers, its boundary value accepted, nothing written when refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from contactgraph.config import Settings

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
