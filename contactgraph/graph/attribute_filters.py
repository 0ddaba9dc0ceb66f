"""Attribute filters of a party list as each store's predicates, from tests whose values
attributes.test_of brought to stored form. Field names are plain words (attributes.NAME),
so they name a JSON path or a property as they are; values are always parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .model import AttributeTest, FieldType

ATTRIBUTE_PREFIX = "attr_"  # of the Neo4j property holding an attribute


def sqlite_path(field: str) -> str:
    """One attribute's JSON expression, as filters and its index both spell it."""
    return f"json_extract(details, '$.attributes.{field}')"


@dataclass(frozen=True)
class _Dialect:
    path: Callable[[str], str]  # a field's value
    holds: str  # a MANY_OF value holds an option: {field}, {param}
    number: str  # a DECIMAL's text as a number: {path}
    param: str  # a parameter by name: {name}


_SQLITE = _Dialect(
    sqlite_path,
    "EXISTS (SELECT 1 FROM json_each(details, '$.attributes.{field}') WHERE value = {param})",
    "CAST({path} AS REAL)",
    ":{name}",
)
_CYPHER = _Dialect(
    lambda field: f"p.{ATTRIBUTE_PREFIX}{field}",
    "{param} IN p." + ATTRIBUTE_PREFIX + "{field}",
    "toFloat({path})",
    "${name}",
)


def _clauses(tests: Sequence[AttributeTest], params: dict[str, object], sql: _Dialect) -> list[str]:
    clauses = []
    for i, test in enumerate(tests):
        path = sql.path(test.field)
        if test.exists is not None:
            clauses.append(f"{path} IS {'NOT ' if test.exists else ''}NULL")
        elif test.equals is not None:
            params[f"a{i}"] = test.equals
            param = sql.param.format(name=f"a{i}")
            many = test.type is FieldType.MANY_OF
            clauses.append(
                sql.holds.format(field=test.field, param=param) if many else f"{path} = {param}"
            )
        else:
            decimal = test.type is FieldType.DECIMAL
            ranged = sql.number.format(path=path) if decimal else path
            for bound, op, value in (("min", ">=", test.min), ("max", "<=", test.max)):
                if value is not None:
                    # a decimal's bound is compared as a number, as its values are
                    params[f"a{i}{bound}"] = float(str(value)) if decimal else value
                    clauses.append(f"{ranged} {op} {sql.param.format(name=f'a{i}{bound}')}")
    return clauses


def sqlite_clauses(tests: Sequence[AttributeTest], params: dict[str, object]) -> list[str]:
    return _clauses(tests, params, _SQLITE)


def cypher_clauses(tests: Sequence[AttributeTest], params: dict[str, object]) -> list[str]:
    return _clauses(tests, params, _CYPHER)
