"""The GraphQL types of duplicate detection (graph/duplicates.py, docs/duplicates.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from ..graph import duplicates
from .enums import described_enum

if TYPE_CHECKING:
    from .types import Party

DuplicateSignal = described_enum(
    duplicates.Signal,
    "What two parties share: NAME (names alike, nameSimilarity at least "
    f"{duplicates.NAME_MATCH}), EMAIL, PHONE (E.164), VAT, TAX_CODE (counted for viewers "
    "with FISCAL everywhere only), ADDRESS (street, postal code and country).",
    {
        "NAME": f"Their names are alike: nameSimilarity at least {duplicates.NAME_MATCH}.",
        "EMAIL": "They share an e-mail address.",
        "PHONE": "They share a phone number, compared in E.164.",
        "VAT": "They share a VAT number; counted for viewers with FISCAL everywhere only.",
        "TAX_CODE": "They share a tax code; counted for viewers with FISCAL everywhere only.",
        "ADDRESS": "They share an address: street, postal code and country.",
    },
    name="DuplicateSignal",
)
SIGNALS = "What the two share, beside the score."
_PARTY = Annotated["Party", strawberry.lazy("contactgraph.schema.types")]


@strawberry.type(description="A party that may be the same as the one asked about, and why.")
class DuplicateCandidate:
    party: _PARTY = strawberry.field(description="The party that may be the same.")
    score: float = strawberry.field(
        description="0..1: how likely the two are one party (docs/duplicates.md)."
    )
    name_similarity: float = strawberry.field(
        description="0..1: how alike the names are, folded (case, accents, legal forms, "
        "word order)."
    )
    signals: list[DuplicateSignal] = strawberry.field(description=SIGNALS)

    @classmethod
    def of(cls, match: duplicates.Match, party: Party) -> DuplicateCandidate:
        return cls(
            party=party,
            score=match.score,
            name_similarity=match.name_similarity,
            signals=list(match.signals),
        )


@strawberry.type(description="Two parties that may be one: `party` has the smaller id.")
class DuplicatePair:
    party: _PARTY = strawberry.field(description="The one of the two with the smaller id.")
    other: _PARTY = strawberry.field(description="The other one.")
    score: float = strawberry.field(description="0..1, as on DuplicateCandidate.")
    name_similarity: float = strawberry.field(description="0..1, as on DuplicateCandidate.")
    signals: list[DuplicateSignal] = strawberry.field(description=SIGNALS)

    @classmethod
    def of(cls, match: duplicates.Match, party: Party, other: Party) -> DuplicatePair:
        return cls(
            party=party,
            other=other,
            score=match.score,
            name_similarity=match.name_similarity,
            signals=list(match.signals),
        )
