"""The mapping file of a CSV import: which column holds what (TOML, docs/csv-import.md).
Checked whole before any row is read, every mistake named by its key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..externalids import normalised
from ..model import ExternalId, PartyKind, RelType

MAX_MAPPING_BYTES = 64 * 1024
ADDRESS = ("street", "postal_code", "city", "region", "country")  # one address's parts
# what a column may carry: the party field it fills
# the columns of a party's own fields, in the order an export writes them
PARTY = ("kind", "name", "first_name", "last_name", "legal_form", "category")
FISCAL = ("vat_number", "tax_code", "fiscal_country")
SINGLE = (*PARTY, *FISCAL, *ADDRESS, "tags")
LISTS = ("emails", "phones")
_PARENT_TYPES = {"MEMBER_OF": RelType.MEMBER_OF, "EMPLOYS": RelType.EMPLOYS}


@dataclass(frozen=True)
class Link:
    """A relationship a row makes: to the party whose external id (same source) is in
    column `other`; from the row's party to it, or for `incoming` from it to the row's."""

    other: str
    type: RelType | None = None  # fixed, else read from type_column
    type_column: str | None = None
    role: str | None = None  # columns
    since: str | None = None
    incoming: bool = False
    parent: bool = False  # the [parent] table's: PART_OF for organizations (rows.links)


@dataclass(frozen=True)
class Mapping:
    source: str  # the external ids' system
    id_column: str
    columns: dict[str, str] = field(default_factory=dict)  # SINGLE field -> column
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)  # LISTS field -> columns
    kind: PartyKind | None = None  # every row's, when no kind column
    separator: str = ";"  # between values of one cell: tags, e-mails, phones
    delimiter: str = ","
    links: tuple[Link, ...] = ()  # the parent first, when mapped

    def used(self) -> set[str]:
        """Every column the mapping reads."""
        found = {self.id_column, *self.columns.values()}
        found |= {c for cols in self.lists.values() for c in cols}
        for link in self.links:
            found |= {c for c in (link.other, link.type_column, link.role, link.since) if c}
        return found


def load(path: str) -> Mapping:
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read mapping {path}: {error.strerror}") from None
    if len(raw) > MAX_MAPPING_BYTES:
        raise ConfigError(f"mapping {path} is larger than {MAX_MAPPING_BYTES} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"mapping {path} is not TOML: {error}") from None
    try:
        return parse(data)
    except ConfigError as error:
        raise ConfigError(f"mapping {path}: {error}") from None


def parse(data: dict[str, Any]) -> Mapping:
    _only(
        data, {"source", "id", "kind", "separator", "delimiter", "columns", "parent", "links"}, ""
    )
    source = _text(data, "source")
    try:
        normalised([ExternalId(source, "x")])
    except Exception as error:
        raise ConfigError(f"source {source!r} is not a valid external id source") from error
    columns_table = data.get("columns", {})
    if not isinstance(columns_table, dict):
        raise ConfigError("[columns] must be a table")
    _only(columns_table, {*SINGLE, *LISTS}, "columns.")
    columns = {k: _text(columns_table, k, "columns.") for k in SINGLE if k in columns_table}
    lists = {k: _columns(columns_table, k) for k in LISTS if k in columns_table}
    kind = None
    if "kind" in data:
        kind = _kind(_text(data, "kind"))
    elif "kind" not in columns:
        raise ConfigError("give kind (ORGANIZATION or CONTACT) or a kind column")
    links = [_parent(data["parent"])] if "parent" in data else []
    extra = data.get("links", [])
    if not isinstance(extra, list):
        raise ConfigError("[[links]] must be an array of tables")
    links += [_link(item, f"links[{i}].") for i, item in enumerate(extra)]
    separator = _text(data, "separator") if "separator" in data else ";"
    delimiter = _text(data, "delimiter") if "delimiter" in data else ","
    if len(delimiter) != 1:
        raise ConfigError("delimiter must be one character")
    mapping = Mapping(
        source.strip().lower(),
        _text(data, "id"),
        columns,
        lists,
        kind,
        separator,
        delimiter,
        tuple(links),
    )
    if not any(k in columns for k in ("name", "first_name", "last_name")):
        raise ConfigError("map a name column (name, or first_name and last_name)")
    return mapping


def _only(table: dict[str, Any], known: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown key {prefix}{unknown[0]}; known: {', '.join(sorted(known))}")


def _text(table: dict[str, Any], key: str, prefix: str = "") -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{prefix}{key} must be a non-empty string")
    return value


def _optional(table: dict[str, Any], key: str, prefix: str) -> str | None:
    return _text(table, key, prefix) if key in table else None


def _columns(table: dict[str, Any], key: str) -> tuple[str, ...]:
    value = table[key]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"columns.{key} must be a column name or a list of them")
    return tuple(values)


def _kind(value: str) -> PartyKind:
    if value.upper() not in ("ORGANIZATION", "CONTACT"):
        raise ConfigError(f"kind {value!r} is neither ORGANIZATION nor CONTACT")
    return PartyKind(value.upper())


def _parent(table: Any) -> Link:
    """An organization's parent is PART_OF; a contact's MEMBER_OF, or EMPLOYS from it."""
    if not isinstance(table, dict):
        raise ConfigError("[parent] must be a table")
    _only(table, {"id", "contact_type", "role", "since"}, "parent.")
    contact_type = table.get("contact_type", "MEMBER_OF")
    if contact_type not in _PARENT_TYPES:
        raise ConfigError("parent.contact_type must be MEMBER_OF or EMPLOYS")
    return Link(
        _text(table, "id", "parent."),
        type=_PARENT_TYPES[contact_type],
        role=_optional(table, "role", "parent."),
        since=_optional(table, "since", "parent."),
        parent=True,
    )


def _link(table: Any, prefix: str) -> Link:
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix} must be a table")
    _only(table, {"other", "type", "type_column", "role", "since", "incoming"}, prefix)
    if ("type" in table) == ("type_column" in table):
        raise ConfigError(f"{prefix} give type or type_column, one of them")
    fixed = None
    if "type" in table:
        try:
            fixed = RelType(_text(table, "type", prefix).upper())
        except ValueError:
            raise ConfigError(
                f"{prefix}type {table['type']!r} is not a relationship type"
            ) from None
    incoming = table.get("incoming", False)
    if not isinstance(incoming, bool):
        raise ConfigError(f"{prefix}incoming must be true or false")
    return Link(
        _text(table, "other", prefix),
        type=fixed,
        type_column=_optional(table, "type_column", prefix),
        role=_optional(table, "role", prefix),
        since=_optional(table, "since", prefix),
        incoming=incoming,
    )
