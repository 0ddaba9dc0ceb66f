"""The inputs that give a party's attribute values and filter parties by them: values as
JSON, checked against the field's type by graph/attributes.py."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from ..graph import attributes, model
from ..graph.errors import InvalidValue, LimitExceeded


@strawberry.input(description="A value of one of the category's own fields.")
class AttributeInput:
    field: str = strawberry.field(description="The field's name.")
    value: JSON | None = strawberry.field(
        description="As JSON: text, a number, a decimal as text or number, true/false, a date "
        "as YYYY-MM-DD, an option, a list of options, a party id; null removes the value."
    )


ATTRIBUTES = (
    f"Values of its category's own fields (at most {attributes.MAX_FIELDS}), each checked "
    "by its field's type; fields with a default get it when left out."
)


def attribute_changes(given: list[AttributeInput] | None) -> dict[str, Any]:
    """The values given, by field name; a field named twice is bad input."""
    inputs = given or []
    if len(inputs) > attributes.MAX_FIELDS:
        raise LimitExceeded(f"at most {attributes.MAX_FIELDS} attributes may be given")
    values: dict[str, Any] = {}
    for item in inputs:
        if item.field in values:
            raise InvalidValue(f"attributes.{item.field}", item.field, "is given twice")
        values[item.field] = item.value
    return values


@strawberry.input(
    description="A condition on one attribute: give equals, or min and/or max (NUMBER, "
    "DECIMAL and DATE), or exists. Values are as AttributeInput takes them; a MANY_OF field "
    "equals a party's value when it holds that option."
)
class AttributeFilter:
    field: str = strawberry.field(description="The field's name, as a category defines it.")
    equals: JSON | None = strawberry.field(default=None, description="The value it holds.")
    min: JSON | None = strawberry.field(default=None, description="The least value, included.")
    max: JSON | None = strawberry.field(default=None, description="The greatest value, included.")
    exists: bool | None = strawberry.field(
        default=None, description="True: it holds a value; false: it holds none."
    )

    def test(self) -> model.AttributeTest:
        return model.AttributeTest(self.field, self.equals, self.min, self.max, self.exists)
