"""Unit of work: one transaction, the repositories bound to it, and the only place that commits."""

from __future__ import annotations

import asyncio
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.repositories import (
    BlobRepository,
    BroadcastRepository,
    CharacterRevisionRepository,
    ChatRepository,
    ConversationRepository,
    DocumentRepository,
    EntitlementRepository,
    FeedbackRepository,
    LedgerRepository,
    MessageRepository,
    QuotaRepository,
    RouteDecisionRepository,
    StatsRepository,
    TurnRepository,
    UpdateRepository,
    UserRepository,
)


class TransactionGate:
    """Runs one transaction at a time in this process (for SQLite).

    SQLite has one writer; without this, concurrent writers wait in SQLite's busy handler,
    which sleeps and polls: under load they convoy and fail with "database is locked" after the
    busy timeout. Queueing them here is FIFO and costs no sleeping. Re-entrant per task, so a
    nested unit of work in the same task cannot deadlock.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if self._owner is not None and self._owner is task:
            self._depth += 1
            return
        await self._lock.acquire()
        self._owner, self._depth = task, 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


class UnitOfWork:
    """`async with factory() as uow: ...; await uow.commit()`; no commit means rollback."""

    users: UserRepository
    chats: ChatRepository
    conversations: ConversationRepository
    messages: MessageRepository
    feedback: FeedbackRepository
    updates: UpdateRepository
    turns: TurnRepository
    decisions: RouteDecisionRepository
    revisions: CharacterRevisionRepository
    blobs: BlobRepository
    documents: DocumentRepository
    entitlements: EntitlementRepository
    ledger: LedgerRepository
    quota: QuotaRepository
    stats: StatsRepository
    broadcasts: BroadcastRepository

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        gate: TransactionGate | None,
        *,
        read_only: bool = False,
    ) -> None:
        self._session_factory = session_factory
        # Readers never wait for the gate: SQLite in WAL mode lets them run beside the writer.
        self._gate = None if read_only else gate
        self._read_only = read_only
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> UnitOfWork:
        if self._gate is not None:
            await self._gate.acquire()
        session = self._session_factory()
        self._session = session
        self.users = UserRepository(session)
        self.chats = ChatRepository(session)
        self.conversations = ConversationRepository(session)
        self.messages = MessageRepository(session)
        self.feedback = FeedbackRepository(session)
        self.updates = UpdateRepository(session)
        self.turns = TurnRepository(session)
        self.decisions = RouteDecisionRepository(session)
        self.revisions = CharacterRevisionRepository(session)
        self.blobs = BlobRepository(session)
        self.documents = DocumentRepository(session)
        self.entitlements = EntitlementRepository(session)
        self.ledger = LedgerRepository(session)
        self.quota = QuotaRepository(session)
        self.stats = StatsRepository(session)
        self.broadcasts = BroadcastRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._require()
        try:
            await session.rollback()
        finally:
            try:
                await session.close()
            finally:
                self._session = None
                if self._gate is not None:
                    self._gate.release()

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self._require().commit()

    def _require(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session


class UnitOfWorkFactory:
    """Units of work on one engine; on SQLite they share a `TransactionGate`."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        bind = session_factory.kw.get("bind")
        dialect = getattr(bind, "dialect", None)
        self._gate = TransactionGate() if getattr(dialect, "name", "") == "sqlite" else None

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """`read_only=True` for units that only read: they skip the SQLite write gate."""
        return UnitOfWork(self._session_factory, self._gate, read_only=read_only)
