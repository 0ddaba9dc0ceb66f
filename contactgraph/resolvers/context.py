"""What every resolver gets in `info.context`: the store as the viewer may use it, the
loaders on it, the viewer."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from ..access.authenticator import Authenticator
from ..access.guard import GuardedStore
from ..access.viewer import Viewer
from ..config import Settings
from ..graph.backends import store_kind
from ..graph.errors import (
    BadUserInput,
    GraphError,
    LimitExceeded,
    Unauthenticated,
    past_the_ceiling,
)
from ..graph.events import EventBus
from ..graph.identity import Permission
from ..graph.ids import new_id
from ..graph.model import Page, Party
from ..graph.store import GraphStore
from ..graph.times import utcnow
from ..observability import metrics, tracing
from .loaders import Loaders


class CountingStore:
    """Counts every awaited backend call: the X-Debug-Round-Trips figure, the store's
    metrics and, when tracing, a span each. A method's counting wrapper is made once per
    store and kept as the instance's attribute: a request's loaders and resolvers ask for
    the same few methods over and over."""

    def __init__(self, store: GraphStore, kind: str, traced: bool) -> None:
        self._store = store
        self._kind = kind
        self._traced = traced
        self.count = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attr):
            return attr  # a property may change (the guard's viewer): read each time
        kind, traced = self._kind, self._traced
        call = metrics.store_calls(kind, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            call()
            try:
                if traced:
                    with tracing.store_span(kind, name):
                        return await attr(*args, **kwargs)
                return await attr(*args, **kwargs)
            except GraphError as error:
                metrics.store_failed(kind, name, error.code)
                raise
            except Exception:
                metrics.store_failed(kind, name, GraphError.code)
                raise

        setattr(self, name, counted)
        return counted


@dataclass
class Context:
    backend: GraphStore  # unguarded: for the server's own work, such as publishing events
    settings: Settings
    events: EventBus
    authenticator: Authenticator
    report_round_trips: bool = False
    authorization: str | None = None  # the request's Authorization header, if any
    live: bool = False  # a WebSocket's: its operations come long after it opened
    signed_in: Viewer | None = None
    # one "now" per request, so every default asOf in it batches together
    now: datetime = field(default_factory=utcnow)
    # names the request in the history of what it writes (X-Request-Id, or made here)
    request_id: str = field(default_factory=new_id)
    selections: Selections = field(default_factory=lambda: Selections())

    def __post_init__(self) -> None:
        self.sign_in(self.signed_in)

    def sign_in(self, viewer: Viewer | None) -> None:
        """Act as `viewer` from now on: the store, its counter and loaders go through
        the guard of that viewer (None: every read and write is UNAUTHENTICATED)."""
        self.signed_in = viewer
        guarded = GuardedStore(
            self.backend, viewer, None if self.live else self.now, self.request_id
        )
        kind = store_kind(self.settings.graph_url)
        self.round_trips = CountingStore(cast(GraphStore, guarded), kind, self.settings.tracing)
        self.store = cast(GraphStore, self.round_trips)
        self._loaders: Loaders | None = None
        self._written: dict[str, Party] = {}

    @property
    def loaders(self) -> Loaders:
        """Made when a resolver first asks, on the store as signed in then: a request signs
        in after its context is made, and many a write's answer reads nothing (making the
        twenty-odd loaders there and again at sign-in took 7 % of a create's CPU time)."""
        if self._loaders is None:
            self._loaders = Loaders(self.store)
            self._loaders.parties.prime_all(self._written)
        return self._loaders

    @loaders.setter
    def loaders(self, loaders: Loaders) -> None:
        self._loaders = loaders

    def answer_with(self, parties: Mapping[str, Party]) -> None:
        """Parties a write of this request read and checked, which then answer its reads
        of them (a link's `from`, an activity's `subjects`) instead of a read after it,
        for a viewer who reads everywhere (a scoped reader's are read through its scope,
        as any read of them is); kept for the loaders until they are made, since many an
        answer reads none."""
        if not self.viewer.can(Permission.READ):
            return
        if self._loaders is not None:
            self._loaders.parties.prime_all(parties)
        else:
            self._written.update(parties)

    @property
    def viewer(self) -> Viewer:
        if self.signed_in is None:
            raise Unauthenticated("sign in with Authorization: Bearer TOKEN")
        return self.signed_in

    def page(self, first: int | None, after: str | None) -> Page:
        if first is None:
            first = self.settings.default_page_size
        if first < 0:
            raise BadUserInput("first must not be negative")
        if first > self.settings.max_page_size:
            raise LimitExceeded(f"first may be at most {self.settings.max_page_size}")
        return Page(first=first, after=after)

    def depth(self, max_depth: int | None) -> int:
        """A traversal's depth bound: the ceiling when none is given, never past it."""
        ceiling = self.settings.max_depth
        if max_depth is None:
            return ceiling
        if max_depth < 1:
            raise BadUserInput("maxDepth must be at least 1")
        if max_depth > ceiling:
            raise LimitExceeded(f"maxDepth may be at most {ceiling}")
        return max_depth

    def cut(self, beyond: bool, max_depth: int | None, what: str) -> None:
        """A walk to the ceiling (no maxDepth given) that left parties out says so."""
        if beyond and max_depth is None:
            raise past_the_ceiling(what, self.settings.max_depth)

    def network_size(self, limit: int) -> int:
        if limit < 1:
            raise BadUserInput("limit must be at least 1")
        if limit > self.settings.max_network_size:
            raise LimitExceeded(f"limit may be at most {self.settings.max_network_size}")
        return limit


ContextInfo = Info[Context, None]
"""The `info` every resolver is given."""


def field_selections(info: Any) -> list[Selection]:
    """What a field's resolver is asked for: the selections of every node that asked for
    it. A field asked twice in one place (by two fragments, as clients compose queries)
    is resolved once for both, so a read sized by one of them would miss the other's."""
    return info.context.selections.of(info)


class Selections:
    """The selections of one execution's field nodes, each converted once: Strawberry
    converts them from the document again for every object (`children` of 50
    organizations, 50 times), but they depend only on the nodes, the variables and the
    fragments, which the memo holds, so no id of theirs is reused while it remembers. A
    new execution (the next operation of a WebSocket) starts it afresh."""

    def __init__(self) -> None:
        self._execution: tuple[Any, ...] = (None, None, None)
        self._found: dict[tuple[int, ...], list[Selection]] = {}

    def of(self, info: Any) -> list[Selection]:
        raw = info._raw_info
        operation, fragments, variables = self._execution
        if (
            raw.operation is not operation
            or raw.fragments is not fragments
            or raw.variable_values is not variables
        ):
            self._execution = (raw.operation, raw.fragments, raw.variable_values)
            self._found = {}
        key = tuple(map(id, raw.field_nodes))
        found = self._found.get(key)
        if found is None:
            found = [selection for node in info.selected_fields for selection in node.selections]
            self._found[key] = found
        return found


def selected_at(selections: list[Selection], path: tuple[str, ...]) -> set[str]:
    """The names of the fields read at `path` below a selection set (through fragments,
    whatever the aliases), so a resolver may leave out of its read what nobody asks."""
    names: set[str] = set()
    for selection in selections:
        if not isinstance(selection, SelectedField):
            names |= selected_at(selection.selections, path)
        elif not path:
            names.add(selection.name)
        elif selection.name == path[0]:
            names |= selected_at(selection.selections, path[1:])
    return names


def selects(selections: list[Selection], name: str) -> bool:
    """Whether a selection set, directly or through fragments, reads the field `name`."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                return True
        elif selects(selection.selections, name):
            return True
    return False
