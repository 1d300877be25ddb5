"""The update log: an inbox of received updates and the record of handled ones (dedupe)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.dto import PendingUpdate, UpdateMark
from bot.storage.models import UpdateRow

_INSERTS: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
RECEIVED = "received"
HANDLED = "handled"


class UpdateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lookup(self, update_id: int) -> tuple[str, str | None] | None:
        """The update's state and fingerprint, or None if it was never recorded."""
        row = (
            await self._session.execute(
                select(UpdateRow.state, UpdateRow.fingerprint).where(
                    UpdateRow.update_id == update_id
                )
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def receive(self, updates: Sequence[tuple[UpdateMark, dict[str, Any]]]) -> None:
        """Keep updates in the inbox until they are handled. A row of an earlier update that
        reused the id (another fingerprint) is replaced; a redelivered one is left as it is."""
        for mark, raw in updates:
            await self._upsert(mark, state=RECEIVED, raw=raw, replace_only_other=True)

    async def mark(self, marks: Sequence[UpdateMark]) -> None:
        """The updates' effects are committed with this transaction: never handle them again."""
        for mark in marks:
            await self._upsert(mark, state=HANDLED, raw=None, replace_only_other=False)

    async def pending(self) -> list[PendingUpdate]:
        """Received updates not handled yet, oldest first."""
        rows = await self._session.execute(
            select(UpdateRow.update_id, UpdateRow.raw, UpdateRow.received_at)
            .where(UpdateRow.state == RECEIVED, UpdateRow.raw.is_not(None))
            .order_by(UpdateRow.update_id)
        )
        return [PendingUpdate(uid, raw, at) for uid, raw, at in rows.all()]

    async def prune(self, older_than: datetime) -> int:
        result = await self._session.execute(
            delete(UpdateRow).where(UpdateRow.received_at < older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _upsert(
        self,
        mark: UpdateMark,
        *,
        state: str,
        raw: dict[str, Any] | None,
        replace_only_other: bool,
    ) -> None:
        dialect = self._session.get_bind().dialect.name
        insert = _INSERTS.get(dialect)
        if insert is None:
            await self._upsert_generic(mark, state=state, raw=raw, replace=not replace_only_other)
            return
        stmt = insert(UpdateRow).values(
            update_id=mark.update_id, fingerprint=mark.fingerprint, state=state, raw=raw
        )
        if replace_only_other:
            # Only an update with another fingerprint replaces the row (the id was reused).
            await self._session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[UpdateRow.update_id],
                    set_={
                        "fingerprint": stmt.excluded.fingerprint,
                        "state": stmt.excluded.state,
                        "raw": stmt.excluded.raw,
                        "received_at": stmt.excluded.received_at,
                    },
                    where=UpdateRow.fingerprint.is_distinct_from(stmt.excluded.fingerprint),
                )
            )
            return
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=[UpdateRow.update_id],
                set_={
                    "state": state,
                    "raw": None,
                    "fingerprint": func.coalesce(stmt.excluded.fingerprint, UpdateRow.fingerprint),
                },
            )
        )

    async def _upsert_generic(
        self, mark: UpdateMark, *, state: str, raw: dict[str, Any] | None, replace: bool
    ) -> None:
        row = await self._session.get(UpdateRow, mark.update_id)
        if row is None:
            self._session.add(
                UpdateRow(
                    update_id=mark.update_id, fingerprint=mark.fingerprint, state=state, raw=raw
                )
            )
        elif replace or row.fingerprint != mark.fingerprint:
            row.state, row.raw = state, raw
            row.fingerprint = mark.fingerprint or row.fingerprint
        await self._session.flush()
