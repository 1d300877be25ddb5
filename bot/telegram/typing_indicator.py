"""Shows "typing..." until the answer starts; a failed chat action never ends the turn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from aiogram import Bot

logger = logging.getLogger(__name__)

# A chat action lasts up to 5 s on the client; renew a little before it fades.
TYPING_INTERVAL_SECONDS = 4.5


class TypingIndicator:
    def __init__(self, bot: Bot, chat_id: int, interval: float = TYPING_INTERVAL_SECONDS) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TypingIndicator:
        self._task = asyncio.create_task(self._loop(), name=f"typing:{self._chat_id}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self._bot.send_chat_action(chat_id=self._chat_id, action="typing")
            except Exception as exc:  # the indicator is cosmetic: log and keep going
                logger.debug("chat %s: typing action failed: %s", self._chat_id, exc)
            await asyncio.sleep(self._interval)
