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

from bot.chat.ports import Part, Translate
from bot.telegram.formatting import render_markdown
from bot.telegram.pacing import retry_for
from bot.telegram.views.base import AnswerViewBase, ViewContext, feedback_for

logger = logging.getLogger(__name__)

START_MAX_WAIT = 1.0
# A text draft may wait this long for the draft budget rather than be dropped: the first
# text of an answer should not wait a whole interval because the previous answer used the budget.
DRAFT_MAX_WAIT = 0.15
# A part sent while streaming is retried briefly; the final delivery sends it if it failed.
PART_RETRY_SECONDS = 5.0


class DraftAnswerView(AnswerViewBase):
    def __init__(
        self,
        ctx: ViewContext,
        chat_id: int,
        reply_to: int | None,
        draft_id: int,
        t: Translate,
        stale: Sequence[int] = (),
        *,
        hidden: bool = False,
    ) -> None:
        interval = ctx.settings.draft_interval
        super().__init__(ctx, chat_id, reply_to, t, stale, interval, hidden=hidden)
        self._draft_id = draft_id
        self._thinking: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # In the background: the model call must not wait for the draft budget.
        self._thinking = asyncio.create_task(self._show_thinking())
        self._ticker.start()

    async def _show_thinking(self) -> None:
        try:
            with self._ctx.pacing.droppable(max_wait=START_MAX_WAIT, abandon=self._ready):
                await self._draft("", None)
        except Exception as exc:  # the thinking state is cosmetic
            logger.debug("chat %s: thinking draft skipped: %s", self._chat_id, exc)

    def final_parts(self, markdown: str, answer_id: int | None = None) -> list[Part]:
        if self._ctx.settings.rich_messages and not self.messages.ids:
            markup = feedback_for(self._ctx, answer_id, self._t)
            return self.messages.rich_parts(self._ctx.sender.rich_pieces(markdown), markup)
        return super().final_parts(markdown, answer_id)

    async def _stop_progress(self) -> None:
        await self._ticker.stop()
        if self._thinking is not None and not self._thinking.done():
            self._thinking.cancel()  # the answer is ready: the thinking state is moot
            with contextlib.suppress(asyncio.CancelledError):
                await self._thinking

    async def _show(self, markdown: str) -> None:
        if self._thinking is not None:
            await self._thinking  # drafts keep their order: thinking first
        if self._hidden:  # nothing of the text before the content filter passed it
            with self._ctx.pacing.droppable(max_wait=DRAFT_MAX_WAIT, abandon=self._ready):
                await self._draft(self._progress(markdown), None)
            return
        chunks = render_markdown(markdown)
        if not chunks:
            return
        if not self._ctx.settings.rich_messages:
            # Parts that can no longer change are sent as messages now.
            for chunk in chunks[len(self.messages.ids) : -1]:
                with retry_for(PART_RETRY_SECONDS):
                    ids = await self._ctx.sender.send_chunks(
                        self._chat_id, [chunk], reply_to=self.messages.reply_to
                    )
                await self.messages.add(ids, chunk, None)
        tail = chunks[-1]
        with self._ctx.pacing.droppable(max_wait=DRAFT_MAX_WAIT, abandon=self._ready):
            await self._draft(tail.text, tail.entities or None)

    async def _draft(self, text: str, entities: list[MessageEntity] | None) -> None:
        await self._ctx.bot.send_message_draft(
            chat_id=self._chat_id,
            draft_id=self._draft_id,
            text=text,
            entities=entities,
            can_stop=True,
        )
