"""Every error a client sees carries `extensions.code`; none carries a stack trace.

Domain errors keep their message and code. Errors the server did not expect
are logged with their traceback and reach the client as a bare
INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.execution import StreamExecutionResult

from ..graph.errors import GraphError
from .limits import parse_limit

log = logging.getLogger("contactgraph.errors")


def is_unexpected(error: GraphQLError) -> bool:
    """A resolver failure that is not a domain error: a bug, to be logged."""
    return error.path is not None and not isinstance(error.original_error, GraphError)


class ErrorCodes(SchemaExtension):
    """Names the phase an error came from, which tells its code when no domain error does."""

    phase = "parse"

    def on_operation(self) -> Iterator[None]:
        self.phase = "parse"
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._coded(error) for error in result.errors]

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """Each result of a subscription (over WebSocket) is coded as it is sent."""
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = [self._coded(error) for error in result.errors]
        yield

    def on_validate(self) -> Iterator[None]:
        self.phase = "validate"
        yield

    def on_execute(self) -> Iterator[None]:
        self.phase = "execute"
        yield

    def _coded(self, error: GraphQLError) -> GraphQLError:
        if error.extensions and "code" in error.extensions:
            return error  # a stream's last result passes here twice
        original = error.original_error
        extensions: dict[str, object] = {}
        if isinstance(original, GraphError):
            code = original.code
            message = error.message if error.path is None else original.message
            extensions = original.details()
        elif is_unexpected(error):
            code, message = "INTERNAL_SERVER_ERROR", "Internal server error"
        elif self.phase == "parse":
            code, message = "GRAPHQL_PARSE_FAILED", error.message
            limit = parse_limit(error)
            if limit is not None:
                code, extensions = "LIMIT_EXCEEDED", {"limit": limit}
        elif self.phase == "validate":
            code, message = "GRAPHQL_VALIDATION_FAILED", error.message
        else:  # variables that do not coerce fail before any field runs
            code, message = "BAD_USER_INPUT", error.message
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={**(error.extensions or {}), **extensions, "code": code},
        )
