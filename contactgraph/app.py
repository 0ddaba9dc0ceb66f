"""The Starlette application: /graphql (HTTP and WebSocket), the explorer page at /explore,
/healthz, /readyz, /metrics, the pages' bundles under /static, and the store's lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import replace

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute

from . import process_sweeps
from .access.anonymous import anonymous_admin
from .access.authenticator import Authenticator
from .access.feeds import ViewerFeeds
from .access.oidc import OidcVerifier
from .access.rate import RateLimiter
from .calendar_http import CalendarEndpoint
from .config import Settings
from .fanout import Fanout
from .graph.backends import open_store
from .graph.errors import ConfigError, ServiceUnavailable
from .graph.events import EventBus, LocalEventBus
from .graph.ids import new_id
from .graph.redis_events import RedisEventBus
from .graph.store import GraphStore
from .graph.worklist_events import Clock, SystemClock, WorklistEvents
from .http import GraphQLEndpoint
from .observability import metrics, requests
from .observability.scrape import MetricsEndpoint
from .origins import cors, parse_origins
from .resolvers.context import Context
from .schema.build import build_schema
from .seeds.demo import DEMO_ADMIN, demo_token, load_demo
from .subgraph_http import SubgraphEndpoint
from .web import pages
from .web.assets import Assets
from .web.pages import STATIC_PATH
from .websocket import SubscriptionEndpoint

log = logging.getLogger("contactgraph")
WORKER_SETTINGS = "CONTACTGRAPH_WORKER_SETTINGS"  # serve --workers: the parent's, as JSON
READY_WITHIN = 1.0  # seconds: a readiness probe gets its answer well inside its own timeout


def event_bus(settings: Settings) -> EventBus:
    """The bus live feeds run on: Redis's stream when one is named, else this process's."""
    if settings.events_url is None:
        return LocalEventBus(settings.subscriber_backlog)
    if not settings.events_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("--events takes a Redis URL: redis://HOST:PORT (or rediss://)")
    return RedisEventBus(settings.events_url, settings.subscriber_backlog)


async def prepare_graph(store: GraphStore, settings: Settings) -> str | None:
    """What serving needs in the graph: the demo (into an empty graph, when asked), its
    token, the anonymous administrator (whose id it returns, with that flag). Each step
    finds its work done when it was: `serve --workers` runs this once before starting
    the workers, so they do not race to load the demo."""
    if settings.demo and await store.is_empty():
        counts = await load_demo(store)
        log.info("loaded the demo dataset: %s", counts)
    if settings.demo_token and not await demo_token(store, settings.demo_token):
        log.warning("this graph has no demo user %s: the demo token is not valid", DEMO_ADMIN)
    if settings.insecure_anonymous_admin:
        return (await anonymous_admin(store)).id
    return None


def worker_app() -> Starlette:
    """The app of one process of `serve --workers N`: uvicorn starts each by this name,
    and the settings come from the parent through the environment."""
    return settled(create_app(Settings.from_json(os.environ[WORKER_SETTINGS])))


def settled(app: Starlette) -> Starlette:
    """The app to serve, with all that is made by now (the modules, the schema, the app)
    kept out of the cyclic garbage collector's walks: it lives as long as the process,
    and each full collection walked it again, about 80 ms that fell on whichever request
    was running (a tenth of the 500-party tree's requests, BENCHMARKS.md). Collected
    first, so that no garbage is kept."""
    gc.collect()
    gc.freeze()
    return app


def create_app(settings: Settings, clock: Clock | None = None) -> Starlette:
    """Build the app; a graph URL no backend serves fails here, before serving. `clock`
    is the time overdue process steps are told by and rate budgets refill by (tests move
    one by hand instead of waiting)."""
    try:
        settings = replace(settings, cors_origins=parse_origins(settings.cors_origins))
    except ValueError as error:
        raise ConfigError(f"--cors-origin: {error}") from None
    store: GraphStore = open_store(settings.graph_url, settings.create, settings.default_region)
    events = event_bus(settings)
    worklists = WorklistEvents(store, events, clock or SystemClock())
    store.on_steps(worklists.committed)
    schema = build_schema(settings)
    oidc = None
    if settings.oidc_issuer:
        if not settings.oidc_audience:
            raise ConfigError("--oidc-issuer needs --oidc-audience: the tokens' intended audience")
        oidc = OidcVerifier(settings.oidc_issuer, settings.oidc_audience, settings.oidc_claim)
    authenticator = Authenticator(
        store, settings.auth_cache_seconds, oidc, settings.oidc_create_users
    )
    limiter = RateLimiter(
        settings.rate_limit,
        settings.rate_burst,
        clock=(lambda: clock.now().timestamp()) if clock else time.monotonic,
    )
    fanout = Fanout(schema, settings, ViewerFeeds())  # live subscriptions, sharing their work
    sampler = metrics.Sampler(
        lambda: fanout.subscribers, lambda: events.queued, lambda: fanout.queued
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await store.start()
        await events.start()
        sampling = asyncio.create_task(sampler.run())
        sweeping = asyncio.create_task(process_sweeps.run(store, settings.process_sweep_seconds))
        try:
            authenticator.anonymous_id = await prepare_graph(store, settings)
            await worklists.start()
            yield
        finally:
            await worklists.close()
            for task in (sampling, sweeping):
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            metrics.process_ended()
            if oidc is not None:
                await oidc.close()
            await events.close()
            await store.close()

    def request_id() -> str:
        record = requests.current()  # set for every request (requests.RequestLog)
        return record.id if record is not None else new_id()

    def context_for(request: HTTPConnection) -> Context:
        """A request's context, not yet signed in: HTTP signs it in before reading the
        body, a WebSocket when connection_init comes."""
        debug = request.headers.get("x-debug-round-trips", "").strip().lower() in ("1", "true")
        return Context(
            store,
            settings,
            events,
            authenticator,
            report_round_trips=debug,
            authorization=request.headers.get("authorization"),
            live=request.scope["type"] == "websocket",
            request_id=request_id(),
        )

    async def healthz(_: Request) -> JSONResponse:
        body = {
            "status": "ok",
            "process": os.getpid(),  # which of several `serve --workers` processes answered
            "subscribers": fanout.subscribers,
            "executions": fanout.executions,
        }
        return JSONResponse(body)

    async def explore(_: Request) -> HTMLResponse:
        return pages.explore(settings.ide_token)

    async def readyz(_: Request) -> JSONResponse:
        try:
            await store.ping(READY_WITHIN)
            await events.ping()
        except ServiceUnavailable as error:
            return JSONResponse({"status": "unavailable", "reason": error.message}, 503)
        return JSONResponse({"status": "ready"})

    calendar = CalendarEndpoint(store, settings, authenticator, limiter)
    app = Starlette(
        routes=[
            Route(
                "/graphql",
                GraphQLEndpoint(schema, settings, context_for, authenticator, limiter).handle,
                methods=["GET", "POST"],
            ),
            WebSocketRoute(
                "/graphql", SubscriptionEndpoint(schema, context_for, settings, limiter, fanout)
            ),
            Route("/explore", explore, methods=["GET"]),  # and HEAD; anything else is 405
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", MetricsEndpoint(settings, authenticator, limiter, sampler).handle),
            Route("/calendar/{name}", calendar.user, methods=["GET"]),
            Route("/calendar/team/{name}", calendar.team, methods=["GET"]),
            Route(
                "/export/{format}",
                SubgraphEndpoint(store, settings, authenticator, limiter).handle,
                methods=["GET"],
            ),
            Mount(STATIC_PATH, Assets()),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(requests.RequestLog, names=metrics.OperationNames()),
            Middleware(
                TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts, www_redirect=False
            ),
            *cors(settings.cors_origins),
        ],
    )
    app.state.store = store  # the graph it serves, for code that embeds the app
    return app
