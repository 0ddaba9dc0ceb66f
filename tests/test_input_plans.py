"""Every argument of the schema is converted by its plan (schema/input_plans.py) exactly as
Strawberry's own conversion converts it: values made for each argument's GraphQL type,
once with every input field given and once with the required ones and some explicit
nulls, as graphql-core hands them to resolvers; and each call's lists and input objects
are its own, as Strawberry's are."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from contactgraph.config import Settings
from contactgraph.schema.build import build_schema

SCALARS: dict[str, Any] = {
    "ID": "01a2",
    "String": "text",
    "Int": 3,
    "Float": 1.5,
    "Boolean": True,
    "DateTime": datetime(2026, 1, 2, tzinfo=UTC),
    "Date": date(2026, 1, 2),
    "JSON": {"a": [1, 2]},
}


def made(kind: GraphQLInputType, full: bool, depth: int = 0) -> Any:
    """A value of `kind` as graphql-core coerces one: enums as their Python values."""
    if isinstance(kind, GraphQLNonNull):
        return made(kind.of_type, full, depth)
    if isinstance(kind, GraphQLList):
        return [made(kind.of_type, full, depth + 1) for _ in range(2)]
    if isinstance(kind, GraphQLEnumType):
        return list(kind.values.values())[-1].value
    if isinstance(kind, GraphQLScalarType):
        return SCALARS[kind.name]
    assert isinstance(kind, GraphQLInputObjectType)
    value: dict[str, Any] = {}
    for name, field in kind.fields.items():
        required = isinstance(field.type, GraphQLNonNull)
        if required or (full and depth < 4):
            value[name] = made(field.type, full, depth + 1)
        elif not full and len(value) % 2:
            value[name] = None  # an explicit null beside the fields left out
    return value


def test_every_argument_converts_as_strawberry_converts_it() -> None:
    schema = build_schema(Settings())
    converter = schema.schema_converter
    compared = 0
    for owner in schema._schema.type_map.values():
        if owner.name.startswith("__") or isinstance(owner, GraphQLInputObjectType):
            continue
        for field in (getattr(owner, "fields", None) or {}).values():
            definition = (field.extensions or {}).get("strawberry-definition")
            if not field.args or not isinstance(definition, StrawberryField):
                continue
            plan = schema.input_plans.arguments(definition, definition.arguments)
            assert plan is not None, (owner.name, field)
            for full in (True, False):
                coerced = {
                    name: made(argument.type, full)
                    for name, argument in field.args.items()
                    if full or isinstance(argument.type, GraphQLNonNull)
                }
                strawberry = convert_arguments(
                    coerced, definition.arguments, converter.scalar_registry, converter.config
                )
                planned = plan(coerced)
                assert planned == strawberry and repr(planned) == repr(strawberry)
                compared += 1
    assert compared > 150


def test_each_call_has_lists_and_inputs_of_its_own() -> None:
    schema = build_schema(Settings())
    mutation = schema._schema.mutation_type
    assert mutation is not None
    definition = mutation.fields["createContact"].extensions["strawberry-definition"]
    plan = schema.input_plans.arguments(definition, definition.arguments)
    assert plan is not None
    coerced = {"input": {"firstName": "A", "tags": ["x"], "links": [{"toId": "o"}]}}
    first, second = plan(coerced)["input"], plan(coerced)["input"]
    assert first == second and first is not second
    assert first.tags is not second.tags and first.tags is not coerced["input"]["tags"]
    assert dataclasses.is_dataclass(first.links[0]) and first.links[0] is not second.links[0]
