"""Each request's id and its access line.

Every HTTP request and WebSocket gets an id: the client's X-Request-Id when it is a
plain token of at most 128 characters (it goes into the history of what the request
writes), else one made here. It is echoed in the response's X-Request-Id and held
in a context variable, so every log line written while the request is handled
carries it (logs.py), tasks started on its behalf included. When an HTTP request
ends, one access line tells its method, path, status and time and, for GraphQL,
the operation and its outcome, which also go into the metrics.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..graph.ids import new_id
from . import metrics

log = logging.getLogger("contactgraph.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
# polled every few seconds by orchestrators and scrapers: logged at debug level only
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass
class RequestRecord:
    id: str
    names: metrics.OperationNames  # the server's: which names are labels
    # a GraphQL request's: its operation label and outcome, once known
    operation: str | None = None
    outcome: str | None = None

    def name(self, operation_name: str | None) -> None:
        """Label the request's operation by its name (the first of several refines it)."""
        self.operation = self.names.label(operation_name)


_current: ContextVar[RequestRecord | None] = ContextVar("contactgraph_request", default=None)


def current() -> RequestRecord | None:
    """The request being handled, or None outside of any."""
    return _current.get()


def request_id(header: str | None) -> str:
    """The client's X-Request-Id when it is a plain token, else one made here."""
    if header is not None and _REQUEST_ID.fullmatch(header):
        return header
    return new_id()


def access_line(
    transport: str, what: str, status: int | None, record: RequestRecord, seconds: float
) -> None:
    """One line per request (an operation, on a WebSocket), readable as text, its parts
    also as fields of a JSON line."""
    level = logging.DEBUG if what.split(" ")[-1] in PROBES else logging.INFO
    if not log.isEnabledFor(level):
        return
    parts = [what] if status is None else [what, str(status)]
    if record.operation is not None:
        parts += [record.operation, record.outcome or ""]
    duration = round(seconds * 1000, 3)
    fields = {
        "transport": transport,
        "status": status,
        "operation": record.operation,
        "outcome": record.outcome,
        "duration_ms": duration,
    }
    log.log(level, "%s %.1f ms", " ".join(parts), duration, extra=fields)


class RequestLog:
    """ASGI middleware: the request's id, echoed; its access line and GraphQL metrics."""

    def __init__(self, app: ASGIApp, names: metrics.OperationNames) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id")
        record = RequestRecord(request_id(given), self.names)
        token = _current.set(record)
        try:
            if scope["type"] == "websocket":  # its operations are logged one by one
                await self.app(scope, receive, send)
            else:
                await self._http(scope, receive, send, record)
        finally:
            _current.reset(token)

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, record: RequestRecord
    ) -> None:
        started = perf_counter()
        status = 500  # unless a response starts: an exception past every handler

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-Id"] = record.id
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = perf_counter() - started
            if record.operation is not None:
                record.outcome = record.outcome or "INTERNAL_SERVER_ERROR"
                metrics.observe("http", record.operation, record.outcome, seconds)
            access_line("http", f"{scope['method']} {scope['path']}", status, record, seconds)
