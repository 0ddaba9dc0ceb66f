"""GraphQL over HTTP as the spec and third-party clients expect it."""

from __future__ import annotations

import json
import os

import httpx

RESPONSE_TYPE = "application/graphql-response+json"
QUERY = "{ categories { id } }"


async def test_post_json_answers_in_json_by_default(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": QUERY})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert len(response.json()["data"]["categories"]) >= 6


async def test_accept_negotiates_the_response_type(http: httpx.AsyncClient) -> None:
    for accept, expected in [
        (RESPONSE_TYPE, RESPONSE_TYPE),
        (f"{RESPONSE_TYPE}, application/json;q=0.9", RESPONSE_TYPE),
        (f"application/json, {RESPONSE_TYPE}", "application/json"),
        (f"application/json;q=0.5, {RESPONSE_TYPE}", RESPONSE_TYPE),
        ("*/*", "application/json"),
    ]:
        response = await http.post("/graphql", json={"query": QUERY}, headers={"accept": accept})
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == expected, accept
    refused = await http.post("/graphql", json={"query": QUERY}, headers={"accept": "text/csv"})
    assert refused.status_code == 406


async def test_get_runs_queries_with_variables(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={
            "query": "query Q($s: String) { parties(search: $s) { totalCount } }",
            "variables": json.dumps({"s": "nobody"}),
            "operationName": "Q",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"parties": {"totalCount": 0}}}


async def test_get_refuses_mutations_with_405(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={"query": 'mutation { createContact(input: {lastName: "X"}) { id } }'},
        headers={"accept": RESPONSE_TYPE},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["message"]
    listed = await http.post(
        "/graphql", json={"query": "{ parties(filter: {kinds: [CONTACT]}) { totalCount } }"}
    )
    assert listed.json()["data"]["parties"]["totalCount"] == 0


async def test_malformed_requests_are_400_with_a_graphql_error(http: httpx.AsyncClient) -> None:
    for body in [
        b"{not json",
        b"[1, 2]",
        b'{"query": 42}',
        b'{"variables": {}}',
        b'{"query": "{ categories { id } }", "variables": [1]}',
    ]:
        response = await http.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, body
        error = response.json()["errors"][0]
        assert error["message"] and error["extensions"]["code"] == "BAD_REQUEST"
    bad_variables = await http.get("/graphql", params={"query": QUERY, "variables": "{oops"})
    assert bad_variables.status_code == 400


async def test_post_needs_a_json_content_type(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", content=QUERY, headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_request_errors_are_400_under_the_graphql_response_type(
    http: httpx.AsyncClient,
) -> None:
    for query in ["{ parties { ", "{ nonsense }"]:
        strict = await http.post(
            "/graphql", json={"query": query}, headers={"accept": RESPONSE_TYPE}
        )
        assert strict.status_code == 400
        assert "data" not in strict.json()
        legacy = await http.post("/graphql", json={"query": query})
        assert legacy.status_code == 200
        assert "data" not in legacy.json() and legacy.json()["errors"]
    variables = await http.post(
        "/graphql",
        json={"query": "query($d: DateTime!) { party(id: $d) { id } }", "variables": {"d": 1}},
        headers={"accept": RESPONSE_TYPE},
    )
    assert variables.status_code == 400


async def test_field_errors_keep_data_and_status_200(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql",
        json={"query": 'mutation { archiveParty(id: "nope") { id } }'},
        headers={"accept": RESPONSE_TYPE},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["archiveParty"]
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_operation_name_selects_and_unknown_names_are_400(http: httpx.AsyncClient) -> None:
    document = (
        "query A { categories { id } } "
        "query B { parties(filter: {kinds: [CONTACT]}) { totalCount } }"
    )
    chosen = await http.post("/graphql", json={"query": document, "operationName": "B"})
    assert chosen.json() == {"data": {"parties": {"totalCount": 0}}}
    unknown = await http.post("/graphql", json={"query": document, "operationName": "C"})
    assert unknown.status_code == 400
    ambiguous = await http.post(
        "/graphql", json={"query": document}, headers={"accept": RESPONSE_TYPE}
    )
    assert ambiguous.status_code == 400
    assert "operationName" in ambiguous.json()["errors"][0]["message"]


async def test_browsers_get_graphiql(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_other_methods_are_405(http: httpx.AsyncClient) -> None:
    response = await http.put("/graphql", json={"query": QUERY})
    assert response.status_code == 405


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    health = {"status": "ok", "process": os.getpid(), "subscribers": 0, "executions": 0}
    assert (await http.get("/healthz")).json() == health  # served in this process
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
