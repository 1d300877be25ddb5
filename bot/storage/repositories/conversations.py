"""Conversations, their messages, and feedback on answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from bot.storage.dto import MessageStatus, Role, StoredMessage
from bot.storage.models import ConversationRow, FeedbackRow, MessageRow, utcnow

# Left out of what the model sees and of exported transcripts.
_HIDDEN_STATUSES = (MessageStatus.FAILED.value, MessageStatus.SUPERSEDED.value)

# The turn's own statements, built once (SQLAlchemy then reuses their compiled form).
_COLUMNS = (
    MessageRow.id,
    MessageRow.conversation_id,
    MessageRow.role,
    MessageRow.content,
    MessageRow.status,
    MessageRow.model,
    MessageRow.input_tokens,
    MessageRow.output_tokens,
    MessageRow.user_id,
    MessageRow.telegram_message_ids,
    MessageRow.created_at,
)
_USABLE = (
    MessageRow.conversation_id == bindparam("conversation"),
    MessageRow.status.not_in(_HIDDEN_STATUSES),
)
_HISTORY = (
    select(*_COLUMNS).where(*_USABLE).order_by(MessageRow.id.desc()).limit(bindparam("limit"))
)
_HISTORY_UNTIL = (
    select(*_COLUMNS)
    .where(*_USABLE, MessageRow.id <= bindparam("until"))
    .order_by(MessageRow.id.desc())
    .limit(bindparam("limit"))
)
_NEW_CONVERSATION = insert(ConversationRow).returning(ConversationRow.id)
_NEW_MESSAGE = insert(MessageRow).returning(MessageRow.id)
_COMPLETE_ANSWER = (
    update(MessageRow)
    .where(MessageRow.id == bindparam("key"))
    .values(
        content=bindparam("content"),
        status=bindparam("status"),
        model=bindparam("model"),
        input_tokens=bindparam("input_tokens"),
        output_tokens=bindparam("output_tokens"),
        telegram_message_ids=bindparam("telegram_message_ids"),
        error=bindparam("error"),
        latency_ms=bindparam("latency_ms"),
        pictures=bindparam("pictures"),
    )
)
_TELEGRAM_IDS = (
    update(MessageRow)
    .where(MessageRow.id == bindparam("key"))
    .values(telegram_message_ids=bindparam("telegram_message_ids"))
)


class ConversationRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def create(self, chat_id: int) -> int:
        return int(
            self._session.connection().execute(_NEW_CONVERSATION, {"chat_id": chat_id}).scalar_one()
        )


class MessageRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
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
        now = utcnow()
        values = {
            "conversation_id": conversation_id,
            "role": role.value,
            "content": content,
            "status": status.value,
            "user_id": user_id,
            "model": model,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "telegram_message_ids": list(telegram_message_ids),
            "error": error,
            "pictures": pictures,
            "character_id": character_id,
            "created_at": now,
        }
        message_id = self._session.connection().execute(_NEW_MESSAGE, values).scalar_one()
        return StoredMessage(
            id=int(message_id),
            conversation_id=conversation_id,
            role=role,
            content=list(content),
            status=status,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            user_id=user_id,
            telegram_message_ids=list(telegram_message_ids),
            created_at=now,
        )

    def update_answer(
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
        self._session.connection().execute(
            _COMPLETE_ANSWER,
            {
                "key": message_id,
                "content": content,
                "status": status.value,
                "model": model,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "telegram_message_ids": list(telegram_message_ids),
                "error": error,
                "latency_ms": latency_ms,
                "pictures": pictures,
            },
        )

    def set_telegram_ids(self, message_id: int, telegram_ids: Sequence[int]) -> None:
        """The Telegram messages a stored message became (an answer, once delivered)."""
        self._session.connection().execute(
            _TELEGRAM_IDS, {"key": message_id, "telegram_message_ids": list(telegram_ids)}
        )

    def get(self, message_id: int) -> StoredMessage | None:
        row = self._session.get(MessageRow, message_id)
        return message_dto(row) if row is not None else None

    def history_until(
        self, conversation_id: int, message_id: int, *, limit: int
    ) -> list[StoredMessage]:
        """As `history`, ending with the message `message_id` (a resumed turn's question)."""
        params = {"conversation": conversation_id, "limit": limit, "until": message_id}
        rows = self._session.connection().execute(_HISTORY_UNTIL, params).all()
        return [message_dto(row) for row in reversed(rows)]

    def set_status(self, message_ids: Sequence[int], status: MessageStatus) -> None:
        if message_ids:
            self._session.execute(
                update(MessageRow)
                .where(MessageRow.id.in_(list(message_ids)))
                .values(status=status.value)
            )

    def history(self, conversation_id: int, *, limit: int) -> list[StoredMessage]:
        """The latest `limit` usable messages (failed and superseded ones are left out),
        oldest first."""
        params = {"conversation": conversation_id, "limit": limit}
        rows = self._session.connection().execute(_HISTORY, params).all()
        return [message_dto(row) for row in reversed(rows)]

    def transcript(self, conversation_id: int) -> list[StoredMessage]:
        """Every usable message of a conversation (as in `history`), oldest first: for export."""
        rows = self._session.scalars(
            select(MessageRow)
            .where(
                MessageRow.conversation_id == conversation_id,
                MessageRow.status.not_in(_HIDDEN_STATUSES),
            )
            .order_by(MessageRow.id)
        )
        return [message_dto(row) for row in rows.all()]

    def last_exchange(
        self, conversation_id: int
    ) -> tuple[StoredMessage | None, list[StoredMessage]]:
        """The last user message and the (not yet superseded) assistant messages after it."""
        last_user = self._session.scalar(
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
        answers = self._session.scalars(
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

    def chat_id_of(self, message_id: int) -> int | None:
        """The chat whose conversation holds the message, or None if there is no such message."""
        chat_id: int | None = self._session.scalar(
            select(ConversationRow.chat_id)
            .join(MessageRow, MessageRow.conversation_id == ConversationRow.id)
            .where(MessageRow.id == message_id)
        )
        return chat_id


class FeedbackRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def set(self, message_id: int, user_id: int, value: int) -> int | None:
        """Record the user's vote (+1 or -1) on an answer; returns their previous vote, if any."""
        row = self._session.scalar(
            select(FeedbackRow).where(
                FeedbackRow.message_id == message_id, FeedbackRow.user_id == user_id
            )
        )
        if row is None:
            self._session.add(FeedbackRow(message_id=message_id, user_id=user_id, value=value))
            self._session.flush()
            return None
        previous = row.value
        row.value = value
        self._session.flush()
        return previous


def message_dto(row: Any) -> StoredMessage:
    """From a MessageRow or a row of `_COLUMNS`."""
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
