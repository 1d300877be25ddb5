"""Turns: answers on their way to the user, with their outbox (see models.TurnRow)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.dto import TurnRecord, TurnState
from bot.storage.models import TurnRow

UNFINISHED = (TurnState.STREAMING.value, TurnState.GENERATED.value)


class TurnRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open(
        self,
        answer_id: int,
        *,
        chat_id: int,
        question_id: int | None,
        user_id: int | None,
        reply_to: int | None,
        private: bool,
        locale: str,
        reservation: dict[str, Any] | None,
        visible: Sequence[int] = (),
    ) -> None:
        self._session.add(
            TurnRow(
                answer_id=answer_id,
                chat_id=chat_id,
                question_id=question_id,
                user_id=user_id,
                reply_to=reply_to,
                private=private,
                locale=locale,
                state=TurnState.STREAMING.value,
                visible=list(visible),
                delivered=[],
                reservation=reservation,
                resumes=0,
            )
        )
        await self._session.flush()

    async def get(self, answer_id: int) -> TurnRecord | None:
        row = await self._session.get(TurnRow, answer_id)
        return _dto(row) if row is not None else None

    async def unfinished(self) -> list[TurnRecord]:
        """Turns a process left streaming or undelivered, oldest first."""
        rows = await self._session.scalars(
            select(TurnRow).where(TurnRow.state.in_(UNFINISHED)).order_by(TurnRow.answer_id)
        )
        return [_dto(row) for row in rows.all()]

    async def set_visible(self, answer_id: int, message_ids: Sequence[int]) -> None:
        await self._set(answer_id, visible=list(message_ids))

    async def generated(self, answer_id: int, parts: Sequence[dict[str, Any]]) -> None:
        """The outbox: the final messages, committed before the first is sent."""
        await self._set(
            answer_id,
            state=TurnState.GENERATED.value,
            parts=list(parts),
            delivered=[None] * len(parts),
        )

    async def delivered(
        self, answer_id: int, delivered: Sequence[Sequence[int] | None], *, done: bool
    ) -> None:
        """Each part's message ids (None: not sent yet); `done` when every part is."""
        values: dict[str, Any] = {
            "delivered": [list(d) if d is not None else None for d in delivered]
        }
        if done:
            values["state"] = TurnState.DELIVERED.value
        await self._set(answer_id, **values)

    async def set_state(self, answer_id: int, state: TurnState) -> None:
        await self._set(answer_id, state=state.value)

    async def count_resume(self, answer_id: int) -> None:
        await self._session.execute(
            update(TurnRow)
            .where(TurnRow.answer_id == answer_id)
            .values(resumes=TurnRow.resumes + 1)
        )

    async def prune(self, older_than: datetime) -> int:
        """Forget finished turns older than `older_than`."""
        result = await self._session.execute(
            delete(TurnRow).where(TurnRow.state.not_in(UNFINISHED), TurnRow.created_at < older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _set(self, answer_id: int, **values: Any) -> None:
        await self._session.execute(
            update(TurnRow).where(TurnRow.answer_id == answer_id).values(**values)
        )


def _dto(row: TurnRow) -> TurnRecord:
    return TurnRecord(
        answer_id=row.answer_id,
        chat_id=row.chat_id,
        question_id=row.question_id,
        user_id=row.user_id,
        reply_to=row.reply_to,
        private=row.private,
        locale=row.locale,
        state=TurnState(row.state),
        visible=tuple(row.visible or ()),
        parts=tuple(row.parts) if row.parts is not None else None,
        delivered=tuple(tuple(d) if d is not None else None for d in row.delivered or ()),
        reservation=row.reservation,
        resumes=row.resumes,
        created_at=row.created_at,
    )
