"""GraphQL over WebSocket on /graphql: graphql-transport-ws and the legacy graphql-ws.

Strawberry's ASGI app speaks both protocols (the client's Sec-WebSocket-Protocol
picks one); this endpoint only gives it the server's context. One context
serves a whole connection, so subscriptions refresh its loaders per event.
Browsers may connect from the server's own origin only: other origins would
act with the user's cookies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from .resolvers.context import Context
from .schema.build import Schema


class SubscriptionEndpoint(GraphQL[Context, None]):
    def __init__(self, schema: Schema, make_context: Callable[[HTTPConnection], Context]) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            keep_alive=True,  # graphql-ws "ka" messages; graphql-transport-ws clients ping
            keep_alive_interval=15,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self._make_context = make_context

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return self._make_context(request)
