"""A status message for long work ("Reading page 40 of 200…"), edited at a calm pace."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

logger = logging.getLogger(__name__)


class ReadingStatus:
    """Shown only for work of at least `min_total` steps; removed when the work is done.

    `render(done, total)` gives the text. Edits come at most every `interval` seconds (the
    pacer would queue more, but they would be stale by the time they went out).
    """

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        render: Callable[[int, int], str],
        *,
        min_total: int,
        interval: float = 1.0,
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._render = render
        self._min_total = min_total
        self._interval = interval
        self._message_id: int | None = None
        self._last = 0.0

    async def __call__(self, done: int, total: int) -> None:
        if total < self._min_total:
            return
        now = time.monotonic()
        try:
            if self._message_id is None:
                sent = await self._bot.send_message(self._chat_id, self._render(done, total))
                self._message_id, self._last = sent.message_id, now
            elif now - self._last >= self._interval and done < total:
                await self._bot.edit_message_text(
                    self._render(done, total), chat_id=self._chat_id, message_id=self._message_id
                )
                self._last = now
        except TelegramAPIError as exc:  # progress is a courtesy; reading goes on
            logger.warning("chat %s: progress message failed: %s", self._chat_id, exc)

    async def close(self) -> None:
        if self._message_id is not None:
            with contextlib.suppress(TelegramAPIError):
                await self._bot.delete_message(self._chat_id, self._message_id)
            self._message_id = None
