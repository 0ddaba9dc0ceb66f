"""Duplicate detection, the same on every store: the keys a party is compared by, which of
them block candidates, and the score of a pair (docs/duplicates.md).

Nothing compares all pairs. A party's keys are its e-mail addresses, VAT number and tax
code (contactdata.keys), its phone numbers (E.164), its addresses (street, postal code and
country folded into one string), each word of its folded name and the whole name with its
words sorted; the store indexes them. Its candidates are the parties sharing a key with
it, a key shared by more than BLOCK_CAP parties left out as too common to tell anything
(a first name, "association", a switchboard), and each candidate is scored here, from the
keys alone. Name keys carry the party's kind: only parties of one kind are compared.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from . import contactdata, externalids
from .cursors import decode_cursor, encode_cursor
from .errors import BadUserInput
from .hashed import hashed_once
from .model import Address, Party, PartyKind


class Signal(enum.Enum):
    """What two parties were found to share."""

    NAME = "NAME"  # names at least NAME_MATCH similar
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    VAT = "VAT"
    TAX_CODE = "TAX_CODE"
    ADDRESS = "ADDRESS"


# how much each shared key says that two parties are one (a noisy-OR: see score())
WEIGHTS = {
    Signal.EMAIL: 0.7,
    Signal.PHONE: 0.6,
    Signal.VAT: 0.95,
    Signal.TAX_CODE: 0.95,
    Signal.ADDRESS: 0.3,
}
NAME_WEIGHT = 0.9  # what identical names say
NAME_FLOOR = 0.6  # a name similarity that says nothing; above it the weight grows linearly
NAME_MATCH = 0.85  # the similarity from which NAME is a signal

DEFAULT_MIN_SCORE = 0.5
EXTERNAL = "ext"  # the kind of an external id's key (externalids.py)
BLOCK_CAP = 200
"""A key shared by more parties than this blocks nothing: too common to tell duplicates."""
PAGE_SCAN = 500
"""The most parties one page of duplicate pairs examines (docs/duplicates.md)."""
SCAN_CHUNKS = (5, 20, 100)  # parties examined together: few first, as a page may fill soon

# the key kinds that are signals; the others ("name": a word, "names": the sorted name)
# only find candidates
_SIGNAL_OF = {
    "email": Signal.EMAIL,
    "phone": Signal.PHONE,
    "vat": Signal.VAT,
    "tax": Signal.TAX_CODE,
    "address": Signal.ADDRESS,
}
_FISCAL_KEYS = frozenset({"vat", "tax"})

# folded: case, accents, German letters written out, dots and apostrophes dropped
_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "æ": "ae", "ø": "oe", "œ": "oe"})
_DROPPED = str.maketrans({".": None, "'": None, "\u2019": None})  # ' and a typographic one
_WORD = re.compile(r"[^\W_]+")
LEGAL_FORMS = frozenset(
    {
        *("gmbh", "mbh", "gesmbh", "ag", "kg", "kgaa", "ohg", "og", "gbr", "ug", "ev", "eg"),
        *("eu", "se", "co", "ltd", "limited", "inc", "llc", "llp", "lp", "plc", "corp"),
        *("sa", "srl", "spa", "sas", "sarl", "snc", "sagl", "sapa", "sl", "bv", "nv", "ab"),
    }
)
STOP_WORDS = frozenset(
    {
        *("the", "and", "und", "of", "et", "der", "die", "das"),
        *("dr", "prof", "mag", "dipl", "ing", "herr", "frau", "mr", "mrs", "ms"),
    }
)


def fold(text: str) -> list[str]:
    """The words of a text as they are compared: Müller, MUELLER and Mueller are one."""
    lowered = unicodedata.normalize("NFC", text).casefold().translate(_SPELLED)
    decomposed = unicodedata.normalize("NFKD", lowered.translate(_DROPPED))
    return _WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


def name_words(text: str) -> list[str]:
    """A name's words without legal forms ("GmbH", "S. A.", "& Co. KG") and stop words,
    sorted; a name of nothing else keeps its words."""
    words = fold(text)
    kept: list[str] = []
    i = 0
    while i < len(words):
        run = i
        while run < len(words) and len(words[run]) == 1:
            run += 1
        if run - i > 1 and "".join(words[i:run]) in LEGAL_FORMS:  # S. A. written spaced
            i = run
            continue
        if words[i] not in LEGAL_FORMS | STOP_WORDS:
            kept.append(words[i])
        i += 1
    return sorted(kept or words)


def _party_name(party: Party) -> str:
    if party.kind is PartyKind.ORGANIZATION and party.name:
        return party.name
    return party.display_name


def _address(address: Address) -> str | None:
    """Street, postal code and country as one key; "Museumstr. 4" is "Museum Strasse 4"."""
    if not address.street or not address.postal_code:
        return None
    street = re.sub(r"str(?=\d|$)", "strasse", "".join(fold(address.street)))
    postal = "".join(fold(address.postal_code))
    return f"{(address.country or '-').upper()}|{postal}|{street}"


def keys(party: Party) -> list[tuple[str, str]]:
    """Every (kind, value) the party is compared and found by, each once."""
    held = contactdata.keys(party)
    found = [("email", e) for e in held.emails]
    found += [("vat", held.vat)] if held.vat else []
    found += [("tax", held.tax)] if held.tax else []
    kind = party.kind.value
    words = name_words(_party_name(party))
    found += [("name", f"{kind}:{w}") for w in words if len(w) > 1]
    found += [("names", f"{kind}:{'_'.join(words)}")] if words else []
    found += [("phone", f"{kind}:{p.e164}") for p in party.phones if p.e164]
    addresses = (_address(a) for a in party.addresses)
    found += [("address", f"{kind}:{a}") for a in addresses if a]
    # looked up by, never compared by (Profile.lookups): each is one party's at most
    found += [(EXTERNAL, externalids.token(x)) for x in party.external_ids]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Profile:
    """A party as duplicates are judged: its kind, its folded name and its keys."""

    id: str
    kind: PartyKind
    keys: frozenset[tuple[str, str]]
    name: str = field(init=False)

    def __post_init__(self) -> None:
        names = next((v for k, v in self.keys if k == "names"), "")
        object.__setattr__(self, "name", names.partition(":")[2].replace("_", " "))

    def lookups(self, fiscal: bool) -> list[tuple[str, str]]:
        """The keys its candidates are found by; fiscal codes only where they may count."""
        return sorted(
            k for k in self.keys if k[0] != EXTERNAL and (fiscal or k[0] not in _FISCAL_KEYS)
        )


def profile(party: Party) -> Profile:
    return Profile(party.id, party.kind, frozenset(keys(party)))


def similarity(a: str, b: str) -> float:
    """How alike two folded names are, 0..1 (rapidfuzz's ratio of the sorted words); names
    holding different numbers ("Lindenstrasse 12", "Lindenstrasse 14") are different."""
    if not a or not b:
        return 0.0
    numbers_a = {w for w in a.split() if any(c.isdigit() for c in w)}
    numbers_b = {w for w in b.split() if any(c.isdigit() for c in w)}
    if numbers_a and numbers_b and numbers_a != numbers_b:
        return 0.0
    return fuzz.ratio(a, b) / 100


def score(name_similarity: float, signals: Iterable[Signal]) -> float:
    """1 - (1 - name evidence) x the product of (1 - weight) over the other signals: each is
    independent evidence, and none alone reaches 1. Rounded to three places."""
    evidence = NAME_WEIGHT * min(1.0, max(0.0, (name_similarity - NAME_FLOOR) / (1 - NAME_FLOOR)))
    doubt = (1 - evidence) * math.prod(1 - WEIGHTS[s] for s in signals if s is not Signal.NAME)
    return round(1 - doubt, 3)


@dataclass(frozen=True)
class Match:
    """A pair of parties that may be one: party_id the one asked about (in a list of
    pairs, the smaller id), other_id its candidate."""

    party_id: str
    other_id: str
    score: float
    name_similarity: float
    signals: tuple[Signal, ...]


def compare(a: Profile, b: Profile, fiscal: bool) -> Match:
    shared = {kind for kind, _ in a.keys & b.keys if kind in _SIGNAL_OF}
    found = {_SIGNAL_OF[k] for k in shared if fiscal or k not in _FISCAL_KEYS}
    alike = round(similarity(a.name, b.name), 3)
    if alike >= NAME_MATCH:
        found.add(Signal.NAME)
    signals = tuple(s for s in Signal if s in found)
    return Match(a.id, b.id, score(alike, signals), alike, signals)


@hashed_once
@dataclass(frozen=True)
class DuplicateQuery:
    first: int
    min_score: float = DEFAULT_MIN_SCORE
    kinds: tuple[PartyKind, ...] = ()  # lists of pairs: these kinds only (none: every kind)
    fiscal: bool = False  # VAT numbers and tax codes count: the guard sets it per viewer


def check_min_score(value: float) -> float:
    if not 0 <= value <= 1:
        raise BadUserInput("minScore must be between 0 and 1")
    return value


def candidate_ids(subject_id: str, found: Iterable[str], later: bool) -> set[str]:
    """The parties its blocks found for a subject, but itself; with `later`, those with a
    greater id only (a list of pairs takes each pair at its smaller id)."""
    return {i for i in found if i > subject_id or (i != subject_id and not later)}


def ranked(subject: Profile, others: Iterable[Profile], query: DuplicateQuery) -> list[Match]:
    """The candidates of one kind with the subject scoring at least min_score, best first
    (ties by id)."""
    found = [
        match
        for other in others
        if other.id != subject.id and other.kind is subject.kind
        for match in [compare(subject, other, query.fiscal)]
        if match.score >= query.min_score
    ]
    return sorted(found, key=lambda m: (-m.score, m.other_id))


# -- pages of pairs -------------------------------------------------------------


@dataclass(frozen=True)
class PairPage:
    pairs: list[Match]
    has_next: bool
    end_cursor: str | None


def pair_cursor(match: Match) -> str:
    return encode_cursor(match.party_id, f"{match.score:.3f}", match.other_id)


@dataclass(frozen=True)
class PairCursor:
    """Where a page of pairs goes on: after this pair of party_id, or after all its pairs
    (score -1)."""

    party_id: str
    score: float
    other_id: str

    @classmethod
    def decode(cls, cursor: str | None) -> PairCursor:
        if cursor is None:
            return cls("", -1.0, "")
        party_id, text, other_id = decode_cursor(cursor, 3)
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not -1 <= value <= 1:
            raise BadUserInput(f"{cursor!r} is not a cursor of this list")
        return cls(party_id, value, other_id)

    def passed(self, match: Match) -> bool:
        """Whether the pair comes after the cursor: by party, then score down, then id."""
        if match.party_id != self.party_id:
            return match.party_id > self.party_id
        return (-match.score, match.other_id) > (-self.score, self.other_id)


class PairCollector:
    """Fills a page of pairs from parties examined in id order: each pair once, at its
    party with the smaller id, after the cursor; at most PAGE_SCAN parties examined."""

    def __init__(self, query: DuplicateQuery, after: str | None) -> None:
        self.query = query
        self.cursor = PairCursor.decode(after)
        self.pairs: list[Match] = []
        self.examined = 0
        self.chunks = 0
        self.last: str | None = None

    @property
    def start(self) -> str:
        """The first party id to examine: the cursor's own may have pairs left."""
        return self.cursor.party_id

    def chunk(self) -> int:
        """How many parties to examine next: 0 when the page has examined its share."""
        size = SCAN_CHUNKS[min(self.chunks, len(SCAN_CHUNKS) - 1)]
        self.chunks += 1
        return min(size, PAGE_SCAN - self.examined)

    def add(self, subjects: Sequence[Profile], found: dict[str, list[Match]]) -> bool:
        """Take the pairs of the next parties in id order; whether the page is full."""
        for subject in subjects:
            self.examined += 1
            self.last = subject.id
            for match in found.get(subject.id, ()):
                if match.other_id > subject.id and self.cursor.passed(match):
                    self.pairs.append(match)
                    if len(self.pairs) > self.query.first:
                        return True
        return False

    def page(self, ended: bool) -> PairPage:
        """The page: `ended` when no party is left after the last one examined."""
        first = self.query.first
        if len(self.pairs) > first:
            kept = self.pairs[:first]
            return PairPage(kept, True, pair_cursor(kept[-1]) if kept else None)
        if ended or self.last is None:
            return PairPage(self.pairs, False, pair_cursor(self.pairs[-1]) if self.pairs else None)
        # out of parties to examine: the next page starts after the last one's pairs
        return PairPage(self.pairs, True, encode_cursor(self.last, "-1.000", self.last))
