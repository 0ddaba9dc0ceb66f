"""GraphQL operations as the metrics and the access log see them."""

from __future__ import annotations

from collections.abc import Iterator
from time import perf_counter

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from . import metrics
from .requests import access_line, current


class Observed(SchemaExtension):
    """Names an HTTP request's operation (its document's, when the client gave no
    operationName) for the metrics and access line its request ends with; times and
    logs each query and mutation of a WebSocket, whose socket outlives them. A
    subscription is counted by the active-subscriptions gauge instead. Listed first
    among the extensions, it ends last: the errors are coded by then."""

    def on_operation(self) -> Iterator[None]:
        started = perf_counter()
        yield
        execution = self.execution_context
        record = current()
        if record is None:
            return
        try:
            if execution.operation_type is OperationType.SUBSCRIPTION:
                return
        except RuntimeError:  # no document, or no such operation: refused below
            pass
        record.name(execution.operation_name)
        if not getattr(execution.context, "live", False):
            return  # the request's end records it (requests.py)
        errors = execution.result.errors if execution.result is not None else None
        record.outcome = metrics.first_code([e.formatted for e in errors or ()])
        seconds = perf_counter() - started
        metrics.observe("websocket", record.operation or metrics.UNKNOWN, record.outcome, seconds)
        access_line("websocket", "operation", None, record, seconds)
