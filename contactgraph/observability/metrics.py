"""The server's Prometheus metrics, through prometheus_client.

Label values are bounded, so a client cannot grow the series without end: an
operation name is client-chosen text, kept only when it is a GraphQL name of at
most 64 characters and one of the first MAX_OPERATION_NAMES distinct names the
server (each worker, under --workers) has seen; any other name is reported as
`other` (and an unnamed operation as `anonymous`, one refused before its name
could be read as `unknown`). Outcome codes are the server's own `extensions.code` values; store
methods are the port's method names.

Under `serve --workers N` the parent points PROMETHEUS_MULTIPROC_DIR at a private
directory before the workers start; each worker then keeps its values in files
there and a scrape of any worker sums them all (prometheus_client's multiprocess
mode); the process_* metrics are then each worker's, labelled by its pid. Gauges
are sampled from each process's own state (SAMPLE_SECONDS apart,
and by the answering process at each scrape), never by walking the store.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from functools import cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 100
SAMPLE_SECONDS = 1.0
OK = "ok"
OTHER = "other"
ANONYMOUS = "anonymous"
UNKNOWN = "unknown"
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_CODE = re.compile(r"[A-Z][A-Z_]{0,39}")
# what a store call can fail with that is the store's trouble, not the client's answer
STORE_FAILURES = frozenset({"TIMEOUT", "SERVICE_UNAVAILABLE", "INTERNAL_SERVER_ERROR"})

OPERATIONS = Counter(
    "contactgraph_graphql_operations",
    "GraphQL operations answered, by transport, operation name and outcome code.",
    ["transport", "operation", "outcome"],
)
OPERATION_SECONDS = Histogram(
    "contactgraph_graphql_operation_seconds",
    "Time to answer a GraphQL operation, by transport, operation name and outcome code.",
    ["transport", "operation", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ROUND_TRIPS = Counter(
    "contactgraph_store_round_trips",
    "Calls to the graph store made by GraphQL operations, by store kind and method.",
    ["store", "method"],
)
STORE_ERRORS = Counter(
    "contactgraph_store_errors",
    "Store calls that failed with a timeout, an unavailable store or an unexpected error.",
    ["store", "method", "code"],
)
SUBSCRIPTIONS = Gauge(
    "contactgraph_active_subscriptions",
    "Live subscriptions listening on the event bus.",
    multiprocess_mode="livesum",
)
QUEUE_DEPTH = Gauge(
    "contactgraph_event_queue_depth",
    "Events waiting in live-feed queues: `feed` on the event bus, `listener` per subscriber.",
    ["queue"],
    multiprocess_mode="livesum",
)


class OperationNames:
    """The operation label of a name: itself while it is safe and among the first
    `most` distinct ones, else `other`."""

    def __init__(self, most: int = MAX_OPERATION_NAMES) -> None:
        self._most = most
        self._seen: set[str] = set()

    def label(self, name: str | None) -> str:
        if name is None:
            return ANONYMOUS
        if name in self._seen:
            return name
        if name in (OTHER, ANONYMOUS, UNKNOWN) or not _NAME.fullmatch(name):
            return OTHER
        if len(self._seen) >= self._most:
            return OTHER
        self._seen.add(name)
        return name


def outcome(code: object) -> str:
    """The outcome label of an error code; `other` for anything not shaped like one."""
    return code if isinstance(code, str) and _CODE.fullmatch(code) else OTHER


def first_code(errors: list[dict[str, object]] | None) -> str:
    """The outcome of an answer: `ok`, or the code of its first (formatted) error."""
    if not errors:
        return OK
    extensions = errors[0].get("extensions")
    return outcome(extensions.get("code") if isinstance(extensions, dict) else None)


def observe(transport: str, operation: str, code: str, seconds: float) -> None:
    count, time = _operation(transport, operation, code)
    count()
    time(seconds)


@cache  # each request's: its counter and histogram once found (labels are bounded)
def _operation(
    transport: str, operation: str, code: str
) -> tuple[Callable[[], None], Callable[[float], None]]:
    return (
        OPERATIONS.labels(transport, operation, code).inc,
        OPERATION_SECONDS.labels(transport, operation, code).observe,
    )


@cache  # asked for by every request's loaders: its counter once found
def store_calls(store: str, method: str) -> Callable[[], None]:
    """The counting of one store method's calls."""
    return ROUND_TRIPS.labels(store, method).inc


def store_failed(store: str, method: str, code: str) -> None:
    if code in STORE_FAILURES:
        STORE_ERRORS.labels(store, method, code).inc()


class Sampler:
    """Sets this process's gauges from the live-feed state it is handed."""

    def __init__(
        self,
        subscribers: Callable[[], int],
        feed_depth: Callable[[], int],
        listener_depth: Callable[[], int],
    ) -> None:
        self._subscribers = subscribers
        self._feed_depth = feed_depth
        self._listener_depth = listener_depth

    def sample(self) -> None:
        SUBSCRIPTIONS.set(self._subscribers())
        QUEUE_DEPTH.labels("feed").set(self._feed_depth())
        QUEUE_DEPTH.labels("listener").set(self._listener_depth())
        if os.environ.get(MULTIPROCESS_DIR):
            _worker_process()

    async def run(self) -> None:
        """Sample until cancelled, so other workers' scrapes see this one's gauges."""
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_SECONDS)


_WORKER_GAUGES: dict[str, Gauge] = {}


def _worker_process() -> None:
    """This worker's process_* metrics, as gauges labelled by its pid: in multiprocess
    mode prometheus_client collects no process metrics, and summed they would mislead."""
    for family in PROCESS_COLLECTOR.collect():
        for sample in family.samples:
            gauge = _WORKER_GAUGES.get(sample.name)
            if gauge is None:
                gauge = _WORKER_GAUGES[sample.name] = Gauge(
                    sample.name, family.documentation, registry=None, multiprocess_mode="liveall"
                )
            gauge.set(sample.value)


def exposition() -> tuple[bytes, str]:
    """Every metric in the text format, summed over the workers in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_ended() -> None:
    """A worker stopping takes its live gauges out of the sums."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(os.getpid())
