"""The Starlette application: /graphql (HTTP and WebSocket), /healthz, /readyz, and the
store's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from .config import Settings
from .graph.backends import open_store
from .graph.errors import ServiceUnavailable
from .graph.events import LocalEventBus
from .graph.store import GraphStore
from .http import GraphQLEndpoint
from .resolvers.context import Context, make_context
from .schema.build import build_schema
from .seeds.demo import load_demo
from .websocket import SubscriptionEndpoint

log = logging.getLogger("contactgraph")
READY_WITHIN = 1.0  # seconds: a readiness probe gets its answer well inside its own timeout


def create_app(settings: Settings) -> Starlette:
    """Build the app; a graph URL no backend serves fails here, before serving."""
    store: GraphStore = open_store(settings.graph_url, settings.create)
    events = LocalEventBus(settings.subscriber_backlog)
    schema = build_schema(settings)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await store.start()
        try:
            if settings.demo and await store.is_empty():
                counts = await load_demo(store)
                log.info("loaded the demo dataset: %s", counts)
            yield
        finally:
            await store.close()

    def context_for(request: HTTPConnection) -> Context:
        debug = request.headers.get("x-debug-round-trips", "").strip().lower() in ("1", "true")
        return make_context(store, settings, events, report_round_trips=debug)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "subscribers": events.subscribers})

    async def readyz(_: Request) -> JSONResponse:
        try:
            await store.ping(READY_WITHIN)
        except ServiceUnavailable as error:
            return JSONResponse({"status": "unavailable", "reason": error.message}, 503)
        return JSONResponse({"status": "ready"})

    return Starlette(
        routes=[
            Route(
                "/graphql",
                GraphQLEndpoint(schema, settings, context_for).handle,
                methods=["GET", "POST"],
            ),
            WebSocketRoute("/graphql", SubscriptionEndpoint(schema, context_for, settings)),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(
                TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts, www_redirect=False
            )
        ],
    )
