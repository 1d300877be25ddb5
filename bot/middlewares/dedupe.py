"""Drop updates handled before (webhook redeliveries, restarts); record handled ones.

An update counts as handled once its effects are committed: a chat turn records it with the
user's message; any other update is recorded when its handler returns (or fails: a poison
update must not loop). An update whose handler was cancelled (a shutdown) is not recorded,
so it is handled again after the restart. A turn deferred to collect more parts (a split
paste, an album) keeps its updates in the inbox until the turn is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.storage.database import Database
from bot.storage.dto import UpdateMark
from bot.storage.repositories.updates import HANDLED
from bot.telegram.updates import RAW_KEY, mark

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
Keep = Callable[[Update], Awaitable[None]]
"""Stores an update in the inbox (its raw JSON) until its deferred turn is stored."""
KNOWN_KEY = "update_known"
"""Middleware data: what the ingress already knows of the update's record (polling's inbox:
(state, fingerprint), or None when new), so that it need not be read again."""


@dataclass(slots=True)
class UpdateReceipt:
    """Handlers set `recorded` when they stored the update with the turn, and `deferred`
    when its turn waits for more parts."""

    mark: UpdateMark
    recorded: bool = False
    deferred: bool = False


class DedupeMiddleware(BaseMiddleware):
    def __init__(self, db: Database, keep: Keep | None = None) -> None:
        """`keep`: how a deferred update is kept for a restart when the ingress does not
        keep every update (webhook mode); None when it does (polling's inbox)."""
        self._db = db
        self._keep = keep
        self._reused = 0

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):  # registered on dispatcher.update only
            return await handler(event, data)
        receipt = data["update_receipt"] = UpdateReceipt(mark(event, data.get(RAW_KEY)))
        if KNOWN_KEY in data:
            known = data[KNOWN_KEY]
        else:
            known = await self._db.read(lambda uow: uow.updates.lookup(event.update_id))
        if known is not None and self._seen(receipt.mark, *known):
            logger.info("update %s was handled before; dropped", event.update_id)
            return None
        try:
            result = await handler(event, data)
        except asyncio.CancelledError:
            raise  # cut off by a shutdown: handled again after the restart
        except Exception:
            await self._record(receipt)  # a poison update must not loop
            raise
        if receipt.deferred:
            if self._keep is not None:
                await self._keep(event)
        else:
            await self._record(receipt)
        return result

    def _seen(self, update: UpdateMark, state: str, fingerprint: str | None) -> bool:
        if fingerprint is not None and fingerprint != update.fingerprint:
            self._reused += 1
            if self._reused == 1 or self._reused % 1000 == 0:
                logger.warning(
                    "update id %s belonged to another update before: Telegram's update ids "
                    "started again (a new bot token, or a reset Telegram server); handling "
                    "such updates as new (%d so far)",
                    update.update_id,
                    self._reused,
                )
            return False
        return state == HANDLED

    async def _record(self, receipt: UpdateReceipt) -> None:
        if receipt.recorded:
            return
        await self._db.write(lambda uow: uow.updates.mark([receipt.mark]))
