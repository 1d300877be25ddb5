"""Repositories: queries and changes inside a unit of work. They never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.dto import Chat, MessageStatus, Role, StoredMessage, User
from bot.storage.models import (
    ChatRow,
    ConversationRow,
    FeedbackRow,
    MessageRow,
    ProcessedUpdateRow,
    UserRow,
)

_INSERTS: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
# Left out of what the model sees and of exported transcripts.
_HIDDEN_STATUSES = (MessageStatus.FAILED.value, MessageStatus.SUPERSEDED.value)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(
        self, user_id: int, *, username: str | None, first_name: str, language_code: str | None
    ) -> User:
        row = await self._session.get(UserRow, user_id)
        if row is None:
            row = UserRow(
                id=user_id, username=username, first_name=first_name, language_code=language_code
            )
            self._session.add(row)
        elif (row.username, row.first_name, row.language_code) != (
            username,
            first_name,
            language_code,
        ):
            row.username, row.first_name, row.language_code = username, first_name, language_code
        await self._session.flush()
        return _user(row)

    async def get(self, user_id: int) -> User | None:
        row = await self._session.get(UserRow, user_id)
        return None if row is None else _user(row)

    async def set_locale(self, user_id: int, locale: str | None) -> None:
        await self._session.execute(
            update(UserRow).where(UserRow.id == user_id).values(locale=locale)
        )


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(self, chat_id: int, *, type_: str, title: str | None) -> Chat:
        row = await self._session.get(ChatRow, chat_id)
        if row is None:
            row = ChatRow(id=chat_id, type=type_, title=title)
            self._session.add(row)
        elif (row.type, row.title) != (type_, title):
            row.type, row.title = type_, title
        await self._session.flush()
        return _chat(row)

    async def get(self, chat_id: int) -> Chat | None:
        row = await self._session.get(ChatRow, chat_id)
        return None if row is None else _chat(row)

    async def set_model(self, chat_id: int, model: str | None) -> None:
        await self._update(chat_id, model=model)

    async def set_conversation(self, chat_id: int, conversation_id: int | None) -> None:
        await self._update(chat_id, current_conversation_id=conversation_id)

    async def set_system_prompt(self, chat_id: int, prompt: str | None) -> None:
        await self._update(chat_id, system_prompt=prompt)

    async def set_temperature(self, chat_id: int, temperature: float | None) -> None:
        await self._update(chat_id, temperature=temperature)

    async def set_top_p(self, chat_id: int, top_p: float | None) -> None:
        await self._update(chat_id, top_p=top_p)

    async def set_max_output_tokens(self, chat_id: int, tokens: int | None) -> None:
        await self._update(chat_id, max_output_tokens=tokens)

    async def set_show_footer(self, chat_id: int, show: bool) -> None:
        await self._update(chat_id, show_footer=show)

    async def set_short_name(self, chat_id: int, short_name: str | None) -> None:
        await self._update(chat_id, short_name=short_name)

    async def _update(self, chat_id: int, **values: Any) -> None:
        await self._session.execute(update(ChatRow).where(ChatRow.id == chat_id).values(**values))


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
        )
        self._session.add(row)
        await self._session.flush()
        return _message(row)

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
            )
        )

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
        return [_message(row) for row in reversed(rows.all())]

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
        return [_message(row) for row in rows.all()]

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
        return _message(last_user), [_message(row) for row in answers.all()]

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


class ProcessedUpdateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, update_id: int) -> bool:
        return await self._session.get(ProcessedUpdateRow, update_id) is not None

    async def mark(self, update_id: int) -> None:
        """Record the update; recording it twice is harmless (insert-or-ignore)."""
        dialect = self._session.get_bind().dialect.name
        insert = _INSERTS.get(dialect)
        if insert is not None:
            stmt = insert(ProcessedUpdateRow).values(update_id=update_id)
            await self._session.execute(stmt.on_conflict_do_nothing())
        elif not await self.seen(update_id):
            self._session.add(ProcessedUpdateRow(update_id=update_id))
            await self._session.flush()

    async def prune(self, older_than: datetime) -> int:
        result = await self._session.execute(
            delete(ProcessedUpdateRow).where(ProcessedUpdateRow.processed_at < older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        first_name=row.first_name,
        language_code=row.language_code,
        locale=row.locale,
    )


def _chat(row: ChatRow) -> Chat:
    return Chat(
        id=row.id,
        type=row.type,
        title=row.title,
        model=row.model,
        system_prompt=row.system_prompt,
        temperature=row.temperature,
        top_p=row.top_p,
        max_output_tokens=row.max_output_tokens,
        current_conversation_id=row.current_conversation_id,
        show_footer=bool(row.show_footer),
        short_name=row.short_name,
    )


def _message(row: MessageRow) -> StoredMessage:
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
