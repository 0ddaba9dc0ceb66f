"""A field node's arguments, worked out once per execution instead of once per object.

graphql-core coerces a field's arguments (get_argument_values) on every object it resolves
the field for, and Strawberry converts them to Python values (convert_arguments) again in
its resolver wrapper: `timeline(first: 5)` on each of 50 organizations did both for its
ten arguments 50 times, a quarter of that request's CPU. The values depend only on the
field node, the operation's variables and the variables of the fragment it sits in, all
fixed during one execution.

Sharing needs care where a resolver could change what it was given: graphql-core's values
go through Strawberry's conversion, which builds new lists and input objects on every call
(graphql-core already hands one variable's value to every object alike); Strawberry's
converted values are shared only when every one is immutable (numbers, strings, enums,
instants, nulls), and only for fields without field extensions or exception handlers,
whose Strawberry wrapper does nothing else with them, and not for a subscription's field
(whose resolver makes the stream). A list or an input object, which a resolver may
change, is converted anew for each call by plans made once per argument type
(input_plans.py), without Strawberry's work through the type on every call. A coercion or
conversion that fails is not remembered: each object's call fails as graphql-core's and
Strawberry's would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any

from graphql import GraphQLField, GraphQLResolveInfo, get_argument_values
from graphql.execution.collect_fields import FieldDetails
from graphql.execution.values import VariableValues
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from .input_plans import InputPlans

Call = Callable[[Any, GraphQLResolveInfo], Any]
"""Resolves the field for one object: (source, info) -> its value or an awaitable."""

_IMMUTABLE = (type(None), bool, int, float, str, Enum, datetime, date, Decimal)


def _immutable(values: dict[str, Any]) -> bool:
    return all(value is UNSET or isinstance(value, _IMMUTABLE) for value in values.values())


class SharedArguments:
    """The calls of one execution's argument-taking field nodes, made on first use."""

    def __init__(self, variables: VariableValues, hide_suggestions: bool) -> None:
        self._variables = variables
        self._hide_suggestions = hide_suggestions
        # by the ids of the field definition, the node and the fragment's variables, which
        # the entry keeps alive so that no id is reused meanwhile
        self._calls: dict[tuple[int, int, int], tuple[Any, ...]] = {}

    def call(
        self,
        field: GraphQLField,
        details: FieldDetails,
        info: GraphQLResolveInfo,
        resolve: Callable[..., Any],
    ) -> Call:
        """How to resolve `field` as asked by `details` for one object; graphql-core's
        error when its arguments do not coerce."""
        node, fragment_variables = details.node, details.fragment_variable_values
        key = (id(field), id(node), id(fragment_variables))
        found = self._calls.get(key)
        if found is None:
            coerced = get_argument_values(
                field, node, self._variables, fragment_variables, self._hide_suggestions
            )
            made = _converted(field, coerced, info) or _coerced(resolve, coerced)
            found = self._calls[key] = (made, field, node, fragment_variables)
        call: Call = found[0]
        return call


def _coerced(resolve: Callable[..., Any], coerced: dict[str, Any]) -> Call:
    """The resolver as graphql-core calls it, with the values coerced once."""

    def call(source: Any, info: GraphQLResolveInfo) -> Any:
        return resolve(source, info, **coerced)

    return call


def _converted(
    field: GraphQLField, coerced: dict[str, Any], info: GraphQLResolveInfo
) -> Call | None:
    """The Strawberry resolver called as Strawberry's wrapper calls it, with the values
    converted once; None where sharing them would not be safe."""
    definition = (field.extensions or {}).get("strawberry-definition")
    # a subscription's resolver makes the stream; each event is resolved by another
    if (
        not isinstance(definition, StrawberryField)
        or definition.extensions
        or definition.is_subscription
    ):
        return None
    resolver = definition.base_resolver
    strawberry = info.schema._strawberry_schema  # type: ignore[attr-defined]
    converter = strawberry.schema_converter
    if resolver is None or converter.exception_handlers:
        return None
    config = converter.config
    # a list or an input object converts to a list, an input object or a JSON value, none
    # of which is shared: each call converts it anew, by the argument types' plans
    if any(isinstance(value, (list, dict)) for value in coerced.values()):
        plans: InputPlans | None = getattr(strawberry, "input_plans", None)
        planned = plans and plans.arguments(definition, definition.arguments)
        if not planned:
            return None
        fresh = partial(planned, coerced)
    else:
        try:
            values = convert_arguments(
                coerced, definition.arguments, converter.scalar_registry, config, None
            )
        except Exception:  # each call reports it as Strawberry's wrapper does
            return None
        if not _immutable(values):
            return None
        fresh = values.copy
    info_class = config.info_class
    with_self = resolver.self_parameter is not None
    # the resolver's parameters that take the object or the info rather than an argument
    sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None

    def call(source: Any, raw: GraphQLResolveInfo) -> Any:
        strawberry_info = info_class(_raw_info=raw, _field=definition)
        kwargs = fresh()
        for name in sources:
            kwargs[name] = source
        if info_name is not None:
            kwargs[info_name] = strawberry_info
        return definition.get_result(source, strawberry_info, [source] if with_self else [], kwargs)

    return call
