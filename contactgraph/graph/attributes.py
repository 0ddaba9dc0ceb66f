"""A category's own fields on its parties: each value checked and brought to one JSON
form before any store writes it, so both stores hold, filter and show the same thing.

Stored forms: TEXT, ONE_OF, PARTY and URL as text; NUMBER as a JSON number; DECIMAL as
canonical text (exact; compared as a number by range filters); BOOLEAN as true/false;
DATE as YYYY-MM-DD; MANY_OF as a list in the order of the field's options; EMAIL as
email-validator's normal form; PHONE in E.164 (contactdata.py does both).

Like contact data, a write judges only the values it brings: a value the party holds
already passes as it is, and a required field the party already lacked under the same
category does not block an unrelated change. So a category changed after its parties
were written never blocks them; `Category.violations` lists what no longer fits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from . import contactdata
from .errors import BadUserInput, InvalidValue, MissingValue, UnknownParty
from .model import AttributeTest, Category, FieldDef, FieldType, Party

NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # safe to name a JSON path and a property
MAX_TEXT = 2000  # characters of a TEXT value
MAX_OPTIONS = 100
MAX_LABEL = 200  # characters of a field's label, and of each of its options
MAX_FIELDS = 50  # of one category
CHOICES = frozenset({FieldType.ONE_OF, FieldType.MANY_OF})
# compared by range filters (DECIMAL as a number, DATE as ISO text)
RANGED = frozenset({FieldType.NUMBER, FieldType.DECIMAL, FieldType.DATE})


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("is not text")
    text = raw.strip()
    if not text:
        raise ValueError("is empty")
    if len(text) > MAX_TEXT:
        raise ValueError(f"is longer than {MAX_TEXT} characters")
    return text


def _number(raw: Any) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError("is not a number")
    return raw


def _decimal(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError("is not a decimal number")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError("is not a decimal number") from None
    if not value.is_finite():
        raise ValueError("is not a decimal number")
    return format(value, "f")


def _boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError("is not true or false")
    return raw


def _date(raw: Any) -> str:
    try:
        return date.fromisoformat(_text(raw)).isoformat()
    except ValueError:
        raise ValueError("is not a date (YYYY-MM-DD)") from None


def _url(raw: Any) -> str:
    text = _text(raw)
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("is not an http or https URL")
    return text


def _one_of(field: FieldDef, raw: Any) -> str:
    if raw not in field.options:
        raise ValueError(f"is not one of {', '.join(field.options)}")
    return str(raw)


def _many_of(field: FieldDef, raw: Any) -> list[str]:
    if not isinstance(raw, list):
        raise ValueError("is not a list of options")
    chosen = set()
    for item in raw:
        if item not in field.options:
            raise ValueError(f"holds {item!r}, not one of {', '.join(field.options)}")
        if item in chosen:
            raise ValueError(f"holds {item!r} twice")
        chosen.add(item)
    return [option for option in field.options if option in chosen]


def value(field: FieldDef, raw: Any, region: str | None = None) -> Any:
    """The value in stored form; ValueError saying why it is not one."""
    kind = field.type
    if kind is FieldType.NUMBER:
        return _number(raw)
    if kind is FieldType.DECIMAL:
        return _decimal(raw)
    if kind is FieldType.BOOLEAN:
        return _boolean(raw)
    if kind is FieldType.DATE:
        return _date(raw)
    if kind is FieldType.ONE_OF:
        return _one_of(field, raw)
    if kind is FieldType.MANY_OF:
        return _many_of(field, raw)
    if kind is FieldType.URL:
        return _url(raw)
    if kind is FieldType.EMAIL:
        return contactdata.email_address(_text(raw))
    if kind is FieldType.PHONE:
        return contactdata.phone_e164(_text(raw), region)
    return _text(raw)  # TEXT, PARTY (an id: that it exists is the store's to check)


def _shown(raw: Any) -> str:
    return raw if isinstance(raw, str) else repr(raw)


def checked(
    party: Party, category: Category | None, region: str | None, before: Party | None
) -> dict[str, Any]:
    """The party's attributes as stored: each checked against its field (InvalidValue
    naming `attributes.<field>`), defaults given, nulls dropped."""
    given = {name: raw for name, raw in party.attributes.items() if raw is not None}
    fields = {f.name: f for f in category.fields} if category is not None else {}
    for name in given:
        if name not in fields:
            owner = f"category {category.name!r}" if category else "a party without a category"
            raise InvalidValue(
                f"attributes.{name}", _shown(given[name]), f"is not a field of {owner}"
            )
    held = before.attributes if before is not None else {}
    same_category = before is not None and before.category_id == party.category_id
    result: dict[str, Any] = {}
    for name, field in fields.items():
        raw = given.get(name, field.default)
        if raw is None:
            if field.required and not (same_category and name not in held):
                assert category is not None
                raise MissingValue(
                    f"attributes.{name}", f"is required by category {category.name!r}"
                )
            continue
        if name in held and held[name] == raw:
            result[name] = raw
            continue
        try:
            result[name] = value(field, raw, contactdata.home_country(party, region))
        except ValueError as error:
            raise InvalidValue(f"attributes.{name}", _shown(raw), str(error)) from None
    return result


def references(party: Party, category: Category | None, before: Party | None) -> dict[str, str]:
    """The PARTY values a write brings, by field: the store checks that each names a party."""
    held = before.attributes if before is not None else {}
    fields = category.fields if category is not None else ()
    return {
        f.name: party.attributes[f.name]
        for f in fields
        if f.type is FieldType.PARTY
        and f.name in party.attributes
        and held.get(f.name) != party.attributes[f.name]
    }


def check_references(named: Mapping[str, str], found: Collection[str]) -> None:
    """NOT_FOUND naming the field of the first PARTY value that names no party."""
    for name, party_id in named.items():
        if party_id not in found:
            raise UnknownParty(f"attributes.{name}", party_id)


def violations(party: Party, category: Category, region: str | None) -> list[str]:
    """Why a stored party no longer fits its category, as each check words it."""
    found: list[str] = []
    if category.kinds and party.kind not in category.kinds:
        found.append(f"kind {party.kind.value} is not one the category allows")
    if category.legal_forms and party.legal_form not in category.legal_forms:
        found.append(f"legal form {party.legal_form.value} is not one the category allows")
    unit = party.unit_type
    if unit is not None and category.unit_types and unit not in category.unit_types:
        found.append(f"level {unit} is not one the category allows")
    fields = {f.name: f for f in category.fields}
    for name, raw in sorted(party.attributes.items()):
        field = fields.get(name)
        if field is None:
            found.append(f"attributes.{name} is not a field of the category")
            continue
        try:
            if value(field, raw, contactdata.home_country(party, region)) != raw:
                found.append(f"attributes.{name} is not in its stored form")
        except ValueError as error:
            found.append(f"attributes.{name} {_shown(raw)!r} {error}")
    for name, field in fields.items():
        if field.required and field.default is None and name not in party.attributes:
            found.append(f"attributes.{name} is required")
    return found


def check_field(field: FieldDef) -> FieldDef:
    """A field as a category may hold it: a plain name, options where it chooses, a
    default that is a value of it (stored form)."""
    where = f"fields.{field.name}"
    if not NAME.fullmatch(field.name):
        raise InvalidValue(
            "fields.name",
            field.name,
            "must be 1-40 lower-case letters, digits or '_', first a letter",
        )
    options = tuple(o.strip() for o in field.options)
    if len(field.label) > MAX_LABEL or any(len(o) > MAX_LABEL for o in options):
        raise InvalidValue(where, field.name, f"has a label or option over {MAX_LABEL} characters")
    if field.type in CHOICES:
        if not options or len(options) > MAX_OPTIONS:
            raise MissingValue(f"{where}.options", f"must hold 1 to {MAX_OPTIONS} options")
        if len(set(options)) != len(options) or not all(options):
            raise InvalidValue(
                f"{where}.options", ", ".join(options), "must be distinct and not empty"
            )
    elif options:
        raise InvalidValue(
            f"{where}.options", ", ".join(options), f"do not apply to {field.type.value}"
        )
    field = FieldDef(
        field.name, field.type, field.label.strip(), field.required, field.default, options
    )
    if field.default is not None:
        try:
            field = FieldDef(
                field.name,
                field.type,
                field.label,
                field.required,
                value(field, field.default),
                options,
            )
        except ValueError as error:
            raise InvalidValue(f"{where}.default", _shown(field.default), str(error)) from None
    return field


def check_fields(fields: tuple[FieldDef, ...]) -> tuple[FieldDef, ...]:
    if len(fields) > MAX_FIELDS:
        raise BadUserInput(f"a category may have at most {MAX_FIELDS} fields")
    names = [f.name for f in fields]
    repeated = next((n for n in names if names.count(n) > 1), None)
    if repeated is not None:
        raise InvalidValue("fields.name", repeated, "is given twice")
    return tuple(check_field(f) for f in fields)


def field_types(categories: Mapping[str, Category]) -> dict[str, FieldDef]:
    """Every field name any category has, with its definition (the first category's, by
    id, where two share a name)."""
    found: dict[str, FieldDef] = {}
    for category_id in sorted(categories):
        for field in categories[category_id].fields:
            found.setdefault(field.name, field)
    return found


def test_of(test: AttributeTest, fields: Mapping[str, FieldDef]) -> AttributeTest:
    """A filter's condition with its values in stored form, so stores compare like with
    like; BAD_USER_INPUT naming the field when no category has it or a value is not one."""
    where = f"filter.attributes.{test.field}"
    field = fields.get(test.field)
    if field is None:
        raise InvalidValue("filter.attributes.field", test.field, "is not a field of any category")
    given = [
        test.equals is not None,
        test.min is not None or test.max is not None,
        test.exists is not None,
    ]
    if sum(given) != 1:
        raise BadUserInput(f"{where}: give one of equals, min/max or exists")
    if (test.min is not None or test.max is not None) and field.type not in RANGED:
        raise InvalidValue(where, "min/max", f"does not apply to {field.type.value}")
    probe = (
        FieldDef(field.name, FieldType.ONE_OF, options=field.options)
        if field.type is FieldType.MANY_OF
        else field
    )

    def stored(raw: Any) -> Any:
        if raw is None:
            return None
        try:
            return value(probe, raw)
        except ValueError as error:
            raise InvalidValue(where, _shown(raw), str(error)) from None

    return AttributeTest(
        test.field, stored(test.equals), stored(test.min), stored(test.max), test.exists, field.type
    )
