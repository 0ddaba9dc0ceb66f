"""Cursor-paged lists, as Relay's connections lay them out: edges with opaque cursors and
the page's end."""

from __future__ import annotations

from typing import Generic, TypeVar

import strawberry

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def page_info(edges: list[Edge], has_next: bool) -> PageInfo:
    return PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None)


@strawberry.type
class CountedConnection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total: strawberry.Private[int | None]

    @strawberry.field(description="How many items the whole list holds, on every page.")
    def total_count(self) -> int:
        if self.total is None:  # the resolver counts whenever this field is selected
            raise LookupError("totalCount was not counted")
        return self.total
