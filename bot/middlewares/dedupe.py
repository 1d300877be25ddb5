"""Drop updates handled before (webhook redeliveries, restarts); remember handled ones."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass(slots=True)
class UpdateReceipt:
    """Handlers set `recorded` when they stored the update id themselves (with the turn)."""

    recorded: bool = False


class DedupeMiddleware(BaseMiddleware):
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):  # registered on dispatcher.update only
            return await handler(event, data)
        async with self._uow(read_only=True) as uow:
            if await uow.updates.seen(event.update_id):
                logger.info("update %s was handled before; dropped", event.update_id)
                return None
        receipt = data["update_receipt"] = UpdateReceipt()
        try:
            return await handler(event, data)
        finally:
            # Marked even when the handler failed: a poison update must not loop forever.
            if not receipt.recorded:
                async with self._uow() as uow:
                    await uow.updates.mark(event.update_id)
                    await uow.commit()
