"""Groups (no drafts there): a placeholder message with a Stop button, edited as text arrives.

Edits are paced to the group limit (about 20 messages a minute); an answer that outgrows one
message finishes the current message and continues in a new placeholder.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup

from bot.chat.ports import Button, Translate
from bot.telegram.formatting import Chunk, render_markdown, render_plain
from bot.telegram.typing_indicator import TypingIndicator
from bot.telegram.views.base import ViewContext, buttons_markup, feedback_for, stop_markup
from bot.telegram.views.ticker import Ticker

logger = logging.getLogger(__name__)


class PlaceholderAnswerView:
    def __init__(
        self,
        ctx: ViewContext,
        chat_id: int,
        reply_to: int | None,
        generation_id: int,
        t: Translate,
    ) -> None:
        self._ctx = ctx
        self._chat_id = chat_id
        self._reply_to = reply_to
        self._t = t
        self._stop = stop_markup(generation_id, t)
        # The placeholder was just sent: the first edit also keeps a gap (at most 1 s).
        interval = ctx.settings.edit_interval
        self._ticker = Ticker(interval, self._show, first_delay=min(1.0, interval))
        self._typing = TypingIndicator(ctx.bot, chat_id)
        self._ids: list[int] = []  # every message of this answer, the placeholder last
        self._parts_done = 0
        self._placeholder: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._typing.__aenter__()
        # In the background: the model call must not wait for the group's message budget.
        self._placeholder = asyncio.create_task(self._send_placeholder())
        self._ticker.start()

    async def _send_placeholder(self) -> None:
        self._ids += await self._ctx.sender.send_chunks(
            self._chat_id,
            render_plain(self._t("answer-thinking")),
            reply_to=self._reply_to,
            markup=self._stop,
        )

    async def update(self, text: str) -> None:
        self._ticker.push(text)

    async def finish(self, markdown: str, answer_id: int | None = None) -> list[int]:
        await self._close_progress()
        markup = feedback_for(self._ctx, answer_id, self._t)
        chunks = render_markdown(markdown) or render_plain(markdown)
        return await self._complete(chunks[self._parts_done :], markup)

    async def photo(self, data: bytes, caption: str = "") -> int:
        return await self._ctx.sender.send_photo(
            self._chat_id, data, caption, reply_to=self._reply_to
        )

    async def notice(self, text: str, buttons: Sequence[Button] = ()) -> list[int]:
        await self._close_progress()
        return await self._complete(render_plain(text), buttons_markup(buttons))

    async def close(self) -> None:
        try:
            await self._close_progress()
        except Exception as exc:  # closing must not hide how the answer ended
            logger.warning("chat %s: placeholder could not be sent: %s", self._chat_id, exc)

    async def _close_progress(self) -> None:
        await self._ticker.stop()
        await self._typing.stop()
        if self._placeholder is not None:
            await self._placeholder  # a final message: it exists before it is completed

    async def _complete(
        self, rest: list[Chunk], keyboard: InlineKeyboardMarkup | None
    ) -> list[int]:
        if not rest:
            return self._ids
        first, *others = rest
        self._ids += await self._ctx.sender.edit_chunk(
            self._chat_id, self._ids[-1], first, markup=None if others else keyboard
        )
        if others:
            self._ids += await self._ctx.sender.send_chunks(self._chat_id, others, markup=keyboard)
        return self._ids

    async def _show(self, markdown: str) -> None:
        if self._placeholder is not None:
            await self._placeholder
        chunks = render_markdown(markdown)
        if not chunks:
            return
        while len(chunks) - 1 > self._parts_done:
            # The current message is full: finish it and continue in a new placeholder.
            await self._ctx.sender.edit_chunk(
                self._chat_id, self._ids[-1], chunks[self._parts_done]
            )
            self._parts_done += 1
            self._ids += await self._ctx.sender.send_chunks(
                self._chat_id, render_plain(self._t("answer-thinking")), markup=self._stop
            )
        tail = chunks[-1]
        with self._ctx.pacing.droppable():
            await self._ctx.bot.edit_message_text(
                chat_id=self._chat_id,
                message_id=self._ids[-1],
                text=tail.text,
                entities=tail.entities or None,
                reply_markup=self._stop,
            )
