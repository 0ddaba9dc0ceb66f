"""The embedded store's file, connections and jobs.

One writer thread owns the only write connection, so writes are serialised
without lock contention; reads run on small pools of read-only connections,
so neither ever blocks the event loop. Lookups and walks have pools of their
own, so walks that take long never hold up the short reads behind every
page, and readiness has a connection and a thread of its own.

Every job runs under its request's deadline (graph/deadlines.py): a progress
handler interrupts a statement once the deadline passes or the request is
abandoned (its task cancelled: a client that went away, a server timeout),
and long Python steps between statements call `check()`. An interrupted read
frees its reader at once; an interrupted write rolls back.

The file is watched: deleted or replaced under a running server, writes fail
with SERVICE_UNAVAILABLE instead of landing in a file nobody will open again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from urllib.parse import quote, unquote

from .. import deadlines
from ..errors import ConfigError, Conflict, GraphError, ServiceUnavailable
from ..shipped_categories import DEFAULT_CATEGORIES
from .jobs import Job, Stopped, running
from .rows import CATEGORY_COLUMNS, category_params
from .schema import MIGRATIONS, migrate

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]

log = logging.getLogger("contactgraph.sqlite")

LOOKUP_THREADS = 2  # reads by id and one level of edges: milliseconds at most
WALK_THREADS = 4  # walks, roll-ups, counted or searched lists: what can take longer
PROGRESS_STEPS = 10_000  # SQLite VM steps between deadline checks: well under a millisecond
_MMAP_MOST = 0x7FFF0000  # the largest mmap_size the SQLite of Python's builds accepts


class Database:
    def __init__(self, path: str | None, create: bool = False, read_only: bool = False) -> None:
        """path None is a private in-memory database on one connection. A read-only one
        (an export's) never migrates, optimizes nor checkpoints: its file stays as it was."""
        self.path = path
        self._create = create
        self._read_only = read_only
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="contactgraph-sqlite-write")
        # walks get readers of their own, so a flood of them never leaves a lookup waiting
        self._lookups, self._walks = (
            (self._writer, self._writer)
            if path is None
            else (
                ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="contactgraph-sqlite-read"),
                ThreadPoolExecutor(WALK_THREADS, thread_name_prefix="contactgraph-sqlite-walk"),
            )
        )
        self._prober = ThreadPoolExecutor(1, thread_name_prefix="contactgraph-sqlite-ready")
        self._write_conn: sqlite3.Connection | None = None
        self._probe_conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._jobs: set[Job] = set()

    @classmethod
    def from_url(cls, url: str, create: bool = False, read_only: bool = False) -> Database:
        prefix = "sqlite:///"
        if not url.startswith(prefix) or len(url) == len(prefix):
            raise ConfigError(
                f"{url!r}: write sqlite:///relative/path.db or sqlite:////abs/path.db"
            )
        path = unquote(url[len(prefix) :])
        if path == ":memory:":
            return cls(None)
        path = os.path.abspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise ConfigError(f"{path!r} is a directory, not a database file")
        if not os.path.isdir(directory):
            raise ConfigError(f"directory {directory!r} for the database does not exist")
        if not read_only and not os.access(directory, os.W_OK):
            raise ConfigError(f"directory {directory!r} is not writable")
        if (read_only or not create) and not os.path.exists(path):
            raise ConfigError(
                f"there is no database at {path!r}; give --create to make a "
                "new, empty one there (or point --graph at the existing file)"
            )
        return cls(path, create and not read_only, read_only)

    # -- connections ---------------------------------------------------------

    def _connect(self, read_only: bool) -> sqlite3.Connection:
        if self.path is None:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        elif read_only:
            uri = f"file:{quote(os.path.abspath(self.path))}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # before WAL: two processes opening a new file together wait instead of failing
        conn.execute("PRAGMA busy_timeout = 5000")
        if self.path is not None and not read_only:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: index pages stay hot on writes
        conn.execute("PRAGMA mmap_size = 1073741824")
        with self._lock:
            self._connections.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        if self.path is None:
            return self._writer_conn()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(read_only=True)
        return conn

    def _writer_conn(self) -> sqlite3.Connection:
        if self._read_only:
            raise ServiceUnavailable(f"{self.path!r} is open for reading only")
        if self._write_conn is None:
            self._write_conn = self._connect(read_only=False)
        return self._write_conn

    def _check_file(self) -> None:
        """Refuse to go on when the file the server opened is no longer at its path."""
        if self.path is None or self._identity is None:
            return
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            raise ServiceUnavailable(
                f"the database file {self.path!r} was deleted while the server ran; nothing "
                "more is written: restore it and restart the server"
            ) from None
        if (found.st_dev, found.st_ino) != self._identity:
            raise ServiceUnavailable(
                f"the database file {self.path!r} was replaced while the server ran; nothing "
                "more is written: restart the server to open the new file"
            )

    # -- jobs ----------------------------------------------------------------

    def _job(self, job: Job, conn: sqlite3.Connection, begin: str, work: Work[T]) -> T:
        if job.over():
            raise Stopped
        running.job = job
        conn.set_progress_handler(job.over, PROGRESS_STEPS)
        try:
            conn.execute(begin)
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result
        finally:
            conn.set_progress_handler(None, 0)
            running.job = None

    def _run_read(self, job: Job, work: Work[T]) -> T:
        return self._job(job, self._reader(), "BEGIN", work)

    def _run_write(self, job: Job, work: Work[T]) -> T:
        self._check_file()
        return self._job(job, self._writer_conn(), "BEGIN IMMEDIATE", work)

    async def _submit(self, executor: ThreadPoolExecutor, run: Callable[[Job], T]) -> T:
        job = Job(deadlines.current())
        try:
            future = asyncio.get_running_loop().run_in_executor(executor, run, job)
        except RuntimeError:
            raise ServiceUnavailable("the embedded store is closed") from None
        self._jobs.add(job)
        try:
            return await future
        except asyncio.CancelledError:
            job.abandoned.set()  # a queued job never starts; a running one stops
            raise
        except (sqlite3.OperationalError, Stopped) as error:
            if job.out_of_time():
                raise deadlines.timeout() from None
            raise ServiceUnavailable(f"the embedded store cannot answer: {error}") from None
        except sqlite3.IntegrityError as error:
            raise Conflict(f"the write conflicts with stored data: {error}") from None
        finally:
            self._jobs.discard(job)

    async def read(self, work: Work[T]) -> T:
        """A short read: by id, or one level of edges."""
        return await self._submit(self._lookups, lambda job: self._run_read(job, work))

    async def walk(self, work: Work[T]) -> T:
        """A read whose work grows with the graph: a walk, a roll-up, a count or a search."""
        return await self._submit(self._walks, lambda job: self._run_read(job, work))

    async def write(self, work: Work[T]) -> T:
        return await self._submit(self._writer, lambda job: self._run_write(job, work))

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Open the file (creating it only when asked to), migrate and note its identity;
        a read-only one only checks its schema is this version's."""
        if self._read_only:
            await asyncio.get_running_loop().run_in_executor(self._lookups, self._check_schema)
            return

        def prepare() -> bool:
            created = self.path is not None and not os.path.exists(self.path)
            try:
                conn = self._writer_conn()
                migrate(conn)
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    f"INSERT OR IGNORE INTO categories ({CATEGORY_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [category_params(c) for c in DEFAULT_CATEGORIES],
                )
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as error:
                denied = _denied(self.path)
                if denied is not None:
                    raise ConfigError(f"cannot open {self.path!r}: {denied}") from None
                raise ConfigError(f"{self.path!r} is not a usable database: {error}") from None
            if self.path is not None:
                found = os.stat(self.path)
                self._identity = (found.st_dev, found.st_ino)
            return created

        if await asyncio.get_running_loop().run_in_executor(self._writer, prepare):
            log.warning("created a new, empty database at %s", self.path)

    def _check_schema(self) -> None:
        try:
            found = self._reader().execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise ConfigError(f"cannot read {self.path!r}: {error}") from None
        if found != len(MIGRATIONS):
            raise ConfigError(
                f"{self.path!r} has schema version {found}, this contactgraph "
                f"{len(MIGRATIONS)}: run `contactgraph migrate` (or upgrade contactgraph) first"
            )

    async def close(self) -> None:
        for job in list(self._jobs):  # whatever still runs is abandoned: shutdown is bounded
            job.abandoned.set()
        if self._write_conn is not None:
            try:  # keeps the planner's statistics fresh, cheaply
                await self.write(lambda conn: conn.execute("PRAGMA optimize"))
            except GraphError as error:
                log.warning("closing without optimizing: %s", error.message)
        intact = self.path is not None and self._write_conn is not None
        try:
            self._check_file()
        except ServiceUnavailable:  # the log at the path is no longer this file's to fold
            intact = False
        if intact:
            await self._checkpoint()
        for executor in (self._writer, self._lookups, self._walks, self._prober):
            executor.shutdown(wait=True)
        with self._lock:  # the last connection to close folds the log in and removes it:
            # the writer, when the file is still this server's (readers cannot)
            last = self._write_conn if intact else None
            for conn in sorted(self._connections, key=lambda c: c is last):
                conn.close()
            self._connections.clear()

    async def _checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and empty it, so the file
        alone holds the graph after a clean stop (a copy of it is a backup); outside a
        transaction, as SQLite requires."""

        def checkpoint() -> None:
            assert self._write_conn is not None
            self._write_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

        try:
            await asyncio.get_running_loop().run_in_executor(self._writer, checkpoint)
        except sqlite3.Error as error:  # the log stays valid: the next open replays it
            log.warning("closing with pages still in the write-ahead log: %s", error)

    async def hold_more_pages(self, mebibytes: int) -> None:
        """Keep up to `mebibytes` of pages in the writer's cache, and map as much of the
        file as this SQLite allows (2 GiB): for a bulk write whose transactions touch
        gigabytes, where 256 MiB kept re-reading index pages through system calls."""

        def widen() -> None:
            conn = self._writer_conn()
            conn.execute(f"PRAGMA cache_size = -{mebibytes * 1024}")
            conn.execute(f"PRAGMA mmap_size = {_MMAP_MOST}")

        await asyncio.get_running_loop().run_in_executor(self._writer, widen)

    async def ping(self, seconds: float) -> None:
        """Answer within `seconds` whether the store can serve: its own connection and
        thread, so busy readers and a long write do not delay the answer."""

        def probe() -> None:
            self._check_file()
            if self._probe_conn is None:
                self._probe_conn = self._connect(read_only=self.path is not None)
            self._probe_conn.execute("SELECT 1").fetchone()

        # an in-memory database has one connection, owned by the writer
        probe_in = self._writer if self.path is None else self._prober
        try:
            future = asyncio.get_running_loop().run_in_executor(probe_in, probe)
        except RuntimeError:
            raise ServiceUnavailable("the embedded store is closed") from None
        try:
            await asyncio.wait_for(future, seconds)
        except TimeoutError:
            raise ServiceUnavailable(f"the embedded store did not answer in {seconds} s") from None
        except sqlite3.Error as error:
            raise ServiceUnavailable(f"the embedded store cannot answer: {error}") from None


def _denied(path: str | None) -> str | None:
    """Why the system refuses the file, when it does: SQLite says only "unable to open
    database file", whether the cause is a permission or a missing directory."""
    if path is None:
        return None
    try:
        os.close(os.open(path, os.O_RDWR))
    except PermissionError:
        return "permission denied: this user may not read and write it"
    except FileNotFoundError:
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL))
        except PermissionError:
            return "permission denied: this user may not create a file in its directory"
        except OSError:
            return None
        os.unlink(path)
    except OSError:
        return None
    return None
