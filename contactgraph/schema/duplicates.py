"""The GraphQL types of duplicate detection (graph/duplicates.py, docs/duplicates.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from ..graph import duplicates

if TYPE_CHECKING:
    from .types import Party

DuplicateSignal = strawberry.enum(
    duplicates.Signal,
    name="DuplicateSignal",
    description="What two parties share: NAME (names alike, nameSimilarity at least "
    f"{duplicates.NAME_MATCH}), EMAIL, PHONE (E.164), VAT, TAX_CODE (counted for viewers "
    "with FISCAL everywhere only), ADDRESS (street, postal code and country).",
)
_PARTY = Annotated["Party", strawberry.lazy("contactgraph.schema.types")]


@strawberry.type(description="A party that may be the same as the one asked about, and why.")
class DuplicateCandidate:
    party: _PARTY
    score: float = strawberry.field(
        description="0..1: how likely the two are one party (docs/duplicates.md)."
    )
    name_similarity: float = strawberry.field(
        description="0..1: how alike the names are, folded (case, accents, legal forms, "
        "word order)."
    )
    signals: list[DuplicateSignal]

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
    party: _PARTY
    other: _PARTY
    score: float = strawberry.field(description="0..1, as on DuplicateCandidate.")
    name_similarity: float
    signals: list[DuplicateSignal]

    @classmethod
    def of(cls, match: duplicates.Match, party: Party, other: Party) -> DuplicatePair:
        return cls(
            party=party,
            other=other,
            score=match.score,
            name_similarity=match.name_similarity,
            signals=list(match.signals),
        )
