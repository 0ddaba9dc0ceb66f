"""Duplicate candidates on the embedded store: blocks are index ranges of party_keys, read
at most BLOCK_CAP + 1 rows deep, and candidates are judged from their key rows alone
(graph/duplicates.py), so a look-up costs the few blocks a party is in, never a scan."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

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
from . import jobs
from .scopes import Reach

Key = tuple[str, str]


def _profiles(
    conn: sqlite3.Connection, ids: Iterable[str], inside: Reach, live: bool
) -> dict[str, Profile]:
    """The profiles of those of the parties inside the scope (and not archived, if live),
    from their key rows."""
    kinds = {
        row[0]: PartyKind(row[1])
        for row in conn.execute(
            "SELECT id, kind FROM parties WHERE id IN (SELECT value FROM json_each(:ids)) "
            f"AND (:live = 0 OR archived_at IS NULL) AND {inside.test('id')}",
            {**inside.params, "ids": json.dumps(sorted(set(ids))), "live": live},
        )
    }
    found: dict[str, set[Key]] = {party_id: set() for party_id in kinds}
    for party_id, kind, value in conn.execute(
        "SELECT party_id, kind, value FROM party_keys "
        "WHERE party_id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(kinds)),),
    ):
        found[party_id].add((kind, value))
    return {i: Profile(i, kinds[i], frozenset(keys)) for i, keys in found.items()}


def _block(conn: sqlite3.Connection, key: Key) -> list[str]:
    """The parties holding a key, or none when more than BLOCK_CAP do."""
    rows = conn.execute(
        "SELECT party_id FROM party_keys WHERE kind = ? AND value = ? LIMIT ?",
        (*key, BLOCK_CAP + 1),
    ).fetchall()
    return [] if len(rows) > BLOCK_CAP else [row[0] for row in rows]


def _ranked(
    conn: sqlite3.Connection,
    subjects: Sequence[Profile],
    query: DuplicateQuery,
    inside: Reach,
    later: bool = False,
) -> dict[str, list[Match]]:
    """Each subject's candidates inside the scope, not archived, best first (`later`: see
    candidate_ids)."""
    blocks: dict[Key, list[str]] = {}
    wanted: dict[str, set[str]] = {}
    for subject in subjects:
        jobs.check()
        found: set[str] = set()
        for key in subject.lookups(query.fiscal):
            if key not in blocks:
                blocks[key] = _block(conn, key)
            found.update(blocks[key])
        wanted[subject.id] = candidate_ids(subject.id, found, later)
    others = _profiles(conn, set().union(*wanted.values()), inside, live=True)
    return {
        s.id: rank(s, (others[i] for i in wanted[s.id] if i in others), query) for s in subjects
    }


def possible(
    conn: sqlite3.Connection, party_ids: Sequence[str], query: DuplicateQuery, inside: Reach
) -> dict[str, list[Match]]:
    subjects = _profiles(conn, party_ids, inside, live=False)
    found = _ranked(conn, list(subjects.values()), query, inside)
    return {party_id: matches[: query.first] for party_id, matches in found.items()}


def of_new(
    conn: sqlite3.Connection, party: Party, query: DuplicateQuery, inside: Reach
) -> list[Match]:
    """The candidates of a party not yet written."""
    return _ranked(conn, [profile_of(party)], query, inside)[party.id][: query.first]


def pairs(
    conn: sqlite3.Connection, query: DuplicateQuery, after: str | None, inside: Reach
) -> PairPage:
    """A page of pairs: parties examined in id order from the cursor's, in chunks, until
    the page is full or PAGE_SCAN parties were examined."""
    collector = PairCollector(query, after)
    kinds = [k.value for k in query.kinds or PartyKind]
    start, after_start = collector.start, ">="  # the cursor's party may have pairs left
    while (n := collector.chunk()) > 0:
        ids = [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM parties WHERE id {after_start} :start AND archived_at IS NULL "
                "AND kind IN (SELECT value FROM json_each(:kinds)) "
                f"AND {inside.members('id')} ORDER BY id LIMIT :n",
                {**inside.params, "start": start, "kinds": json.dumps(kinds), "n": n},
            )
        ]
        subjects = _profiles(conn, ids, inside, live=True)
        ordered = [subjects[i] for i in ids if i in subjects]
        if collector.add(ordered, _ranked(conn, ordered, query, inside, later=True)):
            return collector.page(ended=False)
        if len(ids) < n:
            return collector.page(ended=True)
        start, after_start = ids[-1], ">"
    return collector.page(ended=False)
