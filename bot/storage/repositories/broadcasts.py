"""Broadcasts and their recipients: each recipient's state is kept, so a restarted bot
resumes a broadcast without sending to anyone twice (but for the one call in flight)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, select, true, update
from sqlalchemy.orm import Session

from bot.storage.dto import Broadcast, BroadcastState, Recipient, RecipientState
from bot.storage.models import BroadcastRecipientRow, BroadcastRow, ChatRow, UserRow


class BroadcastRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def create(self, author_id: int, content: dict[str, Any]) -> int:
        row = BroadcastRow(author_id=author_id, content=content, state=BroadcastState.DRAFT)
        self._session.add(row)
        self._session.flush()
        return row.id

    def get(self, broadcast_id: int) -> Broadcast | None:
        row = self._session.get(BroadcastRow, broadcast_id)
        return _broadcast(row) if row is not None else None

    def audience(self) -> int:
        """How many users a broadcast would reach now."""
        value = self._session.scalar(select(func.count()).select_from(_audience().subquery()))
        return int(value or 0)

    def start(self, broadcast_id: int, progress_message_id: int | None) -> int:
        """Draft -> sending: every user with a private chat who has not opted out or blocked
        the bot becomes a pending recipient. Returns how many (0: it was not a draft)."""
        started = self._session.execute(
            update(BroadcastRow)
            .where(BroadcastRow.id == broadcast_id, BroadcastRow.state == BroadcastState.DRAFT)
            .values(state=BroadcastState.SENDING, progress_message_id=progress_message_id)
        )
        if not getattr(started, "rowcount", 0):
            return 0
        users = _audience().add_columns(literal(broadcast_id), literal(RecipientState.PENDING))
        result = self._session.execute(
            insert(BroadcastRecipientRow).from_select(["user_id", "broadcast_id", "state"], users)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def finish(self, broadcast_id: int, state: BroadcastState, at: datetime) -> None:
        self._session.execute(
            update(BroadcastRow)
            .where(BroadcastRow.id == broadcast_id)
            .values(state=state, finished_at=at)
        )

    def sending(self) -> list[Broadcast]:
        """Broadcasts a stopped process left unfinished."""
        rows = self._session.scalars(
            select(BroadcastRow).where(BroadcastRow.state == BroadcastState.SENDING)
        )
        return [_broadcast(row) for row in rows]

    def pending(self, broadcast_id: int, after: int, limit: int) -> list[Recipient]:
        """The next pending recipients (by user id), with their locale."""
        rows = self._session.execute(
            select(BroadcastRecipientRow.user_id, UserRow.locale, UserRow.language_code)
            .join(UserRow, UserRow.id == BroadcastRecipientRow.user_id)
            .where(
                BroadcastRecipientRow.broadcast_id == broadcast_id,
                BroadcastRecipientRow.state == RecipientState.PENDING,
                BroadcastRecipientRow.user_id > after,
            )
            .order_by(BroadcastRecipientRow.user_id)
            .limit(limit)
        )
        return [Recipient(user_id, locale, code) for user_id, locale, code in rows]

    def record(
        self,
        broadcast_id: int,
        user_id: int,
        state: RecipientState,
        message_id: int | None = None,
        error: str | None = None,
    ) -> None:
        self._session.execute(
            update(BroadcastRecipientRow)
            .where(
                BroadcastRecipientRow.broadcast_id == broadcast_id,
                BroadcastRecipientRow.user_id == user_id,
            )
            .values(state=state, message_id=message_id, error=error[:128] if error else None)
        )

    def last_message_id(self, chat_id: int) -> int:
        """The largest message id a broadcast got in this (private) chat; 0 if none."""
        found = self._session.scalar(
            select(func.max(BroadcastRecipientRow.message_id)).where(
                BroadcastRecipientRow.user_id == chat_id
            )
        )
        return int(found or 0)

    def counts(self, broadcast_id: int) -> dict[RecipientState, int]:
        rows = self._session.execute(
            select(BroadcastRecipientRow.state, func.count())
            .where(BroadcastRecipientRow.broadcast_id == broadcast_id)
            .group_by(BroadcastRecipientRow.state)
        )
        return {RecipientState(state): int(n) for state, n in rows}


def _audience() -> Any:
    """Users the bot may write to: a private chat exists, not opted out, not blocked."""
    return (
        select(UserRow.id)
        .join(ChatRow, ChatRow.id == UserRow.id)
        .where(
            ChatRow.type == "private",
            UserRow.unsubscribed.is_not(true()),
            UserRow.blocked_at.is_(None),
        )
    )


def _broadcast(row: BroadcastRow) -> Broadcast:
    return Broadcast(
        id=row.id,
        author_id=row.author_id,
        content=dict(row.content),
        state=BroadcastState(row.state),
        progress_message_id=row.progress_message_id,
        created_at=row.created_at,
    )
