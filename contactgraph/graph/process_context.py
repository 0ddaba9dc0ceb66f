"""What a write's new runs need read from the store beyond the write itself: the parent
categories a condition tests, and the users their steps go to. A write asks for
(`Wants`) only what its triggered processes name, so a write that starts nothing reads
nothing more; each store reads it (`Found`) inside the write's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .identity import Grant, ScopeKind


@dataclass(frozen=True)
class Wants:
    responsible: frozenset[str] = frozenset()  # parties whose responsible user is needed
    roles: frozenset[tuple[str, str]] = frozenset()  # (role, party): who holds it there
    parents: frozenset[str] = frozenset()  # parties whose parents' categories are tested

    def chains(self) -> set[str]:
        """The parties whose chain up (the party, then the parties above it) is read."""
        return set(self.responsible) | {party for _, party in self.roles}

    def role_names(self) -> set[str]:
        return {role for role, _ in self.roles}


@dataclass(frozen=True)
class Found:
    responsible: Mapping[str, str | None] = field(default_factory=dict)
    holders: Mapping[tuple[str, str], str | None] = field(default_factory=dict)
    parent_categories: Mapping[str, frozenset[str]] = field(default_factory=dict)


def holders(
    wants: Wants, chains: Mapping[str, Sequence[str]], grants: Iterable[Grant]
) -> dict[tuple[str, str], str | None]:
    """Who a ROLE step goes to, per (role, party): of the users holding the role whose
    grant reaches the party, the one whose grant is scoped nearest it (the party itself,
    then each party above it, then an unscoped grant), the longest-held first among
    equals; None when nobody does. A PORTFOLIO grant is not an assignment: it reaches
    what its team is responsible for, not a place in the hierarchy."""
    by_role: dict[str, list[Grant]] = {}
    for grant in grants:
        if grant.scope_kind is ScopeKind.SUBTREE:
            by_role.setdefault(grant.role, []).append(grant)
    found: dict[tuple[str, str], str | None] = {}
    for role, party in wants.roles:
        chain = list(chains.get(party, [party]))
        ranked = [
            (len(chain) if g.scope_id is None else chain.index(g.scope_id), g.granted_at, g)
            for g in by_role.get(role, [])
            if g.scope_id is None or g.scope_id in chain
        ]
        found[role, party] = min(ranked, key=_rank)[2].user_id if ranked else None
    return found


def _rank(item: tuple[int, datetime, Grant]) -> tuple[int, datetime, str]:
    return item[0], item[1], item[2].user_id


def responsible(
    chains: Mapping[str, Sequence[str]], holder: Mapping[str, str]
) -> dict[str, str | None]:
    """The nearest responsible user of each party, from who holds a RESPONSIBLE_FOR edge
    at each party of its chain."""
    return {s: next((holder[p] for p in chain if p in holder), None) for s, chain in chains.items()}
