"""Query values that work out their hash once.

A dataloader hashes its key at every step of a load: its cache, the batch's grouping by
query, the lookup of each answer. A frozen dataclass hashes field by field each time,
through tuples of enums whose hash is Python code: on the page of 50 organizations that
was 6 % of the server's CPU. Queries are immutable, so their first hash stands.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def hashed_once(cls: type[T]) -> type[T]:
    """Decorate a frozen dataclass (above @dataclass) so that its hash, by the same
    fields, is kept on the instance the first time it is asked for."""
    by_fields = cls.__hash__

    def __hash__(self: Any) -> int:
        kept: int | None = self.__dict__.get("_hash")
        if kept is None:
            kept = by_fields(self)
            object.__setattr__(self, "_hash", kept)
        return kept

    cls.__hash__ = __hash__  # type: ignore[method-assign]
    return cls
