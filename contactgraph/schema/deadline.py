"""The server's time limit on each operation, HTTP and WebSocket alike.

Queries and mutations run under --request-timeout: the deadline travels with the
request (graph/deadlines.py), so the store stops the work behind it when time is
up and the fields it served answer TIMEOUT. A subscription lives as long as its
client wants; each event it delivers gets a limit of its own instead
(resolvers/subscription.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from ..graph import deadlines


class TimeLimit(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.operation_type is OperationType.SUBSCRIPTION:
            yield
            return
        with deadlines.limit(execution.context.settings.request_timeout):
            yield
