"""Assembles the Strawberry schema."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.types import ExecutionContext

from ..config import Settings
from ..observability import tracing
from ..observability.operations import Observed
from ..resolvers.mutation import Mutation
from ..resolvers.query import Query
from ..resolvers.subscription import Subscription
from .deadline import TimeLimit
from .errors import ErrorCodes, is_unexpected, log
from .execution import PlannedExecutionContext
from .input_plans import InputPlans
from .limits import DocumentLimits
from .parsing import ParsedOnce
from .scalars import DateTime
from .types import Contact, Organization, User


class RoundTrips(SchemaExtension):
    """Reports `extensions.roundTrips` when the request asked for it."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if getattr(context, "report_round_trips", False):
            return {"roundTrips": context.round_trips.count}
        return {}


class RememberedNames(NameConverter):
    """Strawberry names each argument of a field again on every call of its resolver (a
    list of 50 parties asking `timeline(first: 5)` names its ten arguments 50 times);
    the names are the schema's, a few hundred, so each is worked out once."""

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        found = self._names.get(name)
        if found is None:
            found = self._names[name] = super().apply_naming_config(name)
        return found


class Schema(strawberry.Schema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.input_plans = InputPlans(self.schema_converter.scalar_registry, self.config)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only what is a bug; a client's bad input is not the server's problem."""
        for error in errors:
            if is_unexpected(error):
                log.error("unexpected error at %s", error.path, exc_info=error.original_error)


def build_schema(settings: Settings) -> Schema:
    traced = [tracing.enable()] if settings.tracing else []
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Organization, Contact, User],
        config=StrawberryConfig(scalar_map={datetime: DateTime}, name_converter=RememberedNames()),
        execution_context_class=PlannedExecutionContext,
        extensions=[
            Observed,  # first, so that it ends last
            *traced,
            partial(MaxTokensLimiter, settings.max_tokens),
            partial(DocumentLimits, settings),
            ParsedOnce,  # after the two that set the parse's limits
            TimeLimit,
            # dashboards send the same few documents again and again: validate each once
            ValidationCache,
            ErrorCodes,
            RoundTrips,
        ],
    )
