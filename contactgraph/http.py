"""GraphQL over HTTP, as the GraphQL-over-HTTP specification lays it out.

Strawberry's own view answers request errors in plain text and always with
application/json; third-party clients expect the spec: content negotiation
with application/graphql-response+json, 4xx with a GraphQL error body for a
request that cannot run, and mutations only over POST. A body is read only up
to its limit and must be strict JSON (strictjson.py), so neither a huge nor a
deeply nested request costs memory or a RecursionError.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode
from starlette.requests import Request
from starlette.responses import Response
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from .access.authenticator import Authenticator
from .access.rate import RateLimiter
from .access.viewer import Viewer
from .config import Settings
from .graph import deadlines
from .graph.errors import GraphError, RateLimited, Unauthenticated
from .observability import metrics, requests
from .resolvers.context import Context
from .schema.build import Schema
from .schema.parsing import parsed
from .strictjson import JSONError, loads
from .web import pages

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_OFFERED = (GRAPHQL_RESPONSE, JSON)
# seconds past --request-timeout before an operation is cancelled outright: the store stops
# at the deadline and the operation then ends with TIMEOUT errors well within this
OVERRUN = 1.0
CLIENT_GONE = "CLIENT_CLOSED_REQUEST"  # the outcome of a request whose client left (499)


class RequestError(Exception):
    """A request that cannot be executed at all: answered with an HTTP error status."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        extensions: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extensions = extensions or {"code": "BAD_REQUEST"}


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when the client accepts neither."""
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        chosen = media if media in _OFFERED else JSON if media in ("*/*", "application/*") else None
        if chosen and quality > 0 and (best is None or (quality, -position) > best[:2]):
            best = (quality, -position, chosen)
    return best[2] if best else None


def _wants_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept and "query" not in request.query_params


def _json_param(raw: str | None, name: str, max_depth: int) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return loads(raw, max_depth, f"the {name} parameter")
    except JSONError as error:
        raise RequestError(400, str(error)) from None


def _too_large(limit: int) -> RequestError:
    return RequestError(
        413,
        f"the request body is larger than {limit} bytes",
        extensions={"code": "LIMIT_EXCEEDED", "limit": limit},
    )


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused once it passes `limit` bytes: at once when Content-Length says
    so, else as soon as what arrives (chunked, or more than was declared) passes it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


async def _params(request: Request, settings: Settings) -> dict[str, Any]:
    depth = settings.max_json_depth
    if request.method == "GET":
        query = request.query_params
        return {
            "query": query.get("query"),
            "variables": _json_param(query.get("variables"), "variables", depth),
            "operationName": query.get("operationName"),
            "extensions": _json_param(query.get("extensions"), "extensions", depth),
        }
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise RequestError(415, "POST a JSON body with Content-Type: application/json")
    try:
        body = loads(await _body(request, settings.max_body_bytes), depth, "the request body")
    except JSONError as error:
        raise RequestError(400, str(error)) from None
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    return body


def _check(
    params: dict[str, Any], settings: Settings
) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, name = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "a request needs a `query` string")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be a JSON object")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, "`operationName` must be a string")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be a JSON object")
    if name is None and _operation_count(query, settings) > 1:
        raise RequestError(400, "the document holds several operations: give an operationName")
    return query, variables, name


def _operation_count(query: str, settings: Settings) -> int:
    """How many operations a document holds; 0 when it does not parse within the limits
    (execution then says why). Strawberry runs the first of several operations when no
    operationName is given, so the spec's refusal is made here."""
    try:
        document = parsed(query, settings.max_tokens, settings.max_document_length)
    except GraphQLError:
        return 0
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def _overran(seconds: float) -> GraphQLError:
    return GraphQLError(
        f"the request took longer than its {seconds:g} s limit (--request-timeout) and was stopped",
        path=[],
        extensions={"code": "TIMEOUT"},
    )


def _encode(body: dict[str, Any]) -> bytes:
    """orjson writes a large answer several times faster than json; a lone surrogate (an
    error message may quote one from a query's string literal) it refuses, json escapes."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":")).encode()


def _respond(
    body: dict[str, Any], status: int, media: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        _encode(body),
        status_code=status,
        media_type=f"{media}; charset=utf-8",
        headers=headers,
    )


def request_error(error: RequestError, media: str = JSON) -> Response:
    body = {"errors": [{"message": error.message, "extensions": error.extensions}]}
    return _respond(body, error.status, media, error.headers)


def _refused(error: RequestError, media: str) -> tuple[Response, str]:
    return request_error(error, media), metrics.outcome(error.extensions.get("code"))


async def _disconnected(request: Request) -> None:
    """Return once the client has gone (the body is read by now, or there was none)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def signed_in(
    authenticator: Authenticator,
    limiter: RateLimiter,
    request: Request,
    settings: Settings,
    authorization: str | None = None,
) -> Viewer:
    """Who sent the request (by `authorization`, else its Authorization header); 401
    without a valid credential, 429 past the viewer's rate limit (neither costs any
    parsing)."""
    credential = authorization or request.headers.get("authorization")
    try:
        with deadlines.limit(settings.request_timeout):
            viewer = await authenticator.viewer(credential)
        limiter.admit(viewer)
    except RateLimited as error:
        wait = str(error.retry_after)
        raise RequestError(
            429,
            error.message,
            {"Retry-After": wait},
            {"code": error.code, "retryAfter": error.retry_after},
        ) from None
    except Unauthenticated as error:
        raise RequestError(
            401,
            error.message,
            {"WWW-Authenticate": 'Bearer realm="contactgraph"'},
            {"code": error.code},
        ) from None
    except GraphError as error:  # the store could not say who this is
        raise RequestError(503, error.message, {"Retry-After": "1"}, {"code": error.code}) from None
    return viewer


class GraphQLEndpoint:
    """The /graphql route for GET and POST."""

    def __init__(
        self,
        schema: Schema,
        settings: Settings,
        make_context: Callable[[Request], Context],
        authenticator: Authenticator,
        limiter: RateLimiter,
    ) -> None:
        self._schema = schema
        self._settings = settings
        self._make_context = make_context
        self._authenticator = authenticator
        self._limiter = limiter

    async def _signed_in(self, request: Request) -> Context:
        """The request's context, signed in before the body is read."""
        context = self._make_context(request)
        viewer = await signed_in(self._authenticator, self._limiter, request, self._settings)
        context.sign_in(viewer)
        return context

    async def _run(
        self, request: Request, execution: Coroutine[Any, Any, ExecutionResult]
    ) -> ExecutionResult | None:
        """Run an operation until it ends, its client goes away (then it is cancelled, and
        the store work behind it stops: graph/deadlines.py), or well past its time limit,
        should Python work between store calls outlast the deadline the store honours."""
        running = asyncio.ensure_future(execution)
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait(
                {running, gone},
                timeout=self._settings.request_timeout + OVERRUN,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            gone.cancel()
        if running.done():
            return running.result()
        running.cancel()
        with suppress(asyncio.CancelledError):
            await running
        if gone.done() and not gone.cancelled():
            return None
        return ExecutionResult(data=None, errors=[_overran(self._settings.request_timeout)])

    async def handle(self, request: Request) -> Response:
        if _wants_ide(request):
            return pages.graphiql(self._settings.ide_token)
        record = requests.current()
        response, outcome = await self._answer(request, record)
        if record is not None:  # for the access line and the metrics (requests.py)
            record.operation = record.operation or metrics.UNKNOWN
            record.outcome = outcome
        return response

    async def _answer(
        self, request: Request, record: requests.RequestRecord | None
    ) -> tuple[Response, str]:
        """The response, and the outcome the metrics count it under."""
        media = negotiate(request.headers.get("accept"))
        if media is None:
            return _refused(RequestError(406, f"accept {GRAPHQL_RESPONSE} or {JSON}"), JSON)
        try:
            context = await self._signed_in(request)
            params = await _params(request, self._settings)
            query, variables, name = _check(params, self._settings)
            if record is not None:  # Observed (operations.py) names it once it is parsed
                record.name(name)
            allowed = {OperationType.QUERY}
            if request.method == "POST":
                allowed.add(OperationType.MUTATION)
            result = await self._run(
                request,
                self._schema.execute(
                    query,
                    variable_values=variables,
                    context_value=context,
                    operation_name=name,
                    allowed_operation_types=allowed,
                ),
            )
            if result is None:  # the client went away: nobody reads an answer
                return Response(status_code=499), CLIENT_GONE
        except RequestError as error:
            return _refused(error, media)
        except InvalidOperationTypeError as error:
            if request.method == "GET" and error.operation_type is OperationType.MUTATION:
                return _refused(
                    RequestError(405, "mutations are sent with POST", {"Allow": "POST"}), media
                )
            return _refused(RequestError(400, "subscriptions are served over WebSocket"), media)
        except CannotGetOperationTypeError as error:
            return _refused(RequestError(400, error.as_http_error_reason()), media)

        errors: list[GraphQLError] = result.errors or []
        body: dict[str, Any] = {}
        # a request error (parse, validation, variables) never started execution: no data key
        request_failed = (
            result.data is None and bool(errors) and all(e.path is None for e in errors)
        )
        if not request_failed:
            body["data"] = result.data
        if errors:
            body["errors"] = [e.formatted for e in errors]
        if result.extensions:
            body["extensions"] = result.extensions
        status = 400 if request_failed and media == GRAPHQL_RESPONSE else 200
        return _respond(body, status, media), metrics.first_code(body.get("errors"))
