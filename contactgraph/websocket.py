"""GraphQL over WebSocket on /graphql: graphql-transport-ws and the legacy graphql-ws.

Strawberry's ASGI app speaks both protocols (the client's Sec-WebSocket-Protocol
picks one); this endpoint gives it the server's context and its bounds. One
context serves a whole connection, so subscriptions refresh its loaders per
event. Browsers may connect from the server's own origin and those `--cors-origin`
names only (origins.py); a page elsewhere is refused with 403 before anything runs.

A connection signs in with the credential in connection_init's payload (an
`Authorization` key in any case) or, failing that, the upgrade request's
Authorization header; without a valid one it is closed with 4401 (the legacy
protocol first gets a connection_error with the code). Under
--insecure-anonymous-admin, a connection that names no credential at all signs in
as the anonymous administrator; one naming a bad one is still closed.

Bounds, so idle or greedy sockets cannot pile up: `connection_init` must come
within a time limit on both protocols (Strawberry enforces it for
graphql-transport-ws only; the legacy handler here adds it), a socket runs at
most a set number of operations at once (refused with a coded error, where
Strawberry's own refusal carries no code), each operation started counts against
its viewer's --rate-limit (over it, that operation alone is refused with
RATE_LIMITED), the server holds at most a set
number of live feeds (the subscription resolver refuses more), and uvicorn
pings idle sockets and refuses messages over the size limit (close code 1009);
see `server_options`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from .access.credentials import authorization_in
from .access.rate import RateLimiter
from .config import Settings
from .fanout import Fanout, Listener, frame_text
from .graph import deadlines
from .graph.errors import GraphError, RateLimited, Unauthenticated
from .origins import refusal
from .resolvers.context import Context
from .schema.build import Schema

INIT_TIMEOUT_CODE = 4408  # graphql-transport-ws's code, used for the legacy protocol too
UNAUTHENTICATED_CODE = 4401
UNAVAILABLE_CODE = 1013  # "try again later"


async def _sign_in(context: Context, payload: object) -> tuple[int, str] | None:
    """Sign the connection's context in with the credential of connection_init's payload,
    else of the upgrade request; the close code and reason when it cannot be."""
    given = authorization_in(payload) if isinstance(payload, dict) else None
    if given is None and _names_authorization(payload):
        given = ""  # a credential that is not a string is a bad one, not none at all
    try:
        with deadlines.limit(context.settings.request_timeout):
            viewer = await context.authenticator.viewer(
                given if given is not None else context.authorization
            )
    except Unauthenticated as error:
        return UNAUTHENTICATED_CODE, error.message
    except GraphError as error:  # the store could not say who this is
        return UNAVAILABLE_CODE, error.code
    context.sign_in(viewer)
    return None


def _names_authorization(payload: object) -> bool:
    return isinstance(payload, dict) and any(
        isinstance(key, str) and key.lower() == "authorization" for key in payload
    )


def _rate_limited(context: Context, limiter: RateLimiter) -> dict[str, Any] | None:
    """The error refusing an operation its viewer has no budget left for, if so."""
    if context.signed_in is None:
        return None
    try:
        limiter.admit(context.signed_in)
    except RateLimited as error:
        return {
            "message": error.message,
            "extensions": {"code": error.code, "retryAfter": error.retry_after},
        }
    return None


def _too_many(limit: int) -> dict[str, Any]:
    return {
        "message": f"this connection already runs {limit} operations, the most it may",
        "extensions": {"code": "LIMIT_EXCEEDED", "limit": limit},
    }


def _listener(context: Context, backlog: int) -> Listener:
    return Listener(context.viewer.id, backlog)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    limit: int
    limiter: RateLimiter
    fanout: Fanout
    backlog: int

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if not self.connection_init_received and not self.connection_timed_out:
            refused = await _sign_in(self.context, message.get("payload"))
            if refused is not None:
                self.connection_init_received = True
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                await self.websocket.close(code=refused[0], reason=refused[1])
                return
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and len(self.operations) >= self.limit:
            error = {"id": message["id"], "type": "error", "payload": [_too_many(self.limit)]}
            await self.send_message(error)  # type: ignore[arg-type]
            return
        if self.connection_acknowledged:
            limited = _rate_limited(self.context, self.limiter)
            if limited is not None:
                error = {"id": message["id"], "type": "error", "payload": [limited]}
                await self.send_message(error)  # type: ignore[arg-type]
                return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """A subscription joins the broadcast of its kind; queries and mutations run."""
        query, name, variables = operation.query, operation.operation_name, operation.variables
        key = self.fanout.key(query, name, variables, self.context)
        if key is None:
            return await super().run_operation(operation)
        listener = _listener(self.context, self.backlog)
        self.fanout.join(key, self.context, listener)
        try:
            async for outcome in listener.outcomes():
                message: dict[str, Any] = {"id": operation.id, "type": "complete"}
                if outcome.errors is not None:
                    message = {"id": operation.id, "type": "error", "payload": outcome.errors}
                elif outcome.payload is not None:
                    message = {"id": operation.id, "type": "next", "payload": outcome.payload}
                await operation.send_operation_message(message)  # type: ignore[arg-type]
        except WebSocketDisconnected:
            pass
        finally:
            self.fanout.leave(listener)
        return None


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    limit: int
    limiter: RateLimiter
    init_timeout: float
    fanout: Fanout
    backlog: int

    async def handle(self) -> None:
        waiting = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        finally:
            waiting.cancel()
            with suppress(asyncio.CancelledError):
                await waiting

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(self.init_timeout)
        if not self.connection_acknowledged:
            reason = "Connection initialisation timeout"
            await self.websocket.close(code=INIT_TIMEOUT_CODE, reason=reason)

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        if not self.connection_acknowledged:
            refused = await _sign_in(self.context, message.get("payload"))
            if refused is not None:
                code = "UNAUTHENTICATED" if refused[0] == UNAUTHENTICATED_CODE else refused[1]
                error = {"message": refused[1], "extensions": {"code": code}}
                await self.send_message({"type": "connection_error", "payload": error})
                await self.websocket.close(code=refused[0], reason=refused[1])
                return
        await super().handle_connection_init(message)

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged and len(self.tasks) >= self.limit:
            error = {"type": "error", "id": message["id"], "payload": _too_many(self.limit)}
            await self.send_message(error)  # type: ignore[arg-type]
            return
        if self.connection_acknowledged:
            limited = _rate_limited(self.context, self.limiter)
            if limited is not None:
                error = {"type": "error", "id": message["id"], "payload": limited}
                await self.send_message(error)  # type: ignore[arg-type]
                return
        await super().handle_start(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        """A subscription joins the broadcast of its kind; queries and mutations run."""
        key = self.fanout.key(query, operation_name, variables, self.context)
        if key is None:
            await super().handle_async_results(operation_id, query, operation_name, variables)
            return None
        listener = _listener(self.context, self.backlog)
        self.fanout.join(key, self.context, listener)
        try:
            async for outcome in listener.outcomes():
                message: dict[str, Any] = {"type": "complete", "id": operation_id}
                if outcome.errors is not None:
                    message = {"type": "error", "id": operation_id, "payload": outcome.errors[0]}
                elif outcome.payload is not None:
                    message = {"type": "data", "id": operation_id, "payload": outcome.payload}
                await self.send_message(message)  # type: ignore[arg-type]
        except asyncio.CancelledError:  # stopped: told so, as Strawberry's own handler does
            with suppress(WebSocketDisconnected):
                await self.send_message({"type": "complete", "id": operation_id})
        except WebSocketDisconnected:
            pass
        finally:
            self.fanout.leave(listener)
            self.tasks.pop(operation_id, None)
        return None


class SubscriptionEndpoint(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Schema,
        make_context: Callable[[HTTPConnection], Context],
        settings: Settings,
        limiter: RateLimiter,
        fanout: Fanout,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            keep_alive=True,  # graphql-ws "ka" messages; graphql-transport-ws clients ping
            keep_alive_interval=15,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout),
            max_subscriptions_per_connection=None,  # the handlers refuse with a code
            allowed_origins=settings.cors_origins,  # besides the server's own, and no Origin
        )
        limit, wait = settings.max_operations_per_socket, settings.ws_init_timeout
        bounds = {
            "limit": limit,
            "limiter": limiter,
            "fanout": fanout,
            "backlog": settings.subscriber_backlog,
        }
        self.graphql_transport_ws_handler_class = type(
            "BoundTransportWSHandler", (TransportWSHandler,), bounds
        )
        self.graphql_ws_handler_class = type(
            "BoundLegacyWSHandler", (LegacyWSHandler,), {**bounds, "init_timeout": wait}
        )
        self._make_context = make_context

    def encode_json(self, data: object) -> str:
        """Frames carry results encoded once for all their listeners (fanout.py)."""
        return frame_text(data)  # type: ignore[arg-type]

    async def reject_websocket(self, request: WebSocket) -> WebSocket:
        """A page on an origin not allowed: 403 on the upgrade, saying which flag allows
        it (a server without the denial-response extension just closes, with the reason)."""
        reason = refusal(request.headers.get("origin", ""))
        if "websocket.http.response" in request.scope.get("extensions", {}):
            body = {"errors": [{"message": reason, "extensions": {"code": "FORBIDDEN"}}]}
            await request.send_denial_response(JSONResponse(body, 403))
        else:
            await request.close(code=1008, reason=reason.encode()[:120].decode(errors="ignore"))
        return request

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return self._make_context(request)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's side of the socket bounds: pings on idle WebSockets (a client that does
    not answer within the timeout is dropped), the largest message, the shutdown grace.
    No per-message deflate: a frame compressed per connection could not be the one
    encoded result shared by every listener (fanout.py), and results are small."""
    return {
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_interval,
        "ws_max_size": settings.max_message_bytes,
        "timeout_graceful_shutdown": settings.shutdown_grace,
    }
