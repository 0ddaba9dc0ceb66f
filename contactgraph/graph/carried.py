"""A party read carried by the read that follows it.

`party(id:)` asking for one of its fields (descendants, children, relationships, the
timeline) cost two statements on Neo4j, the party's and the field's, and a statement
costs Neo4j and the driver more than a small read inside one (two parties read in one
statement cost about what one does, in two about twice). The schema knows the field's
read before it reads the party (schema/carried_reads.py), so it opens
`carrying(party_id)` around that read's store call, and a store read that can carry it
(`waiting()`) reads the party too, as `get_parties` would for the same viewer, and sets
`found`. A read that does not leaves `found` None, and the party is read on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .model import Party


@dataclass
class Carried:
    party_id: str
    found: list[Party] | None = None  # [] when the viewer may not see it or there is none

    def take(self, found: list[Party]) -> None:
        self.found = found


_waiting: ContextVar[Carried | None] = ContextVar("carried party read", default=None)


@contextmanager
def carrying(party_id: str) -> Iterator[Carried]:
    """Within this block the next store read that can carry a party's read does."""
    carried = Carried(party_id)
    token = _waiting.set(carried)
    try:
        yield carried
    finally:
        _waiting.reset(token)


def waiting() -> Carried | None:
    """The party read the current read may carry: none, or one already carried."""
    carried = _waiting.get()
    return carried if carried is not None and carried.found is None else None
