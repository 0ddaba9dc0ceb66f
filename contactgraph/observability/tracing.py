"""Optional OpenTelemetry tracing: a span per GraphQL operation (Strawberry's
OpenTelemetryExtension, with its resolvers' spans) and one per store round trip.

Off unless asked for (`serve --tracing`) and the `tracing` extra is installed.
Spans go out through OTLP over HTTP, configured by the standard OTEL_* variables
(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...); a program that set a
tracer provider of its own before building the app keeps it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from ..graph.errors import ConfigError

SERVICE = "contactgraph"
MISSING = "--tracing needs the OpenTelemetry packages: pip install 'contactgraph[tracing]'"


def enable() -> Any:
    """The schema extension that traces operations, once a tracer provider is set."""
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from strawberry.extensions.tracing import OpenTelemetryExtension
    except ImportError:
        raise ConfigError(MISSING) from None
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):  # none set yet
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: SERVICE}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    return OpenTelemetryExtension


def store_span(store: str, method: str) -> AbstractContextManager[Any]:
    """A span around one store call (only called with tracing enabled)."""
    from opentelemetry import trace

    tracer = trace.get_tracer(SERVICE)
    return tracer.start_as_current_span(
        f"store {method}",
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": store, "db.operation": method},
    )
