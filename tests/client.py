"""The GraphQL client of the tests: HTTP against the app, in-process or over a socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from access import admin_secret, bearer, with_demo_token
from graphql import get_introspection_query

from contactgraph.app import create_app
from contactgraph.config import Settings

GRAPHIQL_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
    one_of=True,
)
"""What GraphiQL asks when it opens: everything introspection tells."""


class GraphQL:
    """Posts GraphQL over HTTP the way a client does."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of a request that must succeed."""
        response = await self.raw(query, variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The single error of a request that must fail, with a code and no stack trace."""
        response = await self.raw(query, variables)
        body = response.json()
        assert len(body.get("errors", ())) == 1, body
        error = body["errors"][0]
        assert "code" in error.get("extensions", {}), error
        assert "Traceback" not in response.text and "stacktrace" not in response.text
        return error


async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, and a client signed in as an administrator: the demo's when the
    graph is the demo, else a user `admin` made for the test."""
    settings = with_demo_token(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        secret = settings.demo_token or await admin_secret(app.state.store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost", headers=bearer(secret)
        ) as http:
            yield http
