"""What every resolver gets in `info.context`: the store, the loaders, the viewer."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from ..config import Settings
from ..graph.errors import BadUserInput, LimitExceeded
from ..graph.model import Page
from ..graph.store import GraphStore
from ..graph.times import utcnow
from .loaders import Loaders


@dataclass(frozen=True)
class Viewer:
    """Who asks. Anonymous until authentication exists; the store port will check it."""

    user_id: str | None = None


class CountingStore:
    """Counts every awaited backend call: the X-Debug-Round-Trips figure."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self.count = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await attr(*args, **kwargs)

        return counted


@dataclass
class Context:
    store: GraphStore
    loaders: Loaders
    settings: Settings
    round_trips: CountingStore
    report_round_trips: bool = False
    viewer: Viewer = field(default_factory=Viewer)
    # one "now" per request, so every default asOf in it batches together
    now: datetime = field(default_factory=utcnow)

    def page(self, first: int | None, after: str | None) -> Page:
        if first is None:
            first = self.settings.default_page_size
        if first < 0:
            raise BadUserInput("first must not be negative")
        if first > self.settings.max_page_size:
            raise LimitExceeded(f"first may be at most {self.settings.max_page_size}")
        return Page(first=first, after=after)


def make_context(
    store: GraphStore, settings: Settings, report_round_trips: bool = False
) -> Context:
    counted = CountingStore(store)
    as_store = cast(GraphStore, counted)
    return Context(
        store=as_store,
        loaders=Loaders(as_store),
        settings=settings,
        round_trips=counted,
        report_round_trips=report_round_trips,
    )
