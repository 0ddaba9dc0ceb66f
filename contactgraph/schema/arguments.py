"""Every argument value of an operation checked before any resolver runs, so none can
forget it and nothing is written when one is bad.

The measuring walk (cost.py) calls ArgumentChecks once per field node with its
arguments coerced; the checks follow the GraphQL input types: every string has a
length limit (long text for the fields in LONG_TEXT) and no control characters
(an activity body may hold tabs and line breaks), every list a length limit,
searches a number and length of words, and JSON values (relationship
properties) a size, a depth and only finite numbers. A bad value is
BAD_USER_INPUT naming the argument and why.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInputType,
    GraphQLNamedType,
    get_nullable_type,
    is_input_object_type,
    is_list_type,
    is_scalar_type,
)

from ..config import Settings
from ..graph.errors import BadUserInput
from ..graph.search import check_search

LONG_TEXT = frozenset({"RecordActivityInput.body"})
"""Input fields (schema coordinates) that hold text longer than a name."""
SEARCH = frozenset(
    {
        "Query.parties(search:)",
        "Query.activities(search:)",
        *(f"{kind}.timeline(search:)" for kind in ("Party", "Organization", "Contact", "User")),
        "Opportunity.timeline(search:)",
    }
)
"""Arguments that are full-text searches."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class ArgumentChecks:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(
        self,
        parent: GraphQLNamedType,
        name: str,
        definition: GraphQLField,
        values: dict[str, Any],
    ) -> None:
        for argument, value in values.items():
            coordinate = f"{parent.name}.{name}({argument}:)"
            self._value(value, definition.args[argument].type, f"{name}.{argument}", coordinate)

    def _value(self, value: Any, kind: GraphQLInputType, where: str, coordinate: str) -> None:
        kind = get_nullable_type(kind)
        if value is None:
            return
        if is_list_type(kind):
            most = self.settings.max_list_length
            if len(value) > most:
                raise BadUserInput(f"{where} has {len(value)} items; at most {most}")
            for index, item in enumerate(value):
                self._value(item, kind.of_type, f"{where}[{index}]", coordinate)
        elif is_input_object_type(kind):
            # as coerced, in the type's order, with their defaults: most of them null
            for field, item in value.items():
                if item is not None:
                    inner = f"{kind.name}.{field}"
                    self._value(item, kind.fields[field].type, f"{where}.{field}", inner)
        elif is_scalar_type(kind) and kind.name == "JSON":
            self._json(value, where)
        elif isinstance(value, str):
            self._text(value, where, coordinate)

    def _text(self, value: str, where: str, coordinate: str) -> None:
        long = coordinate in LONG_TEXT
        most = self.settings.max_text_length if long else self.settings.max_string_length
        if len(value) > most:
            raise BadUserInput(f"{where} is {len(value)} characters long; at most {most}")
        control = (_CONTROL_IN_TEXT if long else _CONTROL).search(value)
        if control:
            raise BadUserInput(f"{where} holds the control character U+{ord(control[0]):04X}")
        if coordinate in SEARCH:
            settings = self.settings
            check_search(value, settings.max_search_terms, settings.max_search_term_length)

    def _json(self, value: Any, where: str) -> None:
        """Size first (encoding is C and cheap), then depth and content without recursion."""
        settings = self.settings
        try:
            encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except RecursionError:
            encoded = None
        most = settings.max_properties_bytes
        if encoded is not None and len(encoded.encode("utf-8", "surrogatepass")) > most:
            raise BadUserInput(f"{where} is larger than {most} bytes as JSON")
        pending = [(value, 0)]
        while pending:
            item, depth = pending.pop()
            if isinstance(item, float) and not math.isfinite(item):
                raise BadUserInput(f"{where} holds {item}, which is not a finite number")
            if isinstance(item, str) and _CONTROL.search(item):
                raise BadUserInput(f"{where} holds a control character")
            if isinstance(item, dict | list):
                if depth == settings.max_properties_depth or encoded is None:
                    raise BadUserInput(
                        f"{where} nests deeper than {settings.max_properties_depth} levels"
                    )
                children = [*item, *item.values()] if isinstance(item, dict) else item
                pending.extend((child, depth + 1) for child in children)
