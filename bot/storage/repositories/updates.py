"""The update log: an inbox of received updates and the record of handled ones (dedupe)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.storage.dto import PendingUpdate, UpdateMark
from bot.storage.models import UpdateRow, utcnow

# Upserts need the dialect's INSERT … ON CONFLICT: SQLite and PostgreSQL are supported.
_INSERTS: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
RECEIVED = "received"
HANDLED = "handled"


class UpdateRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def lookup(self, update_id: int) -> tuple[str, str | None] | None:
        """The update's state and fingerprint, or None if it was never recorded."""
        row = (
            self._session.execute(
                select(UpdateRow.state, UpdateRow.fingerprint).where(
                    UpdateRow.update_id == update_id
                )
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    def known(self, update_ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
        """State and fingerprint of those of the updates that have a record."""
        if not update_ids:
            return {}
        rows = self._session.execute(
            select(UpdateRow.update_id, UpdateRow.state, UpdateRow.fingerprint).where(
                UpdateRow.update_id.in_(list(update_ids))
            )
        )
        return {uid: (state, fp) for uid, state, fp in rows.all()}

    def receive(self, updates: Sequence[tuple[UpdateMark, dict[str, Any]]]) -> None:
        """Keep updates in the inbox until they are handled. A row of an earlier update that
        reused the id (another fingerprint) is replaced; a redelivered one is left as it is."""
        rows = [_row(mark, RECEIVED, raw) for mark, raw in updates]
        if rows:
            self._session.connection().execute(self._statement(receiving=True), rows)

    def mark(self, marks: Sequence[UpdateMark]) -> None:
        """The updates' effects are committed with this transaction: never handle them again."""
        rows = [_row(mark, HANDLED, None) for mark in marks]
        if rows:
            self._session.connection().execute(self._statement(receiving=False), rows)

    def pending(self) -> list[PendingUpdate]:
        """Received updates not handled yet, oldest first."""
        rows = self._session.execute(
            select(UpdateRow.update_id, UpdateRow.raw, UpdateRow.received_at)
            .where(UpdateRow.state == RECEIVED, UpdateRow.raw.is_not(None))
            .order_by(UpdateRow.update_id)
        )
        return [PendingUpdate(uid, raw, at) for uid, raw, at in rows.all()]

    def prune(self, older_than: datetime) -> int:
        result = self._session.execute(delete(UpdateRow).where(UpdateRow.received_at < older_than))
        return int(getattr(result, "rowcount", 0) or 0)

    def _statement(self, *, receiving: bool) -> Any:
        dialect = self._session.get_bind().dialect.name
        key = (dialect, receiving)
        statement = _UPSERTS.get(key)
        if statement is None:
            statement = _UPSERTS[key] = _upsert(_INSERTS[dialect], receiving=receiving)
        return statement


def _row(mark: UpdateMark, state: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "update_id": mark.update_id,
        "fingerprint": mark.fingerprint,
        "state": state,
        "raw": raw,
        "received_at": utcnow(),
    }


def _upsert(insert: Any, *, receiving: bool) -> Any:
    """Insert, or on a known id: receiving, replace the row only for another fingerprint (the
    id was reused); marking handled, keep the known fingerprint when none is given."""
    stmt = insert(UpdateRow)
    if receiving:
        return stmt.on_conflict_do_update(
            index_elements=[UpdateRow.update_id],
            set_={
                "fingerprint": stmt.excluded.fingerprint,
                "state": stmt.excluded.state,
                "raw": stmt.excluded.raw,
                "received_at": stmt.excluded.received_at,
            },
            where=UpdateRow.fingerprint.is_distinct_from(stmt.excluded.fingerprint),
        )
    return stmt.on_conflict_do_update(
        index_elements=[UpdateRow.update_id],
        set_={
            "state": stmt.excluded.state,
            "raw": None,
            "fingerprint": func.coalesce(stmt.excluded.fingerprint, UpdateRow.fingerprint),
        },
    )


_UPSERTS: dict[tuple[str, bool], Any] = {}
