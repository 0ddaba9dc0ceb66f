"""How the graph maps onto vCard 4.0 (RFC 6350), both ways: one table each for what
vCard has a word for and the graph too, so export and import cannot drift apart.

vobject parses and serialises content lines (folding, escaping, structured values of
N, ADR, ORG and CATEGORIES) but knows vCard 3.0 only; the 4.0 forms are set here by
hand: VERSION:4.0, KIND, RELATED, TEL as a tel: URI with VALUE=uri, UID as a urn:uuid
URI, REV as a UTC timestamp.
"""

from __future__ import annotations

from typing import Final

from ..model import PartyKind, RelType

VERSION: Final = "4.0"
UID_PREFIX: Final = "urn:uuid:"
TEL_PREFIX: Final = "tel:"
LABEL_PARAM: Final = "X-LABEL"  # a label as the graph has it ("head office"), verbatim
UID_PARAM: Final = "X-UID"  # on an affiliation's ORG: the organization's UID
ROLE_PARAM: Final = "X-ROLE"  # a RELATED edge's role ("neighbours")
ROLE_PROPERTY: Final = "vcard_role"  # an employment's ROLE, beside its TITLE (the role)
# an affiliation's (on its ORG) or a RELATED edge's dates, ISO 8601: when it began, and
# when it ended (ended edges are carried too, so the card keeps the party's past)
SINCE_PARAM: Final = "X-SINCE"
UNTIL_PARAM: Final = "X-UNTIL"
# what vCard has no property for: the party's legal form (NATURAL_PERSON, ...), its
# category (the id; an import takes the name too) and its fiscal data, one value each
LEGAL_FORM: Final = "X-LEGAL-FORM"
CATEGORY: Final = "X-CATEGORY"
FISCAL: dict[str, str] = {
    "vat_number": "X-VAT-NUMBER",
    "tax_code": "X-TAX-CODE",
    "country": "X-FISCAL-COUNTRY",  # whose rules the tax code follows
}

KINDS: dict[PartyKind, str] = {PartyKind.CONTACT: "individual", PartyKind.ORGANIZATION: "org"}
PARTY_KINDS: dict[str, PartyKind] = {kind: party for party, kind in KINDS.items()}

# RELATED's TYPE for each edge a card holds as its from end. RFC 6350 has words for
# KNOWS (acquaintance), and near ones for REPORTS_TO (co-worker) and HEIR_OF (kin);
# an x- value beside them says which edge it is, and is what an import reads.
RELATED_TYPES: dict[RelType, tuple[str, ...]] = {
    RelType.KNOWS: ("acquaintance",),
    RelType.REPORTS_TO: ("co-worker", "x-reports-to"),
    RelType.HEIR_OF: ("kin", "x-heir-of"),
}
# what an import makes of a RELATED by the x- value it carries; any other is KNOWS
RELATED_MARKS: dict[str, RelType] = {
    "x-reports-to": RelType.REPORTS_TO,
    "x-heir-of": RelType.HEIR_OF,
}

# the graph's usual labels and vCard's TYPE words for them, both ways
LABEL_TYPES: dict[str, str] = {
    "office": "work",
    "work": "work",
    "head office": "work",
    "home": "home",
    "private": "home",
    "mobile": "cell",
    "cell": "cell",
}
TYPE_LABELS: dict[str, str] = {"work": "work", "home": "home", "cell": "mobile"}
