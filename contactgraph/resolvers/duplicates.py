"""Duplicate detection for the resolvers: arguments checked, candidates read through the
request's loaders (one store call for any number of parties), and the check a create may
ask for before it writes."""

from __future__ import annotations

from collections.abc import Sequence

from ..graph.duplicates import DEFAULT_MIN_SCORE, DuplicateQuery, Match, check_min_score
from ..graph.errors import PossibleDuplicates
from ..graph.model import Party, PartyKind
from .context import Context

# candidates a refused create names: enough to choose from
REFUSAL_CANDIDATES = 10


def duplicate_query(
    context: Context,
    first: int | None,
    min_score: float | None,
    kinds: Sequence[PartyKind] = (),
) -> DuplicateQuery:
    """first as every page has it (LIMIT_EXCEEDED past the ceiling), minScore in 0..1."""
    return DuplicateQuery(
        context.page(first, None).first,
        check_min_score(DEFAULT_MIN_SCORE if min_score is None else min_score),
        tuple(dict.fromkeys(kinds)),
    )


async def candidates(
    context: Context, party_id: str, first: int | None, min_score: float | None
) -> list[tuple[Match, Party]]:
    query = duplicate_query(context, first, min_score)
    found = await context.loaders.duplicates.load((party_id, query))
    parties = await context.loaders.parties.load_many([m.other_id for m in found])
    return [(m, p) for m, p in zip(found, parties, strict=True) if p is not None]


async def refuse_duplicates(context: Context, party: Party) -> None:
    """PossibleDuplicates (CONFLICT) naming the parties the new one may be, when any scores
    at least --duplicate-threshold; asked before the write, which then does not happen."""
    query = DuplicateQuery(REFUSAL_CANDIDATES, context.settings.duplicate_threshold)
    found = await context.store.duplicates_of(party, query)
    if not found:
        return
    parties = await context.loaders.parties.load_many([m.other_id for m in found])
    named = [
        {
            "id": match.other_id,
            "displayName": other.display_name,
            "score": match.score,
            "nameSimilarity": match.name_similarity,
            "signals": [s.value for s in match.signals],
        }
        for match, other in zip(found, parties, strict=True)
        if other is not None
    ]
    best = named[0]
    raise PossibleDuplicates(
        f"{party.display_name!r} may be {best['displayName']!r} ({best['id']}, score "
        f"{best['score']}) or another party in extensions.duplicates; nothing was written "
        "(send checkDuplicates: false to create it all the same)",
        named,
    )
