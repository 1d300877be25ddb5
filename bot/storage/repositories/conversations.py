"""Conversations, their messages, and feedback on answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.dto import MessageStatus, Role, StoredMessage
from bot.storage.models import ConversationRow, FeedbackRow, MessageRow

# Left out of what the model sees and of exported transcripts.
_HIDDEN_STATUSES = (MessageStatus.FAILED.value, MessageStatus.SUPERSEDED.value)


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, chat_id: int) -> int:
        row = ConversationRow(chat_id=chat_id)
        self._session.add(row)
        await self._session.flush()
        return row.id


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        conversation_id: int,
        role: Role,
        content: list[dict[str, Any]],
        *,
        status: MessageStatus = MessageStatus.COMPLETE,
        user_id: int | None = None,
        model: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        telegram_message_ids: Sequence[int] = (),
        error: str | None = None,
        pictures: int = 0,
        character_id: str | None = None,
    ) -> StoredMessage:
        row = MessageRow(
            conversation_id=conversation_id,
            role=role.value,
            content=content,
            status=status.value,
            user_id=user_id,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            telegram_message_ids=list(telegram_message_ids),
            error=error,
            pictures=pictures,
            character_id=character_id,
        )
        self._session.add(row)
        await self._session.flush()
        return message_dto(row)

    async def update_answer(
        self,
        message_id: int,
        *,
        content: list[dict[str, Any]],
        status: MessageStatus,
        model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        telegram_message_ids: Sequence[int],
        error: str | None,
        latency_ms: int | None = None,
        pictures: int = 0,
    ) -> None:
        """Complete an answer row inserted when streaming started."""
        await self._session.execute(
            update(MessageRow)
            .where(MessageRow.id == message_id)
            .values(
                content=content,
                status=status.value,
                model=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                telegram_message_ids=list(telegram_message_ids),
                error=error,
                latency_ms=latency_ms,
                pictures=pictures,
            )
        )

    async def set_telegram_ids(self, message_id: int, telegram_ids: Sequence[int]) -> None:
        """The Telegram messages a stored message became (an answer, once delivered)."""
        await self._session.execute(
            update(MessageRow)
            .where(MessageRow.id == message_id)
            .values(telegram_message_ids=list(telegram_ids))
        )

    async def get(self, message_id: int) -> StoredMessage | None:
        row = await self._session.get(MessageRow, message_id)
        return message_dto(row) if row is not None else None

    async def history_until(
        self, conversation_id: int, message_id: int, *, limit: int
    ) -> list[StoredMessage]:
        """As `history`, ending with the message `message_id` (a resumed turn's question)."""
        rows = await self._session.scalars(
            select(MessageRow)
            .where(
                MessageRow.conversation_id == conversation_id,
                MessageRow.id <= message_id,
                MessageRow.status.not_in(_HIDDEN_STATUSES),
            )
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
        return [message_dto(row) for row in reversed(rows.all())]

    async def set_status(self, message_ids: Sequence[int], status: MessageStatus) -> None:
        if message_ids:
            await self._session.execute(
                update(MessageRow)
                .where(MessageRow.id.in_(list(message_ids)))
                .values(status=status.value)
            )

    async def history(self, conversation_id: int, *, limit: int) -> list[StoredMessage]:
        """The latest `limit` usable messages (failed and superseded ones are left out),
        oldest first."""
        rows = await self._session.scalars(
            select(MessageRow)
            .where(
                MessageRow.conversation_id == conversation_id,
                MessageRow.status.not_in(_HIDDEN_STATUSES),
            )
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
        return [message_dto(row) for row in reversed(rows.all())]

    async def transcript(self, conversation_id: int) -> list[StoredMessage]:
        """Every usable message of a conversation (as in `history`), oldest first: for export."""
        rows = await self._session.scalars(
            select(MessageRow)
            .where(
                MessageRow.conversation_id == conversation_id,
                MessageRow.status.not_in(_HIDDEN_STATUSES),
            )
            .order_by(MessageRow.id)
        )
        return [message_dto(row) for row in rows.all()]

    async def last_exchange(
        self, conversation_id: int
    ) -> tuple[StoredMessage | None, list[StoredMessage]]:
        """The last user message and the (not yet superseded) assistant messages after it."""
        last_user = await self._session.scalar(
            select(MessageRow)
            .where(
                MessageRow.conversation_id == conversation_id,
                MessageRow.role == Role.USER.value,
                MessageRow.status != MessageStatus.SUPERSEDED.value,
            )
            .order_by(MessageRow.id.desc())
            .limit(1)
        )
        if last_user is None:
            return None, []
        answers = await self._session.scalars(
            select(MessageRow)
            .where(
                MessageRow.conversation_id == conversation_id,
                MessageRow.id > last_user.id,
                MessageRow.role == Role.ASSISTANT.value,
                MessageRow.status != MessageStatus.SUPERSEDED.value,
            )
            .order_by(MessageRow.id)
        )
        return message_dto(last_user), [message_dto(row) for row in answers.all()]

    async def chat_id_of(self, message_id: int) -> int | None:
        """The chat whose conversation holds the message, or None if there is no such message."""
        chat_id: int | None = await self._session.scalar(
            select(ConversationRow.chat_id)
            .join(MessageRow, MessageRow.conversation_id == ConversationRow.id)
            .where(MessageRow.id == message_id)
        )
        return chat_id


class FeedbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def set(self, message_id: int, user_id: int, value: int) -> int | None:
        """Record the user's vote (+1 or -1) on an answer; returns their previous vote, if any."""
        row = await self._session.scalar(
            select(FeedbackRow).where(
                FeedbackRow.message_id == message_id, FeedbackRow.user_id == user_id
            )
        )
        if row is None:
            self._session.add(FeedbackRow(message_id=message_id, user_id=user_id, value=value))
            await self._session.flush()
            return None
        previous = row.value
        row.value = value
        await self._session.flush()
        return previous


def message_dto(row: MessageRow) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        role=Role(row.role),
        content=list(row.content),
        status=MessageStatus(row.status),
        model=row.model,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        user_id=row.user_id,
        telegram_message_ids=list(row.telegram_message_ids or []),
        created_at=row.created_at,
    )
