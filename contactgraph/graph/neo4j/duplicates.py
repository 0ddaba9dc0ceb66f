"""Duplicate candidates on Neo4j. A party's keys (graph/duplicates.py) are the node's
dup_keys, `kind=value` tokens separated by spaces (cypher.key_props), in the full-text
index (search.INDEX) that keeps each token whole: a block is one index query, asked for
BLOCK_CAP + 1 nodes at most, and candidates are judged from their dup_keys alone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..duplicates import (
    BLOCK_CAP,
    DuplicateQuery,
    Match,
    PairCollector,
    PairPage,
    Profile,
    candidate_ids,
)
from ..duplicates import profile as profile_of
from ..duplicates import ranked as rank
from ..model import Party, PartyKind
from .cypher import Reach, Tx, collected
from .pending import GATHERED, current
from .search import INDEX, REFRESHED, exactly

DUP_KEYS = current("p", "dup_keys")

Key = tuple[str, str]


def _profile(row: Sequence[Any]) -> Profile:
    party_id, kind, text = row
    keys = frozenset((k, v) for k, _, v in (t.partition("=") for t in (text or "").split()))
    return Profile(party_id, PartyKind(kind), keys)


async def _profiles(tx: Tx, ids: Iterable[str], inside: Reach, live: bool) -> dict[str, Profile]:
    result = await tx.run(
        "UNWIND $ids AS id MATCH (p:Party {id: id}) "
        f"WHERE ($live = false OR p.archived_at IS NULL) AND {inside.test('p')} "
        f"RETURN collect([p.id, p.kind, {DUP_KEYS}]) AS rows",
        {"ids": sorted(set(ids)), "live": live, **inside.params},
    )
    return {p.id: p for p in map(_profile, await collected(result))}


async def _ranked(
    tx: Tx, subjects: Sequence[Profile], query: DuplicateQuery, inside: Reach, later: bool = False
) -> dict[str, list[Match]]:
    """Each subject's candidates inside the scope, not archived, best first: every block
    in one statement, a block of more than BLOCK_CAP parties left out (`later`: see
    candidate_ids)."""
    lookups = sorted({key for s in subjects for key in s.lookups(query.fiscal)})
    result = await tx.run(
        f"{GATHERED}{REFRESHED}UNWIND $keys AS key CALL (key, pending) {{ "
        f"CALL db.index.fulltext.queryNodes('{INDEX}', key.query, {{limit: $over}}) "
        "YIELD node WITH node WHERE NOT node IN pending RETURN collect(node.id) AS ids } "
        "RETURN collect([key.kind, key.value, ids + [p IN pending "
        f"WHERE key.token IN split({current('p', 'dup_keys')}, ' ') | p.id]])",
        keys=[
            {"kind": k, "value": v, "token": f"{k}={v}", "query": exactly("dup_keys", f"{k}={v}")}
            for k, v in lookups
        ],
        over=BLOCK_CAP + 1,
    )
    blocks: dict[Key, list[str]] = {
        (k, v): ids if len(ids) <= BLOCK_CAP else [] for k, v, ids in await collected(result)
    }
    wanted = {
        s.id: candidate_ids(
            s.id, (i for key in s.lookups(query.fiscal) for i in blocks.get(key, ())), later
        )
        for s in subjects
    }
    others = await _profiles(tx, set().union(*wanted.values()), inside, live=True)
    return {
        s.id: rank(s, (others[i] for i in wanted[s.id] if i in others), query) for s in subjects
    }


async def possible(
    tx: Tx, party_ids: Sequence[str], query: DuplicateQuery, inside: Reach
) -> dict[str, list[Match]]:
    subjects = await _profiles(tx, party_ids, inside, live=False)
    found = await _ranked(tx, list(subjects.values()), query, inside)
    return {party_id: matches[: query.first] for party_id, matches in found.items()}


async def of_new(tx: Tx, party: Party, query: DuplicateQuery, inside: Reach) -> list[Match]:
    """The candidates of a party not yet written."""
    return (await _ranked(tx, [profile_of(party)], query, inside))[party.id][: query.first]


async def pairs(tx: Tx, query: DuplicateQuery, after: str | None, inside: Reach) -> PairPage:
    """A page of pairs: parties examined in id order from the cursor's, in chunks, until
    the page is full or PAGE_SCAN parties were examined."""
    collector = PairCollector(query, after)
    kinds = [k.value for k in query.kinds or PartyKind]
    start, after_start = collector.start, ">="  # the cursor's party may have pairs left
    while (n := collector.chunk()) > 0:
        result = await tx.run(
            f"{inside.parties('p')} WHERE p.id {after_start} $start AND p.archived_at IS NULL "
            "AND p.kind IN $kinds WITH p ORDER BY p.id LIMIT $n "
            f"RETURN collect([p.id, p.kind, {DUP_KEYS}]) AS rows",
            {"start": start, "kinds": kinds, "n": n, **inside.params},
        )
        subjects = [_profile(row) for row in await collected(result)]
        if collector.add(subjects, await _ranked(tx, subjects, query, inside, later=True)):
            return collector.page(ended=False)
        if len(subjects) < n:
            return collector.page(ended=True)
        start, after_start = subjects[-1].id, ">"
    return collector.page(ended=False)
