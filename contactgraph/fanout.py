"""Live feeds that share their work: one execution per distinct subscription.

A dashboard wall opens the same subscription many times. Subscribers whose document,
operation name, variables and reach (what the viewer may read, and who the viewer is
when the document reads personal fields) are equal join one `Broadcast`: the
subscription runs once for all of them, each result is serialized to JSON once, and
every listener gets the same text, spliced into its protocol's frame. Each listener
keeps its own bounded backlog, drained by its own operation task, so a client that
stops reading is told and dropped without holding up the others; the subscription's
own feed on the event bus stays one per broadcast.

Who may hold how many feeds is counted here, per listener: the server's cap and each
user's cap apply to subscribers, however few executions they share.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from .access.feeds import ViewerFeeds
from .config import Settings
from .graph.errors import GraphError, LimitExceeded
from .graph.events import Event, EventBus, Feed, Interests, fell_behind
from .graph.identity import Permission
from .graph.times import utcnow
from .resolvers.context import Context
from .schema.build import Schema

log = logging.getLogger("contactgraph.events")

# fields whose answer depends on who asks, not only on where they may read: a user's
# own grants and private history entries (admins read everyone's)
PERSONAL_FIELDS = frozenset({"grants", "history"})
# fields that answer about the viewer, whoever it is (worklistChanged: yours by default)
OWN_FIELDS = frozenset({"worklistChanged"})


COMPACT = (",", ":")


class Encoded(str):
    """JSON text made once and sent as it is in every listener's frame."""


def frame_text(message: Mapping[str, Any]) -> str:
    """A protocol message as JSON, its payload spliced in when it is already encoded."""
    payload = message.get("payload")
    if not isinstance(payload, Encoded):
        return json.dumps(message, separators=COMPACT)
    head = {key: value for key, value in message.items() if key != "payload"}
    return f'{json.dumps(head, separators=COMPACT)[:-1]},"payload":{payload}}}'


@dataclass(frozen=True)
class Outcome:
    """What a broadcast hands its listeners: a result, the errors that refused the
    subscription before it ran, or its end."""

    payload: Encoded | None = None
    errors: list[dict[str, Any]] | None = None  # formatted, for an `error` message

    @property
    def final(self) -> bool:
        return self.payload is None


COMPLETE = Outcome()


def _told(error: GraphError) -> Outcome:
    """A result carrying one coded error, as a resolver's refusal reads."""
    coded = {"message": error.message, "extensions": {"code": error.code}}
    return Outcome(Encoded(json.dumps({"data": None, "errors": [coded]}, separators=COMPACT)))


class Listener:
    """One subscriber's place in a broadcast: a bounded backlog that its operation task
    drains into its socket. Overflowing it ends this listener alone, telling it why."""

    def __init__(self, user_id: str, backlog: int) -> None:
        self.user_id = user_id
        self.backlog = backlog
        self._queue: asyncio.Queue[Outcome] = asyncio.Queue()
        self.ended = False

    def offer(self, outcome: Outcome) -> None:
        if self.ended:
            return
        if outcome.final:
            self.ended = True
        elif self._queue.qsize() >= self.backlog:
            self.ended = True
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(_told(fell_behind(self.backlog)))
            outcome = COMPLETE
        self._queue.put_nowait(outcome)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    async def outcomes(self) -> AsyncIterator[Outcome]:
        """Every outcome up to and including the final one."""
        while True:
            outcome = await self._queue.get()
            yield outcome
            if outcome.final:
                return


@dataclass(frozen=True)
class FeedKey:
    query: str
    operation_name: str | None
    variables: str  # canonical JSON
    reach: tuple[object, ...]


@dataclass(eq=False)
class Broadcast:
    key: FeedKey
    listeners: set[Listener] = field(default_factory=set)
    live: bool = False  # its subscription listens on the bus
    task: asyncio.Task[None] | None = None


class BroadcastEvents:
    """The event bus as a broadcast's execution sees it: its feed going onto the bus is
    the moment its listeners are live (what /healthz counts)."""

    def __init__(self, bus: EventBus, broadcast: Broadcast) -> None:
        self._bus = bus
        self._broadcast = broadcast

    async def start(self) -> None:
        await self._bus.start()

    async def close(self) -> None:
        await self._bus.close()

    async def ping(self) -> None:
        await self._bus.ping()

    async def publish(self, event: Event) -> None:
        await self._bus.publish(event)

    def subscribe(self, interest: Interests) -> Feed:
        feed = self._bus.subscribe(interest)
        self._broadcast.live = True
        return feed

    def unsubscribe(self, feed: Feed) -> None:
        self._broadcast.live = False
        self._bus.unsubscribe(feed)

    @property
    def subscribers(self) -> int:
        return self._bus.subscribers

    @property
    def queued(self) -> int:
        return self._bus.queued


@lru_cache(maxsize=256)
def _subscription(query: str, operation_name: str | None, max_tokens: int) -> frozenset[str] | None:
    """For a subscription, the personal and own fields its document reads; None for any
    other operation, and for a document Strawberry refuses (bad, or without the named
    operation). Parsed with the server's token bound, as Strawberry parses it."""
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.SUBSCRIPTION:
        return None
    return frozenset(_field_names(document) & (PERSONAL_FIELDS | OWN_FIELDS))


def _field_names(document: DocumentNode) -> set[str]:
    names: set[str] = set()
    pending: list[SelectionSetNode] = [
        d.selection_set for d in document.definitions if hasattr(d, "selection_set")
    ]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            if getattr(selection, "selection_set", None) is not None:
                pending.append(selection.selection_set)  # type: ignore[attr-defined]
    return names


class Fanout:
    """The server's broadcasts, by what they are asked, and the listeners' count."""

    def __init__(self, schema: Schema, settings: Settings, feeds: ViewerFeeds) -> None:
        self._schema = schema
        self._settings = settings
        self._feeds = feeds
        self._broadcasts: dict[FeedKey, Broadcast] = {}
        self._joined: dict[Listener, Broadcast] = {}

    @property
    def subscribers(self) -> int:
        """Listeners whose subscription listens on the bus already."""
        return sum(len(b.listeners) for b in self._broadcasts.values() if b.live)

    @property
    def executions(self) -> int:
        return len(self._broadcasts)

    @property
    def queued(self) -> int:
        """Outcomes waiting in listeners' backlogs (the metrics sample it)."""
        return sum(listener.depth for listener in self._joined)

    def key(
        self,
        query: object,
        operation_name: object,
        variables: object,
        context: Context,
    ) -> FeedKey | None:
        """What makes subscribers share, or None for an operation that is not a
        subscription (or one Strawberry should refuse itself)."""
        if context.signed_in is None or not isinstance(query, str):
            return None
        if operation_name is not None and not isinstance(operation_name, str):
            return None
        if len(query) > self._settings.max_document_length:
            return None  # Strawberry refuses it, before anything is parsed or kept
        personal = _subscription(query, operation_name, self._settings.max_tokens)
        if personal is None:
            return None
        try:
            canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        viewer = context.signed_in
        reach: tuple[object, ...] = (viewer.everywhere, frozenset(viewer.scoped.items()))
        if personal & OWN_FIELDS or (personal and not viewer.can(Permission.ADMIN)):
            reach = (*reach, viewer.id)
        return FeedKey(query, operation_name, canonical, reach)

    def join(self, key: FeedKey, context: Context, listener: Listener) -> None:
        """Add a listener to the broadcast of its key, starting it if there is none;
        past the server's or its user's cap the listener is refused instead."""
        settings = self._settings
        if len(self._joined) >= settings.max_subscriptions:
            return self._refuse(
                listener,
                f"the server already holds {settings.max_subscriptions} live "
                "subscriptions, the most it may (--max-subscriptions)",
            )
        most = settings.max_subscriptions_per_viewer
        if not self._feeds.take(listener.user_id, most):
            return self._refuse(
                listener,
                f"you already hold {most} live subscriptions, the most one user may "
                "(--max-subscriptions-per-viewer)",
            )
        broadcast = self._broadcasts.get(key)
        if broadcast is None:
            broadcast = self._broadcasts[key] = Broadcast(key)
            broadcast.task = asyncio.create_task(self._run(broadcast, context))
        broadcast.listeners.add(listener)
        self._joined[listener] = broadcast
        return None

    def leave(self, listener: Listener) -> None:
        """The listener's operation ended, however: the last one out stops the broadcast."""
        broadcast = self._joined.pop(listener, None)
        if broadcast is None:
            return
        self._feeds.release(listener.user_id)
        broadcast.listeners.discard(listener)
        if not broadcast.listeners:
            self._stop(broadcast)

    def _stop(self, broadcast: Broadcast) -> None:
        """No one listens any more: nothing may join it, and its execution ends."""
        if self._broadcasts.get(broadcast.key) is broadcast:
            del self._broadcasts[broadcast.key]
        if broadcast.task is not None:
            broadcast.task.cancel()

    @staticmethod
    def _refuse(listener: Listener, message: str) -> None:
        listener.offer(_told(LimitExceeded(message)))
        listener.offer(COMPLETE)

    async def _run(self, broadcast: Broadcast, context: Context) -> None:
        """Execute the subscription once, as the first listener's connection would (a
        copy of its context with its own loaders and the bus seen through the
        broadcast), and hand every outcome to every listener."""
        events = BroadcastEvents(context.events, broadcast)
        mine = replace(context, events=events, report_round_trips=False, now=utcnow())
        key = broadcast.key
        try:
            results = await self._schema.subscribe(
                key.query,
                variable_values=json.loads(key.variables),
                context_value=mine,
                operation_name=key.operation_name,
            )
            first = True
            async with aclosing(results):  # its feed leaves the bus whichever way it ends
                async for result in results:
                    self._hand_out(broadcast, _outcome(result, first))
                    first = False
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: its listeners end, the server goes on
            log.exception("a live subscription failed")
        finally:
            if self._broadcasts.get(key) is broadcast:
                del self._broadcasts[key]
            self._hand_out(broadcast, COMPLETE)

    def _hand_out(self, broadcast: Broadcast, outcome: Outcome) -> None:
        for listener in list(broadcast.listeners):
            listener.offer(outcome)
            if listener.ended:
                broadcast.listeners.discard(listener)
        if not broadcast.listeners and not outcome.final:
            self._stop(broadcast)  # all fell behind: stop executing for no one


def _outcome(result: ExecutionResult | PreExecutionError, first: bool) -> Outcome:
    if first and isinstance(result, PreExecutionError):
        return Outcome(errors=[error.formatted for error in result.errors or ()])
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return Outcome(Encoded(json.dumps(body, separators=COMPACT)))
