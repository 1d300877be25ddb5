"""Unit of work: one transaction, the repositories bound to it, and the only place that commits."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    FeedbackRepository,
    MessageRepository,
    ProcessedUpdateRepository,
    UserRepository,
)


class UnitOfWork:
    """`async with factory() as uow: ...; await uow.commit()`; no commit means rollback."""

    users: UserRepository
    chats: ChatRepository
    conversations: ConversationRepository
    messages: MessageRepository
    feedback: FeedbackRepository
    updates: ProcessedUpdateRepository

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> UnitOfWork:
        session = self._session_factory()
        self._session = session
        self.users = UserRepository(session)
        self.chats = ChatRepository(session)
        self.conversations = ConversationRepository(session)
        self.messages = MessageRepository(session)
        self.feedback = FeedbackRepository(session)
        self.updates = ProcessedUpdateRepository(session)
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
            await session.close()
            self._session = None

    async def commit(self) -> None:
        await self._require().commit()

    def _require(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session


class UnitOfWorkFactory:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._session_factory)
