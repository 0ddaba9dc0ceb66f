"""The JSON Lines dump of a graph: a header line, then one line per record, each
`{"type": ..., "record": {...}}`. A record is the model's own dataclass as msgspec
writes it (enums by value, instants in RFC 3339 UTC), so the format follows the model
and a line is read back into it, typed and checked, in one call. The record sits under
its own key because relationships and activities have a `type` field of their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

import msgspec

from ..history import Change
from ..identity import ApiToken, Grant
from ..levels import Level
from ..model import Activity, Category, Party, Relationship
from ..opportunities import Opportunity
from ..pipelines import Pipeline
from ..process_runs import RunStep

FORMAT: Final = "contactgraph-jsonl"
VERSION: Final = 4
# 2: parties carry external_ids; a version 1 dump reads as parties without any
# 3: level lines first; categories carry fields, documents and versions, parties
# attributes (an older dump reads as the built-in levels and categories without them)
# 4: pipeline, opportunity and process step lines after the activities (an older dump
# reads as a graph without any)
READS: Final = frozenset({1, 2, 3, VERSION})

Item = (
    Level
    | Category
    | Party
    | Relationship
    | Activity
    | Pipeline
    | Opportunity
    | RunStep
    | Grant
    | ApiToken
    | Change
)

# the order sections come in, and what each line's type names
SECTIONS: dict[str, type[Any]] = {
    "level": Level,
    "category": Category,
    "party": Party,
    "relationship": Relationship,
    "activity": Activity,
    "pipeline": Pipeline,
    "opportunity": Opportunity,
    "step": RunStep,
    "grant": Grant,
    "token": ApiToken,
    "change": Change,
}


def _field_names(kind: type[Any]) -> tuple[str, ...]:
    """A record type's fields: a dataclass's, or a msgspec struct's (a process step)."""
    if dataclasses.is_dataclass(kind):
        return tuple(f.name for f in dataclasses.fields(kind))
    return tuple(kind.__struct_fields__)


TYPE_OF: dict[type[Any], str] = {kind: name for name, kind in SECTIONS.items()}
# looked up once: dataclasses.fields() on every line of a dump was a tenth of an import
_NAMES = {kind: _field_names(kind) for kind in SECTIONS.values()}
FIELDS = {name: set(_NAMES[kind]) for name, kind in SECTIONS.items()}


class Header(msgspec.Struct, frozen=True):
    """The first line: what wrote the dump, from what, and when."""

    type: str
    format: str
    version: int
    contactgraph: str
    source: str  # the kind of store it was read from: sqlite or neo4j
    exported_at: datetime
    with_grants: bool = False


class Line(msgspec.Struct, frozen=True):
    type: str
    record: msgspec.Raw = msgspec.Raw(b"null")


_encoder = msgspec.json.Encoder()
_line = msgspec.json.Decoder(Line)
_header = msgspec.json.Decoder(Header)
DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(kind) for name, kind in SECTIONS.items()
}


def header_line(source: str, version: str, at: datetime, with_grants: bool) -> bytes:
    header = Header("header", FORMAT, VERSION, version, source, at, with_grants)
    return _encoder.encode(header) + b"\n"


def record_line(item: Item) -> bytes:
    kind = TYPE_OF[type(item)]
    return b'{"type":"' + kind.encode() + b'","record":' + _encoder.encode(item) + b"}\n"


def read_header(text: bytes) -> Header:
    """The header, or ValueError saying what is wrong with it."""
    try:
        header = _header.decode(text)
    except msgspec.DecodeError as error:
        raise ValueError(f"not a {FORMAT} header: {error}") from None
    if header.type != "header" or header.format != FORMAT:
        raise ValueError(f"not a {FORMAT} header (type {header.type!r}, format {header.format!r})")
    if header.version not in READS:
        known = ", ".join(map(str, sorted(READS)))
        raise ValueError(
            f"format version {header.version} is not one this contactgraph reads ({known})"
        )
    return header


def read_line(text: bytes, strict: bool = False) -> tuple[str, Item]:
    """A record line's type and record, or ValueError saying what is wrong with it; with
    `strict`, a field the record does not have is wrong too (a misspelt field would
    otherwise be dropped unseen), at the cost of reading the line twice."""
    try:
        line = _line.decode(text)
        decoder = DECODERS.get(line.type)
        if decoder is None:
            raise ValueError(f"unknown type {line.type!r}; known: {', '.join(SECTIONS)}")
        item: Item = decoder.decode(line.record)
        if strict:
            unknown = sorted(set(msgspec.json.decode(line.record)) - FIELDS[line.type])
            if unknown:
                raise ValueError(f"a {line.type} has no field {', '.join(unknown)}")
    except msgspec.DecodeError as error:
        raise ValueError(str(error)) from None
    naive = next(_naive_times(item), None)
    if naive is not None:
        raise ValueError(f"{naive} has no UTC offset")
    return line.type, item


def _naive_times(item: Item) -> Iterator[str]:
    """The fields holding a time without an offset: stores compare instants in UTC."""
    for name in _NAMES[type(item)]:
        value = getattr(item, name)
        if isinstance(value, datetime) and value.utcoffset() is None:
            yield name


@dataclasses.dataclass
class DumpBatch:
    """Records of a checked dump written together, in section order: what one transaction
    of an import writes (on the embedded store, one of the steps of its one transaction)."""

    levels: list[Level] = dataclasses.field(default_factory=list)
    categories: list[Category] = dataclasses.field(default_factory=list)
    parties: list[Party] = dataclasses.field(default_factory=list)
    relationships: list[Relationship] = dataclasses.field(default_factory=list)
    activities: list[Activity] = dataclasses.field(default_factory=list)
    pipelines: list[Pipeline] = dataclasses.field(default_factory=list)
    opportunities: list[Opportunity] = dataclasses.field(default_factory=list)
    steps: list[RunStep] = dataclasses.field(default_factory=list)
    grants: list[Grant] = dataclasses.field(default_factory=list)
    tokens: list[ApiToken] = dataclasses.field(default_factory=list)
    changes: list[Change] = dataclasses.field(default_factory=list)
    lines: int = 0  # the dump's lines it holds, for progress

    def add(self, kind: str, item: Item) -> None:
        getattr(self, _LISTS[kind]).append(item)
        self.lines += 1


_LISTS = {
    "level": "levels",
    "category": "categories",
    "party": "parties",
    "relationship": "relationships",
    "activity": "activities",
    "pipeline": "pipelines",
    "opportunity": "opportunities",
    "step": "steps",
    "grant": "grants",
    "token": "tokens",
    "change": "changes",
}
