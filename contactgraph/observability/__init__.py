"""Operating the server: Prometheus metrics (/metrics), structured logs carrying each
request's id, and optional OpenTelemetry tracing."""
