"""Reading a CSV file row by row, and a row as the party and links it stands for: its
values normalised and judged by the rules every write meets (rules.check_party), a bad
one named by its line and column."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from collections.abc import Mapping as Map
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

from .. import rules
from ..errors import ConfigError, GraphError, InvalidValue
from ..externalids import normalised
from ..model import (
    Address,
    Category,
    Email,
    ExternalId,
    Fiscal,
    LegalForm,
    Party,
    PartyKind,
    Phone,
    RelType,
    category_named,
)
from .mapping import ADDRESS, FISCAL, Mapping

MAX_FIELD = 64 * 1024  # characters in one cell: more is not a contact field
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DEFAULT_FORMS = {
    PartyKind.ORGANIZATION: LegalForm.LEGAL_PERSON,
    PartyKind.CONTACT: LegalForm.NATURAL_PERSON,
}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None  # None: the row as a whole
    reason: str

    def __str__(self) -> str:
        where = f", column {self.column}" if self.column else ""
        return f"line {self.line}{where}: {self.reason}"


class BadRow(Exception):
    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class LinkRow:
    type: RelType
    other: str  # the other end's external id key
    column: str
    incoming: bool  # from the other end to the row's party
    role: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class Code:
    """A VAT number or tax code a row gives: one party's at most (rules.claims)."""

    kind: str  # "vat" or "tax"
    key: str  # as contactdata.keys compares it
    column: str | None


@dataclass(frozen=True)
class Row:
    line: int
    key: str  # the row's external id key, in the mapping's source
    kind: PartyKind
    legal_form: LegalForm  # the row's, else its kind's default: what a new party gets
    fields: dict[str, object] = field(default_factory=dict)  # model fields the row sets
    links: list[LinkRow] = field(default_factory=list)
    codes: tuple[Code, ...] = ()  # only for a row checked


def read(stream: IO[str], mapping: Mapping) -> Iterator[tuple[int, dict[str, str]] | RowError]:
    """Each data row by column name with its first line's number, or what is wrong with
    it (a line csv cannot read, a wrong number of columns); a header that lacks a mapped
    column is ConfigError."""
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(stream, delimiter=mapping.delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ConfigError("the file is empty: no header line") from None
    except csv.Error as error:
        raise ConfigError(f"line 1: the header cannot be read: {error}") from None
    missing = sorted(mapping.used() - set(header))
    if missing:
        raise ConfigError(f"the header has no column {', '.join(map(repr, missing))}")
    if len(set(header)) != len(header):
        raise ConfigError("the header names a column twice")
    last = reader.line_num
    while True:
        line = last + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            last = reader.line_num
            yield RowError(line, None, f"malformed line: {error}")
            continue
        last = reader.line_num
        if not cells:
            continue  # a blank line
        if len(cells) != len(header):
            yield RowError(line, None, f"{len(cells)} columns where the header has {len(header)}")
            continue
        yield line, dict(zip(header, cells, strict=True))


def key_of(cells: Map[str, str], mapping: Mapping) -> str:
    key = cells[mapping.id_column]
    try:
        return normalised([ExternalId(mapping.source, key)])[0].key
    except InvalidValue as error:
        raise BadRow(mapping.id_column, f"external id {key!r} {error.reason}") from None


def kind_of(cells: Map[str, str], mapping: Mapping) -> PartyKind:
    if mapping.kind is not None:
        return mapping.kind
    column = mapping.columns["kind"]
    value = cells[column].strip().upper()
    if value not in ("ORGANIZATION", "CONTACT"):
        raise BadRow(column, f"kind {cells[column]!r} is neither ORGANIZATION nor CONTACT")
    return PartyKind(value)


def parse(
    line: int,
    cells: Map[str, str],
    mapping: Mapping,
    categories: Map[str, Category],
    region: str | None,
    check: bool = True,
) -> Row:
    """The row as a party's fields in normal form, checked as a new party would be, and
    the links it asks for. Without `check`, the fields as given: for a row already
    checked whose party the store creates, normalising it on the way in."""
    key = key_of(cells, mapping)
    kind = kind_of(cells, mapping)
    fields, origins = _fields(cells, mapping, kind, categories)
    category = categories.get(str(fields.get("category_id") or ""))
    party = Party(
        id="row",
        kind=kind,
        legal_form=fields.get("legal_form", _DEFAULT_FORMS[kind]),  # type: ignore[arg-type]
        display_name="",
        created_at=_EPOCH,
        updated_at=_EPOCH,
        **{k: v for k, v in fields.items() if k != "legal_form"},  # type: ignore[arg-type]
    )
    party = Party(**{**vars(party), "display_name": rules.derived_display_name(party)})
    if not check:
        return Row(line, key, kind, party.legal_form, fields, links(cells, mapping, kind))
    try:
        checked = rules.check_party(party, category, region)
    except InvalidValue as error:
        raise BadRow(origins.get(error.field), f"{error.value!r} {error.reason}") from None
    except GraphError as error:
        raise BadRow(None, error.message) from None
    normal = {name: getattr(checked, name) for name in fields}
    codes = tuple(
        Code(c.kind, c.key, origins.get(c.field)) for c in rules.claims(checked) if c.kind != "ext"
    )
    return Row(line, key, kind, checked.legal_form, normal, links(cells, mapping, kind), codes)


def _cell(cells: Map[str, str], mapping: Mapping, name: str) -> str | None:
    column = mapping.columns.get(name)
    value = cells[column].strip() if column else ""
    return value or None


def _fields(
    cells: Map[str, str], mapping: Mapping, kind: PartyKind, categories: Map[str, Category]
) -> tuple[dict[str, object], dict[str, str]]:
    """The model fields the mapping sets, as the row gives them, and which column each
    InvalidValue field path comes from."""
    columns = mapping.columns
    fields: dict[str, object] = {}
    origins: dict[str, str] = {}
    names = ("name",) if kind is PartyKind.ORGANIZATION else ("first_name", "last_name")
    for name in names:
        if name in columns:
            fields[name] = _cell(cells, mapping, name)
    if "legal_form" in columns:
        value = _cell(cells, mapping, "legal_form")
        try:
            fields["legal_form"] = LegalForm(value.upper()) if value else _DEFAULT_FORMS[kind]
        except ValueError:
            raise BadRow(
                columns["legal_form"],
                f"legal form {value!r} is not one of {', '.join(f.value for f in LegalForm)}",
            ) from None
    if "category" in columns:
        fields["category_id"] = _category(cells, columns["category"], categories)
    if "tags" in columns:
        fields["tags"] = _split(cells[columns["tags"]], mapping.separator)
    for name, make in (("emails", Email), ("phones", Phone)):
        values: list[object] = []
        for column in mapping.lists.get(name, ()):
            for value in _split(cells[column], mapping.separator):
                origins[f"{name}[{len(values)}].{'address' if name == 'emails' else 'number'}"] = (
                    column
                )
                values.append(make(value))
        if name in mapping.lists:
            fields[name] = tuple(values)
    if any(k in columns for k in ADDRESS):
        parts = {k: _cell(cells, mapping, k) for k in ADDRESS}
        fields["addresses"] = (Address(**parts),) if any(parts.values()) else ()
        origins.update({f"addresses[0].{k}": columns[k] for k in ADDRESS if k in columns})
    if any(k in columns for k in FISCAL):
        vat, tax, country = (_cell(cells, mapping, k) for k in FISCAL)
        fields["fiscal"] = Fiscal(vat, tax, country) if vat or tax or country else None
        for path, name in (
            ("vatNumber", "vat_number"),
            ("taxCode", "tax_code"),
            ("country", "fiscal_country"),
        ):
            if name in columns:
                origins[f"fiscal.{path}"] = columns[name]
    return fields, origins


def _split(value: str, separator: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in value.split(separator) if v.strip()))


def _category(cells: Map[str, str], column: str, categories: Map[str, Category]) -> str | None:
    """A category by its id or its name (ignoring case)."""
    value = cells[column].strip()
    if not value:
        return None
    found = category_named(categories, value)
    if found is None:
        raise BadRow(column, f"no category is called {value!r}")
    return found.id


def links(cells: Map[str, str], mapping: Mapping, kind: PartyKind) -> list[LinkRow]:
    """The relationships the row asks for; a row with an empty other-end cell asks none."""
    found = []
    for link in mapping.links:
        other = cells[link.other].strip()
        if not other:
            continue
        incoming = link.incoming
        if link.parent:
            rel_type = RelType.PART_OF if kind is PartyKind.ORGANIZATION else link.type
            incoming = rel_type is RelType.EMPLOYS
        elif link.type_column:
            value = cells[link.type_column].strip().upper()
            try:
                rel_type = RelType(value)
            except ValueError:
                raise BadRow(link.type_column, f"{value!r} is not a relationship type") from None
        else:
            rel_type = link.type
        assert rel_type is not None  # a mapping gives type or type_column (mapping._link)
        role = cells[link.role].strip() or None if link.role else None
        found.append(
            LinkRow(rel_type, other, link.other, incoming, role, _since(cells, link.since))
        )
    return found


def _since(cells: Map[str, str], column: str | None) -> datetime | None:
    value = cells[column].strip() if column else ""
    if not value or column is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BadRow(column, f"{value!r} is not an ISO 8601 date or time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
