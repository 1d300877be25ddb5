"""Route decisions: how each user message was routed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.storage.dto import LabelledMessage, RouteDecisionRecord
from bot.storage.models import MessageRow, RouteDecisionRow, utcnow
from bot.storage.repositories.conversations import message_dto


class RouteDecisionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, record: RouteDecisionRecord) -> None:
        self._session.connection().execute(
            _NEW_DECISION,
            {
                "message_id": record.message_id,
                "chat_id": record.chat_id,
                "route": record.route,
                "stage": record.stage,
                "confidence": record.confidence,
                "latency_ms": record.latency_ms,
                "model": record.model,
                "created_at": utcnow(),
            },
        )

    def route_of(self, message_id: int) -> str | None:
        """The route a user message was given, if it was routed."""
        value = self._session.scalar(
            select(RouteDecisionRow.route).where(RouteDecisionRow.message_id == message_id)
        )
        return str(value) if value is not None else None

    def labelled(self, stages: Sequence[str]) -> list[LabelledMessage]:
        """User messages decided by `stages`, oldest first, with their text."""
        rows = self._session.execute(
            select(RouteDecisionRow, MessageRow)
            .join(MessageRow, MessageRow.id == RouteDecisionRow.message_id)
            .where(RouteDecisionRow.stage.in_(list(stages)))
            .order_by(RouteDecisionRow.id)
        )
        return [
            LabelledMessage(
                text=message_dto(message).text,
                route=decision.route,
                stage=decision.stage,
                confidence=decision.confidence,
                created_at=decision.created_at,
            )
            for decision, message in rows.all()
        ]


_NEW_DECISION = insert(RouteDecisionRow)
