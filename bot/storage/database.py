"""The database as whole transactions: `await db.write(work)` and `await db.read(work)`.

`work` is a plain function of a `UnitOfWork`; it runs in one go, so a transaction is never
held open while the event loop is busy elsewhere.

SQLite: one writer thread with its own connection runs the writes. It takes every write that
is waiting and runs them in one `BEGIN IMMEDIATE … COMMIT` (group commit), each in a savepoint
of its own, so that one failing leaves the others intact; a write's result is handed back
only once the commit succeeded. Reads run on a small pool of threads with their own
connections (WAL lets them read beside the writer). One thread hop per transaction, none per
statement.

PostgreSQL (and any other asynchronous driver): each transaction runs through
`AsyncSession.run_sync`: the same synchronous work, with the driver's I/O awaited in between
(no threads at all); concurrent transactions are the server's business.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from bot.storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[UnitOfWork], T]
Changes = set[tuple[str, int]]
Listener = Callable[[Changes], None]
"""Told, on the event loop, which records a committed write changed (see RecordCache)."""

SQLITE_BUSY_TIMEOUT_MS = 5000
MAX_BATCH = 64  # writes committed together at most


class Database(Protocol):
    @property
    def dialect(self) -> str: ...

    async def write(self, work: Work[T]) -> T:
        """Run `work` in a write transaction; committed when it returns, undone if it raises."""

    async def read(self, work: Work[T]) -> T:
        """Run `work` in a read-only transaction."""

    async def run_connection(self, work: Callable[[Connection], T]) -> T:
        """Run `work` with a plain connection in a transaction (migrations)."""

    def on_change(self, listener: Listener) -> None:
        """Call `listener` after each committed write that changed chats or users."""

    async def close(self) -> None: ...


def open_database(url: str, *, readers: int = 2) -> Database:
    """SQLite (any `sqlite…` URL) gets the writer thread; other URLs an async engine."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SQLiteDatabase(sqlite_engine(url, readers=readers), readers=readers)
    return AsyncDatabase(create_async_engine(url, pool_pre_ping=True))


def sqlite_engine(url: str, *, readers: int = 2) -> Engine:
    """A synchronous engine (Python's sqlite3) on the URL's file, whatever its driver name:
    WAL, a busy timeout, foreign keys; transactions begun explicitly (so that savepoints work)."""
    parsed = make_url(url).set(drivername="sqlite")
    database = parsed.database or ""
    if not database or database == ":memory:":
        raise ValueError("SQLite needs a database file (the bot's threads share it)")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=readers + 1,
        max_overflow=4,
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see below)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writer = connection.info.get("writer", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


@dataclass(eq=False)
class _Job:
    work: Work[Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    listeners: list[Listener]
    result: Any = None
    error: BaseException | None = None
    changed: Changes | None = None

    def settle(self) -> None:
        """On the event loop, once the batch is committed (or failed)."""
        if self.error is None and self.changed:
            _tell(self.listeners, self.changed)
        if self.future.done():  # the caller was cancelled meanwhile
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.result)


def _tell(listeners: list[Listener], changed: Changes) -> None:
    for listener in listeners:
        try:
            listener(changed)
        except Exception:
            logger.exception("a database change listener failed")


class SQLiteDatabase:
    """One writer thread (group commit), reader threads; see the module's docstring."""

    def __init__(self, engine: Engine, *, readers: int = 2) -> None:
        self.engine = engine
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="db-read")
        self._writer = threading.Thread(target=self._write_loop, name="db-write", daemon=True)
        self._writer.start()
        self._listeners: list[Listener] = []
        self.batches = 0  # commits, for tests and benchmarks
        self.writes = 0

    @property
    def dialect(self) -> str:
        return "sqlite"

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def write(self, work: Work[T]) -> T:
        if not self._writer.is_alive():
            raise RuntimeError("the database is closed")
        loop = asyncio.get_running_loop()
        job = _Job(work, loop, loop.create_future(), self._listeners)
        self._queue.put(job)
        result: T = await job.future
        return result

    async def read(self, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, work)

    async def run_connection(self, work: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self.engine.begin() as connection:
                return work(connection)

        return await asyncio.to_thread(run)

    async def close(self) -> None:
        self._queue.put(None)
        await asyncio.to_thread(self._writer.join)
        self._readers.shutdown(wait=True)
        self.engine.dispose()

    def _read(self, work: Work[T]) -> T:
        with self.engine.connect() as connection, Session(bind=connection) as session:
            return work(UnitOfWork(session))

    def _write_loop(self) -> None:
        with self.engine.connect() as connection:
            connection.info["writer"] = True
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        self._queue.put(None)  # stop after this batch
                        break
                    batch.append(job)
                self._commit_batch(connection, batch)

    def _commit_batch(self, connection: Connection, batch: list[_Job]) -> None:
        try:
            with connection.begin():
                for job in batch:
                    self._run(connection, job)
        except BaseException as exc:  # the commit failed: none of the batch is stored
            logger.exception("a write transaction of %d could not be committed", len(batch))
            for job in batch:
                if job.error is None:
                    job.error = exc
        self.batches += 1
        self.writes += len(batch)
        for job in batch:
            job.loop.call_soon_threadsafe(job.settle)

    @staticmethod
    def _run(connection: Connection, job: _Job) -> None:
        """One write in a savepoint of the batch's transaction."""
        session = Session(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            autoflush=False,
        )
        try:
            unit = UnitOfWork(session)
            job.result = job.work(unit)
            session.commit()  # releases the savepoint
            job.changed = unit.changed
        except BaseException as exc:
            session.rollback()  # back to the savepoint; the batch goes on
            job.error = exc
        finally:
            session.close()


class AsyncDatabase:
    """An async engine (PostgreSQL): each transaction an AsyncSession running the work."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._listeners: list[Listener] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def write(self, work: Work[T]) -> T:
        async with AsyncSession(self.engine, expire_on_commit=False, autoflush=False) as session:
            units: list[UnitOfWork] = []

            def run(sync: Session) -> T:
                units.append(UnitOfWork(sync))
                return work(units[0])

            result = await session.run_sync(run)
            await session.commit()
        if units and units[0].changed:
            _tell(self._listeners, units[0].changed)
        return result

    async def read(self, work: Work[T]) -> T:
        async with AsyncSession(self.engine, expire_on_commit=False, autoflush=False) as session:
            return await session.run_sync(lambda sync: work(UnitOfWork(sync)))

    async def run_connection(self, work: Callable[[Connection], T]) -> T:
        async with self.engine.begin() as connection:
            return await connection.run_sync(work)

    async def close(self) -> None:
        await self.engine.dispose()
