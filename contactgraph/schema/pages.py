"""Cursor-paged lists, as Relay's connections lay them out: edges with opaque cursors and
the page's end."""

from __future__ import annotations

from typing import Generic, TypeVar

import strawberry

T = TypeVar("T")


EDGES = "The page's items, in the list's order."
PAGE_INFO = "Whether there is a next page, and the cursor to ask for it."


@strawberry.type(description="Where a page ends, to ask for the next one.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="More items follow: ask again with after: endCursor. A page may be short "
        "(even empty) and still have a next one where the field says so."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last item, for `after`; null on an empty page."
    )


@strawberry.type(description="An item of a page and its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(
        description="Opaque: give it as `after` to read on from this item."
    )
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, read on by cursor.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)


def page_info(edges: list[Edge], has_next: bool) -> PageInfo:
    return PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None)


@strawberry.type(description="A page of a list, read on by cursor, with the list's size.")
class CountedConnection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    total: strawberry.Private[int | None]

    @strawberry.field(description="How many items the whole list holds, on every page.")
    def total_count(self) -> int:
        if self.total is None:  # the resolver counts whenever this field is selected
            raise LookupError("totalCount was not counted")
        return self.total
