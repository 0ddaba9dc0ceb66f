"""Reading an address book: vCard 4.0, and 3.0 as phones and Outlook export it, parsed by
vobject into Cards, each value with the line it came from so an error can name it.

Only what the graph has a place for is read (vcard_writing.py's properties, the X- ones
of vcards.py among them); the rest (PHOTO, BDAY, NOTE, ...) is left out. A card
without KIND is an individual, as RFC 6350 says, unless Apple's X-ABSHOWAS:COMPANY
makes it an organization.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import vobject
from vobject.base import Component, ContentLine, VObjectError

from ..errors import BadUserInput
from ..model import Address, Email, Fiscal, LegalForm, PartyKind, Phone, RelType
from ..times import parse_instant
from . import vcards

MAX_BYTES = 32 * 1024 * 1024  # an address book of some 100,000 cards: one transaction
MAX_CARDS = 50_000
VERSIONS = ("3.0", "4.0")
_UNLABELLED = {"pref", "internet", "voice", "x400"}  # TYPE words that are not labels
# how an error names each fiscal field (InvalidValue.field)
_FISCAL_PATHS = {
    "vat_number": "fiscal.vatNumber",
    "tax_code": "fiscal.taxCode",
    "country": "fiscal.country",
}


class BadCard(BadUserInput):
    """A card that cannot be imported, and why, by the line of the property at fault."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


class BadCards(BadUserInput):
    """Every card of a file that cannot be imported, in line order, so one run of a dry
    run lists all there is to fix."""

    def __init__(self, problems: list[BadCard], cards: int) -> None:
        self.problems = sorted(problems, key=lambda problem: problem.line)
        self.cards = cards
        faults = f"{len(self.problems):,} fault{'s' if len(self.problems) > 1 else ''}"
        super().__init__(f"{faults} in {cards:,} cards")


@dataclass(frozen=True)
class Affiliation:
    """An ORG with its TITLE and ROLE: an employment, or with ROLE alone a membership."""

    line: int
    chain: tuple[str, ...]
    title: str | None
    role: str | None
    uid: str | None = None  # the organization's card, as an export names it (X-UID)
    since: datetime | None = None  # None: as of the import
    until: datetime | None = None

    @property
    def employment(self) -> bool:
        return self.title is not None or self.role is None


@dataclass(frozen=True)
class Related:
    line: int
    uid: str
    type: RelType
    role: str | None
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Card:
    line: int  # of BEGIN:VCARD
    kind: PartyKind
    name: str
    uid: str | None = None
    uid_line: int = 0
    first_name: str | None = None
    last_name: str | None = None
    chain: tuple[str, ...] = ()  # an organization's own units, top down, itself last
    emails: list[tuple[int, Email]] = field(default_factory=list)
    phones: list[tuple[int, Phone]] = field(default_factory=list)
    addresses: list[tuple[int, Address]] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    affiliations: list[Affiliation] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)
    legal_form: LegalForm | None = None  # None: its kind's usual one
    category: str | None = None  # an id or name, as X-CATEGORY gives it
    fiscal: Fiscal | None = None
    # the line of each X- property, by the field path an error names (fiscal.vatNumber)
    field_lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Line:
    """A content line as vobject parsed it (its value a str, or a structure for N, ADR,
    ORG, CATEGORIES), typed for the reading below."""

    number: int
    group: str | None
    name: str
    value: Any
    params: dict[str, list[str]]

    def param(self, name: str) -> list[str]:
        return [str(value) for value in self.params.get(name, [])]


def _lines(component: Component) -> dict[str, list[_Line]]:
    """The card's content lines by property name, in file order."""
    found: dict[str, list[_Line]] = {}
    for child in component.getChildren():
        if isinstance(child, ContentLine):
            line = _Line(
                child.lineNumber or 1, child.group, child.name.upper(), child.value, child.params
            )
            found.setdefault(line.name, []).append(line)
    return found


def id_of_uid(uid: str | None) -> str | None:
    """The party id a urn:uuid UID names (as an export writes them), else None."""
    if not uid or not uid.lower().startswith(vcards.UID_PREFIX):
        return None
    try:
        return str(uuid.UUID(uid[len(vcards.UID_PREFIX) :]))
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _label(line: _Line) -> str | None:
    given = line.param(vcards.LABEL_PARAM)
    if given:
        return _text(given[0])
    words = [w.lower() for w in line.param("TYPE") if w.lower() not in _UNLABELLED]
    return vcards.TYPE_LABELS.get(words[0], words[0]) if words else None


def _values(line: _Line) -> list[str]:
    """A list value's items (ORG, CATEGORIES), each stripped, empty ones left out."""
    values = line.value if isinstance(line.value, list) else [line.value]
    return [str(value).strip() for value in values if value and str(value).strip()]


def _chain(line: _Line) -> tuple[str, ...]:
    chain = tuple(_values(line))
    if not chain:
        raise BadCard(line.number, "ORG names no organization")
    return chain


def _kind(lines: dict[str, list[_Line]]) -> PartyKind:
    kind = lines.get("KIND")
    if kind is None:
        shown = lines.get("X-ABSHOWAS")
        company = shown is not None and str(shown[0].value).upper() == "COMPANY"
        return PartyKind.ORGANIZATION if company else PartyKind.CONTACT
    word = str(kind[0].value).strip().lower()
    if word not in vcards.PARTY_KINDS:
        raise BadCard(
            kind[0].number,
            f"KIND:{word} is not imported: the graph holds individuals and organizations",
        )
    return vcards.PARTY_KINDS[word]


def _names(lines: dict[str, list[_Line]], found: Card) -> None:
    n = lines.get("N")
    if n is not None:
        found.first_name = _text(getattr(n[0].value, "given", None))
        found.last_name = _text(getattr(n[0].value, "family", None))
    if not (found.first_name or found.last_name):
        first, _, last = found.name.rpartition(" ")
        found.first_name, found.last_name = _text(first), _text(last)


def _affiliations(lines: dict[str, list[_Line]], found: Card) -> None:
    groups: dict[str | None, dict[str, _Line]] = {}
    for name in ("ORG", "TITLE", "ROLE"):
        for line in lines.get(name, []):
            groups.setdefault(line.group, {}).setdefault(name, line)
    for group, said in groups.items():
        org = said.get("ORG")
        if org is None:
            continue
        if group is None and found.kind is PartyKind.ORGANIZATION:
            found.chain = _chain(org)
            continue
        title, role = said.get("TITLE"), said.get("ROLE")
        found.affiliations.append(
            Affiliation(
                org.number,
                _chain(org),
                None if title is None else str(title.value).strip(),
                None if role is None else str(role.value).strip(),
                next(iter(org.param(vcards.UID_PARAM)), None),
                *_dates(org),
            )
        )


def _dates(line: _Line) -> tuple[datetime | None, datetime | None]:
    """An affiliation's or RELATED edge's X-SINCE and X-UNTIL."""
    found = []
    for name in (vcards.SINCE_PARAM, vcards.UNTIL_PARAM):
        given = line.param(name)
        try:
            found.append(parse_instant(given[0]) if given else None)
        except BadUserInput as error:
            raise BadCard(line.number, f"{name} {error.message}") from None
    since, until = found
    if since and until and until < since:
        raise BadCard(line.number, f"{vcards.UNTIL_PARAM} is before {vcards.SINCE_PARAM}")
    return since, until


def _own_fields(lines: dict[str, list[_Line]], found: Card) -> None:
    """Legal form, category and fiscal data (vcards.py), where the card gives them."""
    form = lines.get(vcards.LEGAL_FORM)
    if form:
        word = str(form[0].value).strip().upper()
        if word not in LegalForm.__members__:
            forms = ", ".join(f.value for f in LegalForm)
            raise BadCard(form[0].number, f"{vcards.LEGAL_FORM} {word!r} is not one of {forms}")
        found.legal_form = LegalForm(word)
    category = lines.get(vcards.CATEGORY)
    if category:
        found.category = _text(category[0].value)
        found.field_lines["categoryId"] = category[0].number
    fiscal: dict[str, str | None] = {}
    for name, prop in vcards.FISCAL.items():
        given = lines.get(prop)
        if given:
            fiscal[name] = _text(given[0].value)
            found.field_lines[_FISCAL_PATHS[name]] = given[0].number
    if any(fiscal.values()):
        found.fiscal = Fiscal(**fiscal)


def _related(line: _Line) -> Related:
    words = [w.lower() for w in line.param("TYPE")]
    marked = [vcards.RELATED_MARKS[w] for w in words if w in vcards.RELATED_MARKS]
    role = line.param(vcards.ROLE_PARAM)
    uid = _text(line.value)
    if uid is None:
        raise BadCard(line.number, "RELATED names no card")
    kind = marked[0] if marked else RelType.KNOWS
    return Related(line.number, uid, kind, _text(role[0]) if role else None, *_dates(line))


def _address(line: _Line) -> Address:
    def part(name: str) -> str | None:
        return _text(getattr(line.value, name, None))

    return Address(
        _label(line), part("street"), part("code"), part("city"), part("region"), part("country")
    )


def _card(first: int, lines: dict[str, list[_Line]]) -> Card:
    version = lines.get("VERSION")
    if version is None or str(version[0].value).strip() not in VERSIONS:
        at = version[0].number if version else first
        raise BadCard(at, f"a card must be vCard {' or '.join(VERSIONS)} (VERSION)")
    kind = _kind(lines)
    fn = lines.get("FN")
    name = _text(fn[0].value) if fn else None
    if name is None:
        raise BadCard(fn[0].number if fn else first, "a card needs a name (FN)")
    found = Card(first, kind, name)
    uid = lines.get("UID")
    if uid:
        found.uid, found.uid_line = _text(uid[0].value), uid[0].number
    if kind is PartyKind.CONTACT:
        _names(lines, found)
    _affiliations(lines, found)
    _own_fields(lines, found)
    if kind is PartyKind.ORGANIZATION and not found.chain:
        found.chain = (name,)
    for line in lines.get("EMAIL", []):
        found.emails.append((line.number, Email(str(line.value).strip(), _label(line))))
    for line in lines.get("TEL", []):
        number = str(line.value).strip()
        number = number[len(vcards.TEL_PREFIX) :] if number.lower().startswith("tel:") else number
        found.phones.append((line.number, Phone(number, _label(line))))
    found.addresses = [(line.number, _address(line)) for line in lines.get("ADR", [])]
    found.tags = tuple(tag for line in lines.get("CATEGORIES", []) for tag in _values(line))
    found.related = [_related(line) for line in lines.get("RELATED", [])]
    return found


def _components(text: str, problems: list[BadCard]) -> Iterator[Component]:
    """The file's components up to the first that vobject cannot parse, which ends the
    reading (its parser cannot go on past it) and is added to `problems`."""
    try:
        yield from vobject.readComponents(text, allowQP=True)
    except (VObjectError, ValueError, TypeError, AttributeError, IndexError) as error:
        line = getattr(error, "lineNumber", None) or 1
        problems.append(BadCard(line, f"not a vCard: {getattr(error, 'msg', error)}"))


def decoded(data: bytes) -> str:
    """An address book's text: UTF-8, as RFC 6350 has it (and phones and Outlook write)."""
    if len(data) > MAX_BYTES:
        raise BadCard(1, f"an import reads at most {MAX_BYTES // 1024 // 1024} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadCard(line, "not UTF-8: export the address book as UTF-8") from None


def read_cards(text: str) -> list[Card]:
    """Every card of an address book; BadCards naming each one that cannot be read."""
    cards: list[Card] = []
    problems: list[BadCard] = []
    read = 0
    unparsed: list[BadCard] = []
    for component in _components(text, unparsed):
        lines = _lines(component)
        first = min((line.number for found in lines.values() for line in found), default=2) - 1
        if read == MAX_CARDS:
            raise BadCard(first, f"an import reads at most {MAX_CARDS:,} cards")
        read += 1
        try:
            if component.name != "VCARD":
                raise BadCard(first, f"{component.name} is not a VCARD")
            cards.append(_card(first, lines))
        except BadCard as problem:
            problems.append(problem)
    if problems or unparsed:
        raise BadCards(problems + unparsed, read + len(unparsed))
    if not cards:
        raise BadCard(1, "no BEGIN:VCARD: this is not an address book")
    return cards
