"""One process: everything that coordinates chats lives in its memory (the default)."""

from __future__ import annotations

from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from bot.coordination.ports import (
    Invalidation,
    InvalidationHandler,
    SharedBudgets,
    StopHandler,
)


class LocalCoordination:
    def __init__(self) -> None:
        self._storage = MemoryStorage()
        self._stop: StopHandler | None = None

    @property
    def fsm_storage(self) -> BaseStorage:
        return self._storage

    @property
    def budgets(self) -> SharedBudgets | None:
        return None

    def serve_stops(self, handler: StopHandler) -> None:
        self._stop = handler

    def serve_invalidations(self, handler: InvalidationHandler) -> None:
        """No other process holds copies."""

    async def start(self) -> None:
        """Nobody to listen to."""

    async def stop_answer(self, chat_id: int, generation_id: int | None = None) -> bool:
        return self._stop is not None and self._stop(chat_id, generation_id)

    def invalidate(self, change: Invalidation) -> None:
        """No other process to tell."""

    async def close(self) -> None:
        await self._storage.close()
