"""A field's input-object and list arguments converted to Python values by a plan made
once per argument type.

Strawberry's conversion (convert_argument) works out its way through an input type on
every call: each field's type resolved from its annotation, its GraphQL name converted,
the leaf checks made again. For a createContact's input that was some 40 calls and a
tenth of the request's CPU. A plan does the same conversion with that work done when it
is made: an optional value's null stays null, a list of leaves is copied, a list of
inputs converted item by item, a leaf (a scalar, an enum) kept as graphql-core coerced
it, and an input object built from its fields present in the value, every field without
a default given None first, as Strawberry does. A type that builds its own value
(`from_input`), a `Maybe`, a lazy type or a global id has no plan: its field takes
Strawberry's own path (shared_arguments.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.unset import UNSET

Convert = Callable[[Any], Any]
"""One value as graphql-core coerced it -> its Python value."""


class NotPlannable(Exception):
    """A type some part of which only Strawberry's own conversion handles."""


def _kept(value: Any) -> Any:
    return value


def _absent(value: Any) -> bool:
    """A null, or a value not given, which Strawberry passes on as it is."""
    return value is None or value is UNSET


class InputPlans:
    """The plans of one schema's argument types, made on first use and kept: the types
    are the schema's, fixed while it serves."""

    def __init__(self, scalar_registry: Mapping[object, Any], config: StrawberryConfig) -> None:
        self._registry = scalar_registry
        self._names = config.name_converter
        # by the id of the type, which the entry keeps alive so that no id is reused
        self._plans: dict[int, tuple[Any, Convert | None]] = {}
        self._fields: dict[int, tuple[Any, Callable[[dict[str, Any]], dict[str, Any]] | None]] = {}

    def arguments(
        self, key: object, arguments: list[StrawberryArgument]
    ) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
        """How to convert coerced `arguments` as Strawberry's convert_arguments does, or
        None when some argument has no plan; kept under `key` (the field's definition)."""
        found = self._fields.get(id(key))
        if found is None:
            try:
                named = [
                    (self._names.from_argument(a), a.python_name, self.plan(a.type))
                    for a in arguments
                ]
            except NotPlannable:
                made = None
            else:
                made = _converter(named)
            found = self._fields[id(key)] = (key, made)
        return found[1]

    def plan(self, type_: Any) -> Convert:
        """How to convert a value of `type_`; NotPlannable when Strawberry must."""
        found = self._plans.get(id(type_))
        if found is None:
            try:
                made: Convert | None = self._made(type_)
            except NotPlannable:
                made = None
            found = self._plans[id(type_)] = (type_, made)
        if found[1] is None:
            raise NotPlannable
        return found[1]

    def _leaf(self, type_: Any) -> bool:
        if type_ is GlobalID:
            raise NotPlannable  # decoded from its text by Strawberry
        return is_scalar(type_, self._registry) or isinstance(type_, StrawberryEnumDefinition)

    def _made(self, type_: Any) -> Convert:
        if isinstance(type_, StrawberryMaybe):
            raise NotPlannable
        if isinstance(type_, StrawberryOptional):
            inner = self.plan(type_.of_type)
            return lambda value: value if _absent(value) else inner(value)
        if isinstance(type_, StrawberryList):
            item = type_.of_type
            bare = item.of_type if isinstance(item, StrawberryOptional) else item
            if self._leaf(bare) or has_enum_definition(bare):
                # copied: graphql-core hands every request that omits it the same default
                return lambda value: value if _absent(value) else list(value)
            each = self.plan(item)
            return lambda value: value if _absent(value) else [each(v) for v in value]
        if self._leaf(type_) or has_enum_definition(type_):
            return _kept
        if has_object_definition(type_) and isinstance(type_, type):
            return self._object(type_)
        raise NotPlannable

    def _object(self, type_: type) -> Convert:
        definition = type_.__strawberry_definition__
        if definition.from_input is not None or not definition.is_input:
            raise NotPlannable
        nulls = {
            f.python_name: None
            for f in definition.fields
            if f.default_value is MISSING and f.default_factory is MISSING
        }
        fields: list[tuple[str, str, Convert]] = []

        def build(value: Any) -> Any:
            if _absent(value):
                return value
            kwargs = dict(nulls)
            for graphql_name, python_name, convert in fields:
                if graphql_name in value:
                    kwargs[python_name] = convert(value[graphql_name])
            return type_(**kwargs)

        # kept before its fields are planned, so that a type that holds itself finds it
        self._plans[id(type_)] = (type_, build)
        try:
            for f in definition.fields:
                field_type = f.resolve_type(type_definition=definition)
                fields.append((self._names.from_field(f), f.python_name, self.plan(field_type)))
        except NotPlannable:
            self._plans[id(type_)] = (type_, None)
            raise
        return build


def _converter(
    named: list[tuple[str, str, Convert]],
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def convert(coerced: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, python_name, plan in named:
            if name in coerced:
                value = coerced[name]
                values[python_name] = plan(value)
        return values

    return convert
