"""Writing a dump: every record of a graph, a page at a time, as the lines of format.py.

Every section comes in an order both stores keep (categories, parties, activities,
pipelines, opportunities, process steps and grants by id, relationships by (from, id),
history by (at, id)), so the same graph gives the same lines from either store. Teams are
units of the home organization, so they travel as parties; calendar feed tokens are
secrets and never do. Pages are separate reads: a graph written to meanwhile
may give a dump of no one moment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from ..cursors import encode_cursor
from ..history import PRIVATE_KINDS
from ..model import Page, PartyFilter
from ..store import GraphStore
from ..times import format_instant, utcnow
from .format import Item, header_line, record_line

PAGE = 1_000
K = TypeVar("K")
R = TypeVar("R", bound=Item)


async def _paged(
    read: Callable[[K | None, int], Awaitable[Sequence[R]]], key: Callable[[R], K]
) -> AsyncIterator[R]:
    after: K | None = None
    while page := await read(after, PAGE):
        for item in page:
            yield item
        after = key(page[-1])


async def dump(
    store: GraphStore, source: str, version: str, with_grants: bool
) -> AsyncIterator[tuple[str, bytes]]:
    """The dump's lines, each with its type ("header" first). Without `with_grants`, no
    grants, tokens nor the history entries about them; calendar feed tokens never."""
    yield "header", header_line(source, version, utcnow(), with_grants)
    for level in sorted((await store.levels()).values(), key=lambda x: x.id):
        yield "level", record_line(level)
    categories = await store.get_categories(None)
    for category_id in sorted(categories):
        yield "category", record_line(categories[category_id])
    cursor = None
    while True:
        page = await store.list_parties(
            PartyFilter(include_archived=True), Page(PAGE, cursor), count=False
        )
        for party in page.parties:
            yield "party", record_line(party)
        if not page.has_next:
            break
        cursor = encode_cursor(page.parties[-1].id)
    async for rel in _paged(store.relationship_page, lambda r: (r.from_id, r.id)):
        yield "relationship", record_line(rel)
    async for activity in _paged(store.activity_page, lambda a: a.id):
        yield "activity", record_line(activity)
    for pipeline in sorted((await store.pipelines(None)).values(), key=lambda p: p.id):
        yield "pipeline", record_line(pipeline)
    async for deal in _paged(store.opportunity_page, lambda o: o.id):
        yield "opportunity", record_line(deal)
    async for step in _paged(store.step_page, lambda s: s.id):
        yield "step", record_line(step)
    if with_grants:
        for grant in await store.all_grants():
            yield "grant", record_line(grant)
        for token in sorted(await store.tokens(None), key=lambda t: t.id):
            if not token.read_only:  # a calendar feed's: its secret sits in a URL
                yield "token", record_line(token)
    async for change in _paged(store.change_page, lambda c: (format_instant(c.at), c.id)):
        if with_grants or change.kind not in PRIVATE_KINDS:
            yield "change", record_line(change)
