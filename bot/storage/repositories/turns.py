"""Turns: answers on their way to the user, with their outbox (see models.TurnRow)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from bot.storage.dto import TurnRecord, TurnState
from bot.storage.models import TurnRow, utcnow

UNFINISHED = (TurnState.STREAMING.value, TurnState.GENERATED.value)
RECENT_TURNS = 20


class TurnRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def open(
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
        now = utcnow()
        self._session.connection().execute(
            _OPEN,
            {
                "answer_id": answer_id,
                "chat_id": chat_id,
                "question_id": question_id,
                "user_id": user_id,
                "reply_to": reply_to,
                "private": private,
                "locale": locale,
                "state": TurnState.STREAMING.value,
                "visible": list(visible),
                "parts": None,
                "delivered": [],
                "reservation": reservation,
                "resumes": 0,
                "created_at": now,
                "updated_at": now,
            },
        )

    def last_message_id(self, chat_id: int) -> int:
        """The largest Telegram message id the chat's recent turns know of (their questions,
        what they showed and delivered); 0 when they know none."""
        rows = self._session.execute(
            select(TurnRow.reply_to, TurnRow.visible, TurnRow.delivered)
            .where(TurnRow.chat_id == chat_id)
            .order_by(TurnRow.answer_id.desc())
            .limit(RECENT_TURNS)
        ).all()
        known = [0]
        for reply_to, visible, delivered in rows:
            known += [reply_to or 0, *(visible or ())]
            known += [i for ids in delivered or () for i in ids or ()]
        return max(known)

    def get(self, answer_id: int) -> TurnRecord | None:
        row = self._session.get(TurnRow, answer_id)
        return _dto(row) if row is not None else None

    def unfinished(self) -> list[TurnRecord]:
        """Turns a process left streaming or undelivered, oldest first."""
        rows = self._session.scalars(
            select(TurnRow).where(TurnRow.state.in_(UNFINISHED)).order_by(TurnRow.answer_id)
        )
        return [_dto(row) for row in rows.all()]

    def set_visible(self, answer_id: int, message_ids: Sequence[int]) -> None:
        self._set(answer_id, visible=list(message_ids))

    def generated(self, answer_id: int, parts: Sequence[dict[str, Any]]) -> None:
        """The outbox: the final messages, committed before the first is sent."""
        self._set(
            answer_id,
            state=TurnState.GENERATED.value,
            parts=list(parts),
            delivered=[None] * len(parts),
        )

    def delivered(
        self, answer_id: int, delivered: Sequence[Sequence[int] | None], *, done: bool
    ) -> None:
        """Each part's message ids (None: not sent yet); `done` when every part is."""
        values: dict[str, Any] = {
            "delivered": [list(d) if d is not None else None for d in delivered]
        }
        if done:
            values["state"] = TurnState.DELIVERED.value
        self._set(answer_id, **values)

    def set_state(self, answer_id: int, state: TurnState) -> None:
        self._set(answer_id, state=state.value)

    def count_resume(self, answer_id: int) -> None:
        """(Rare: after a restart.)"""
        self._session.execute(
            update(TurnRow)
            .where(TurnRow.answer_id == answer_id)
            .values(resumes=TurnRow.resumes + 1)
        )

    def prune(self, older_than: datetime) -> int:
        """Forget finished turns older than `older_than`."""
        result = self._session.execute(
            delete(TurnRow).where(TurnRow.state.not_in(UNFINISHED), TurnRow.created_at < older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def _set(self, answer_id: int, **values: Any) -> None:
        names = tuple(sorted(values))
        statement = _SETS.get(names)
        if statement is None:
            statement = _SETS[names] = (
                update(TurnRow)
                .where(TurnRow.answer_id == bindparam("key"))
                .values({name: bindparam(name) for name in (*names, "updated_at")})
            )
        self._session.connection().execute(
            statement, {"key": answer_id, "updated_at": utcnow(), **values}
        )


_OPEN = insert(TurnRow)
_SETS: dict[tuple[str, ...], Any] = {}  # built once per set of columns (see _set)


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
