"""Blocks by the content filter, for `/moderation`."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.storage.dto import ModerationEvent
from bot.storage.models import ModerationEventRow


class ModerationRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, event: ModerationEvent) -> None:
        values = asdict(replace(event, created_at=None))
        values.pop("created_at")
        self._session.add(ModerationEventRow(**values))
        self._session.flush()

    def recent(self, limit: int, chat_id: int | None = None) -> list[ModerationEvent]:
        """The latest blocks, newest first (of one chat when `chat_id` is given)."""
        query = select(ModerationEventRow).order_by(ModerationEventRow.id.desc()).limit(limit)
        if chat_id is not None:
            query = query.where(ModerationEventRow.chat_id == chat_id)
        rows = (self._session.execute(query)).scalars().all()
        return [
            ModerationEvent(
                chat_id=row.chat_id,
                user_id=row.user_id,
                answer_id=row.answer_id,
                subject=row.subject,
                topic=row.topic,
                stage=row.stage,
                confidence=row.confidence,
                route=row.route,
                model=row.model,
                judge_failure=row.judge_failure,
                created_at=row.created_at,
            )
            for row in rows
        ]

    def prune(self, before: datetime) -> int:
        result = self._session.execute(
            delete(ModerationEventRow).where(ModerationEventRow.created_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
