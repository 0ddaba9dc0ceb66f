"""One Neo4j connection pool and its transactions: the deadline, the walk turns, and
how driver errors become the port's errors. The store builds its methods on these."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import neo4j
from neo4j import AsyncGraphDatabase, unit_of_work
from neo4j import exceptions as neo4j_errors

from .. import deadlines
from ..errors import ConfigError, Conflict, LimitExceeded, ServiceUnavailable
from . import pending, socket_waits
from .cypher import Tx

T = TypeVar("T")
SPARE_CONNECTIONS = 4
RETRY_SECONDS = 3.0  # the driver's for managed transactions (max_transaction_retry_time)
FIRST_RETRY_DELAY = 0.05
WALKS_AT_ONCE = 4  # as many as the embedded store has walk readers

_UNAVAILABLE = (
    neo4j_errors.ServiceUnavailable,
    neo4j_errors.SessionExpired,
    neo4j_errors.AuthError,
    OSError,
)


def _out_of_memory(error: Exception) -> bool:
    """Neo4j refused the transaction more memory: trying again would not help."""
    code = getattr(error, "code", None) or ""
    return code.endswith("MemoryPoolOutOfMemoryError")


class _AutoCommit:
    """A read's statements, each run as its own transaction under the read's timeout."""

    def __init__(self, session: neo4j.AsyncSession, timeout: float | None) -> None:
        self._session = session
        self._timeout = timeout

    async def run(
        self, query: str, parameters: dict[str, Any] | None = None, **kwargs: Any
    ) -> neo4j.AsyncResult:
        return await self._session.run(
            neo4j.Query(query, timeout=self._timeout),
            parameters,
            **kwargs,
        )


def _begin_with_first_statement(
    session: neo4j.AsyncSession,
) -> contextlib.AbstractContextManager[Any]:
    """While open, the session's transactions send BEGIN with their first statement: an
    exchange with Neo4j fewer a write, its failure reported by that statement. The
    driver does so for its own `execute_query`, by this flag; without it (another
    release), BEGIN is an exchange of its own, as before."""
    flag = getattr(session, "_pipelined_begin", None)
    return flag if isinstance(flag, contextlib.AbstractContextManager) else contextlib.nullcontext()


def _credentials() -> tuple[str, str]:
    env = os.environ
    user = env.get("CONTACTGRAPH_NEO4J_USER") or env.get("NEO4J_USER") or "neo4j"
    password = env.get("CONTACTGRAPH_NEO4J_PASSWORD") or env.get("NEO4J_PASSWORD")
    if not password:
        raise ConfigError("set CONTACTGRAPH_NEO4J_PASSWORD (or NEO4J_PASSWORD) for Neo4j")
    return user, password


class Neo4jSession:
    def __init__(self, uri: str, auth: tuple[str, str], database: str | None = None) -> None:
        self._uri = uri
        self._auth = auth
        self._database = database
        self._driver: neo4j.AsyncDriver | None = None
        self._walks = asyncio.Semaphore(WALKS_AT_ONCE)
        self._spares: asyncio.Task[None] | None = None
        self._flusher = pending.Flusher(self.flush_pending)

    @classmethod
    def from_url(cls, url: str) -> Self:
        """bolt://host:port or neo4j://host:port, optionally /database."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise ConfigError(f"{url!r}: write bolt://host:7687 or neo4j://host:7687")
        database = parts.path.strip("/") or None
        return cls(f"{parts.scheme}://{parts.netloc}", _credentials(), database)

    # -- transactions --------------------------------------------------------

    @property
    def driver(self) -> neo4j.AsyncDriver:
        if self._driver is None:
            raise ServiceUnavailable("the Neo4j store is not started")
        return self._driver

    async def _run(self, write: bool, work: Callable[[Tx], Awaitable[T]]) -> T:
        """One unit of work under the request's deadline (graph/deadlines.py): Neo4j ends a
        transaction that outlives it, and one whose request went away (its task cancelled)
        ends with the connection the driver then closes."""
        left = deadlines.remaining(deadlines.current())
        if left is not None and left <= 0:
            raise deadlines.timeout()
        bound = asyncio.timeout(left)
        try:
            async with bound:
                if not write:
                    return await self._statements(work)
                async with self.driver.session(database=self._database) as session:
                    with _begin_with_first_statement(session):
                        return await session.execute_write(unit_of_work(timeout=left)(work))
        except TimeoutError as error:
            if not bound.expired():  # a socket's time ran out, not the request's
                raise ServiceUnavailable(f"Neo4j cannot answer: {error}") from None
            raise deadlines.timeout() from None
        except neo4j_errors.ConstraintError as error:
            raise Conflict(f"the write conflicts with stored data: {error.message}") from None
        except neo4j_errors.ClientError as error:
            if (error.code or "").startswith("Neo.ClientError.Transaction.TransactionTimedOut"):
                raise deadlines.timeout() from None
            raise
        except neo4j_errors.TransientError as error:
            if _out_of_memory(error):
                raise LimitExceeded(
                    "this request needs more memory than Neo4j allows a transaction "
                    "(db.memory.transaction.max); narrow it"
                ) from None
            raise
        except _UNAVAILABLE as error:
            raise ServiceUnavailable(f"Neo4j cannot answer: {error}") from None

    async def _statements(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """A read whose statements are each a transaction of their own (auto-commit): one
        exchange with Neo4j where a managed transaction takes three (begin, statement,
        commit), and about half the driver's work. Neo4j reads committed data statement by
        statement in either, so no snapshot is lost. Retried as the driver retries managed
        transactions, on the errors it calls retryable (a pooled connection Neo4j has since
        closed), for at most RETRY_SECONDS."""
        loop = asyncio.get_running_loop()
        started, delay = loop.time(), FIRST_RETRY_DELAY
        while True:
            left = deadlines.remaining(deadlines.current())
            try:
                async with self.driver.session(
                    database=self._database, default_access_mode=neo4j.READ_ACCESS
                ) as session:
                    return await work(_AutoCommit(session, left))
            except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as error:
                retry = error.is_retryable() and not _out_of_memory(error)
                if not retry or loop.time() - started + delay > RETRY_SECONDS:
                    raise
            await asyncio.sleep(delay)
            delay *= 2

    async def _read(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._run(False, work)

    async def _walk(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """A read whose work grows with the graph. At most WALKS_AT_ONCE run together, as
        on the embedded store, so a flood of them cannot take all of Neo4j's memory; one
        that cannot start before its deadline answers TIMEOUT."""
        try:
            async with asyncio.timeout(deadlines.remaining(deadlines.current())):
                await self._walks.acquire()
        except TimeoutError:
            raise deadlines.timeout() from None
        try:
            return await self._run(False, work)
        finally:
            self._walks.release()

    async def _write(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._run(True, work)

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        socket_waits.install()
        self._driver = AsyncGraphDatabase.driver(
            self._uri,
            auth=self._auth,
            connection_timeout=3.0,
            connection_acquisition_timeout=5.0,
            max_transaction_retry_time=RETRY_SECONDS,
            # the server's hints (e.g. "property key does not exist" on a young graph) are
            # for people writing Cypher, not for this server's log
            notifications_min_severity="OFF",
        )
        try:
            await self._driver.verify_connectivity()
            await self.migrate()
        except (*_UNAVAILABLE, ServiceUnavailable) as error:
            await self._driver.close()
            self._driver = None
            raise ConfigError(f"cannot use Neo4j at {self._uri}: {error}") from None
        self._spares = asyncio.create_task(self._open_spares())
        await self._flusher.start()

    async def _open_spares(self) -> None:
        """Fill the driver's pool with SPARE_CONNECTIONS idle connections: a transaction
        stopped at its deadline closes its own, and a request right after it should not
        pay for a new one's handshake and authentication (about 50 ms here). Done after
        the start, beside the first requests: spares are worth no wait, and a Neo4j that
        refuses one now fails the request that needs it later, with its own error."""

        async def hold() -> None:
            async with self.driver.session(database=self._database) as session:
                await (await session.run("RETURN 1")).consume()

        with contextlib.suppress(*_UNAVAILABLE, neo4j_errors.Neo4jError, neo4j_errors.DriverError):
            await asyncio.gather(*(hold() for _ in range(SPARE_CONNECTIONS)))

    async def migrate(self) -> None:
        """Bring the graph's schema up to date; the store defines it."""
        raise NotImplementedError

    async def flush_pending(self) -> int:
        """Move a batch of pending parties' documents into the index (pending.py): the
        flusher's work, and a bench's that waits for it (bench/write_cpu.py)."""

        async def work(tx: Tx) -> int:
            result = await tx.run(pending.FLUSH, n=pending.BATCH)
            return int((await result.single(strict=True))["n"])

        return await self._write(work)

    async def close(self) -> None:
        await self._flusher.close()
        if self._spares is not None:
            self._spares.cancel()
            await asyncio.gather(self._spares, return_exceptions=True)
            self._spares = None
        if self._driver is not None:
            await self._driver.close()
            self._driver = None

    async def ping(self, seconds: float) -> None:
        async def work(tx: Tx) -> None:
            await (await tx.run("RETURN 1")).consume()

        try:
            await asyncio.wait_for(self._read(work), seconds)
        except TimeoutError:
            raise ServiceUnavailable(f"Neo4j did not answer in {seconds} s") from None
