"""Private chats: the answer streams as a draft (with Telegram's stop button), then is sent.

The draft starts empty, which clients show as "thinking". When the answer outgrows one
message, the completed part is sent as a real message and the draft continues with the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiogram.types import MessageEntity

from bot.chat.ports import Button, Translate
from bot.telegram.formatting import render_markdown, render_plain
from bot.telegram.views.base import ViewContext, buttons_markup, feedback_for
from bot.telegram.views.ticker import Ticker

logger = logging.getLogger(__name__)

START_MAX_WAIT = 1.0
# A text draft may wait this long for the draft budget rather than be dropped: the first
# text of an answer should not wait a whole interval because the previous answer used the budget.
DRAFT_MAX_WAIT = 0.15


class DraftAnswerView:
    def __init__(
        self, ctx: ViewContext, chat_id: int, reply_to: int | None, draft_id: int, t: Translate
    ) -> None:
        self._ctx = ctx
        self._chat_id = chat_id
        self._reply_to = reply_to
        self._draft_id = draft_id
        self._t = t
        self._ticker = Ticker(ctx.settings.draft_interval, self._show)
        self._sent: list[int] = []  # ids of parts already sent as real messages
        self._parts_sent = 0
        self._thinking: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # In the background: the model call must not wait for the draft budget.
        self._thinking = asyncio.create_task(self._show_thinking())
        self._ticker.start()

    async def _show_thinking(self) -> None:
        try:
            with self._ctx.pacing.droppable(max_wait=START_MAX_WAIT):
                await self._draft("", None)
        except Exception as exc:  # the thinking state is cosmetic
            logger.debug("chat %s: thinking draft skipped: %s", self._chat_id, exc)

    async def update(self, text: str) -> None:
        self._ticker.push(text)

    async def finish(self, markdown: str, answer_id: int | None = None) -> list[int]:
        await self._stop_progress()
        markup = feedback_for(self._ctx, answer_id, self._t)
        if self._ctx.settings.rich_messages and not self._sent:
            ids = await self._ctx.sender.send_rich(
                self._chat_id, markdown, reply_to=self._reply_to, markup=markup
            )
            if ids is not None:
                return ids
        chunks = render_markdown(markdown) or render_plain(markdown)
        rest = chunks[self._parts_sent :]
        reply_to = None if self._sent else self._reply_to
        return self._sent + await self._ctx.sender.send_chunks(
            self._chat_id, rest, reply_to=reply_to, markup=markup
        )

    async def photo(self, data: bytes, caption: str = "") -> int:
        return await self._ctx.sender.send_photo(
            self._chat_id, data, caption, reply_to=self._reply_to
        )

    async def notice(self, text: str, buttons: Sequence[Button] = ()) -> list[int]:
        await self._stop_progress()
        reply_to = None if self._sent else self._reply_to
        return self._sent + await self._ctx.sender.send_chunks(
            self._chat_id, render_plain(text), reply_to=reply_to, markup=buttons_markup(buttons)
        )

    async def close(self) -> None:
        await self._stop_progress()

    async def _stop_progress(self) -> None:
        await self._ticker.stop()
        if self._thinking is not None and not self._thinking.done():
            self._thinking.cancel()  # the answer is ready: the thinking state is moot
            with contextlib.suppress(asyncio.CancelledError):
                await self._thinking

    async def _show(self, markdown: str) -> None:
        if self._thinking is not None:
            await self._thinking  # drafts keep their order: thinking first
        chunks = render_markdown(markdown)
        if not chunks:
            return
        complete = chunks[self._parts_sent : -1]
        if complete and not self._ctx.settings.rich_messages:
            # These parts can no longer change: send them for good (never dropped).
            reply_to = None if self._sent else self._reply_to
            self._sent += await self._ctx.sender.send_chunks(
                self._chat_id, complete, reply_to=reply_to
            )
            self._parts_sent += len(complete)
        tail = chunks[-1]
        with self._ctx.pacing.droppable(max_wait=DRAFT_MAX_WAIT):
            await self._draft(tail.text, tail.entities or None)

    async def _draft(self, text: str, entities: list[MessageEntity] | None) -> None:
        await self._ctx.bot.send_message_draft(
            chat_id=self._chat_id,
            draft_id=self._draft_id,
            text=text,
            entities=entities,
            can_stop=True,
        )
