"""Documents bounded before they cost anything, on HTTP and WebSocket alike.

- Parsing: Strawberry's MaxTokensLimiter (graphql-core's `max_tokens`, comments
  counted) and graphql-core's `max_source_length`, set here; graphql-core also
  refuses nesting past 200 levels. ErrorCodes codes these refusals.
- Validation: graphql-core's OverlappingFieldsCanBeMerged is quadratic in fields
  that share a response name; it meters its own work, and BoundedMerge gives it
  --max-merge-work instead of its default 500,000 units (about a second).
  graphql-core's MaxIntrospectionDepthRule (three nested introspection lists) is
  kept and coded.
- Execution: before any resolver runs, one walk (cost.py) measures the operation's
  depth, aliases and cost with its variables coerced, and hands every field's
  arguments to ArgumentChecks (BAD_USER_INPUT).

Every refusal of a document is LIMIT_EXCEEDED with the numbers in `extensions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any, cast

from graphql import GraphQLError, OperationDefinitionNode, ValidationRule
from graphql.execution.values import get_variable_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.validation import MaxIntrospectionDepthRule, OverlappingFieldsCanBeMergedRule
from graphql.validation.rules.max_introspection_depth_rule import MAX_LIST_DEPTH
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from ..config import Settings
from ..graph.errors import BadUserInput
from .arguments import ArgumentChecks
from .cost import Sizes, TooDeep, measure

_PARSE_LIMIT = re.compile(r"(?:Document|Source) contains more than (\d+) (?:tokens|code points)")


def limit_error(message: str, nodes: Any = None, **numbers: int) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": "LIMIT_EXCEEDED", **numbers})


def parse_limit(error: GraphQLError) -> int | None:
    """The limit a parse error reports having met, or None for a plain syntax error."""
    found = _PARSE_LIMIT.search(error.message)
    if found:
        return int(found[1])
    return MAX_NESTING_DEPTH if "nested too deeply" in error.message else None


@cache
def bounded_merge(budget: int) -> type[ValidationRule]:
    """OverlappingFieldsCanBeMerged with `budget` units of work; one class per budget, so
    Strawberry's validation cache sees the same rules every time."""

    class BoundedMerge(OverlappingFieldsCanBeMergedRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.rule_context.remaining_complexity_budget = budget

        def enter_selection_set(self, *args: Any) -> None:
            if self.rule_context.remaining_complexity_budget < 0:
                return  # refused once already
            try:
                super().enter_selection_set(*args)
            except ValidationAbortedError:
                self.report_error(
                    limit_error(
                        "checking that fields with the same name merge needs more than "
                        f"{budget} units of work: send fewer repeated fields",
                        limit=budget,
                    )
                )

    return BoundedMerge


class IntrospectionDepth(MaxIntrospectionDepthRule):
    """graphql-core's own bound on nested introspection lists, coded as the limit it is."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(limit_error(error.message, error.nodes, limit=MAX_LIST_DEPTH))


class DocumentLimits(SchemaExtension):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sizes = Sizes(
            settings.default_page_size,
            settings.max_page_size,
            settings.max_network_size,
            settings.max_depth,
        )

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        options = cast(dict[str, Any], context.parse_options)
        options["max_source_length"] = self.settings.max_document_length
        limited = {
            OverlappingFieldsCanBeMergedRule: bounded_merge(self.settings.max_merge_work),
            MaxIntrospectionDepthRule: IntrospectionDepth,
        }
        context.validation_rules = tuple(limited.get(r, r) for r in context.validation_rules)
        yield

    def on_execute(self) -> Iterator[None]:
        """Raising here is how Strawberry lets an extension refuse a query, a mutation or
        a subscription alike before it runs."""
        self._check()
        yield

    def _check(self) -> None:
        context, settings = self.execution_context, self.settings
        document = context.graphql_document
        assert document is not None
        name = context.operation_name
        operation = next(
            (
                d
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
                and (name is None or (d.name is not None and d.name.value == name))
            ),
            None,
        )
        if operation is None:
            return  # Strawberry has refused the request already
        schema = context.schema._schema
        variables = get_variable_values(
            schema, operation.variable_definitions or (), context.variables or {}
        )
        if isinstance(variables, list):
            return  # execution reports the variables that do not coerce
        try:
            measured = measure(
                schema,
                document,
                operation,
                variables,
                self.sizes,
                settings.max_query_depth,
                ArgumentChecks(settings),
            )
        except BadUserInput as error:
            raise GraphQLError(error.message, extensions={"code": error.code}) from None
        except TooDeep:
            raise limit_error(
                f"fields nest deeper than {settings.max_query_depth} levels",
                limit=settings.max_query_depth,
            ) from None
        if measured.aliases > settings.max_aliases:
            raise limit_error(
                f"{measured.aliases} aliases; at most {settings.max_aliases}",
                aliases=measured.aliases,
                limit=settings.max_aliases,
            )
        if measured.cost > settings.max_cost:
            raise limit_error(
                f"the operation may cost {measured.cost}; at most {settings.max_cost}: "
                "ask for smaller pages or fewer nested lists",
                cost=measured.cost,
                limit=settings.max_cost,
            )
