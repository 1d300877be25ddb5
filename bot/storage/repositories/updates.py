"""Processed Telegram update ids (deduplication)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import ProcessedUpdateRow

_INSERTS: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


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
