"""Groups (no drafts there): a placeholder message with a Stop button, edited as text arrives.

Edits are paced to the group limit (about 20 messages a minute); an answer that outgrows one
message finishes the current message and continues in a new placeholder. Everything shown
while streaming is best effort: the final delivery edits, sends or deletes what it must.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.chat.ports import Translate
from bot.telegram.formatting import render_markdown, render_plain
from bot.telegram.pacing import retry_for
from bot.telegram.typing_indicator import TypingIndicator
from bot.telegram.views.base import (
    AnswerViewBase,
    ViewContext,
    stop_markup,
)

logger = logging.getLogger(__name__)

# The placeholder and a new part's placeholder are tried this long; the final delivery sends
# the answer as new messages if they could not be sent.
PLACEHOLDER_RETRY_SECONDS = 5.0


class PlaceholderAnswerView(AnswerViewBase):
    def __init__(
        self,
        ctx: ViewContext,
        chat_id: int,
        reply_to: int | None,
        generation_id: int,
        t: Translate,
        stale: Sequence[int] = (),
        *,
        hidden: bool = False,
    ) -> None:
        # The placeholder was just sent: the first edit also keeps a gap (at most 1 s).
        interval = ctx.settings.edit_interval
        delay = min(1.0, interval)
        super().__init__(ctx, chat_id, reply_to, t, stale, interval, delay, hidden=hidden)
        self._stop = stop_markup(generation_id, t)
        self._typing = TypingIndicator(ctx.bot, chat_id)

    async def start(self) -> None:
        await self._typing.__aenter__()
        # In the background: the model call must not wait for the group's message budget.
        self._background(self._new_placeholder())
        self._ticker.start()

    async def _stop_progress(self) -> None:
        await self._ticker.stop()
        await self._typing.stop()
        await self._settle_background()

    async def _new_placeholder(self) -> None:
        [chunk] = render_plain(self._t("answer-thinking"))
        try:
            with retry_for(PLACEHOLDER_RETRY_SECONDS):
                ids = await self._ctx.sender.send_chunks(
                    self._chat_id, [chunk], reply_to=self.messages.reply_to, markup=self._stop
                )
        except Exception as exc:  # the final answer is sent as a new message instead
            logger.warning("chat %s: placeholder not sent: %s", self._chat_id, exc)
            return
        await self.messages.add(ids, chunk, self._stop)

    async def _show(self, markdown: str) -> None:
        await self._settle_background()  # the first placeholder exists (or failed)
        if self._hidden:
            await self._show_progress(markdown)
            return
        chunks = render_markdown(markdown)
        if not chunks or not self.messages.ids:
            return
        while len(chunks) > len(self.messages.ids):
            # The current message is full: finish it and continue in a new placeholder.
            done = len(self.messages.ids) - 1
            with retry_for(PLACEHOLDER_RETRY_SECONDS):
                await self._ctx.sender.edit_chunk(
                    self._chat_id, self.messages.ids[done], chunks[done]
                )
            self.messages.shown(self.messages.ids[done], chunks[done], None)
            before = len(self.messages.ids)
            await self._new_placeholder()
            if len(self.messages.ids) == before:
                return  # no new placeholder: the final delivery sends the rest
        tail = chunks[len(self.messages.ids) - 1]
        with self._ctx.pacing.droppable():
            await self._ctx.bot.edit_message_text(
                chat_id=self._chat_id,
                message_id=self.messages.ids[-1],
                text=tail.text,
                entities=tail.entities or None,
                reply_markup=self._stop,
            )
        self.messages.shown(self.messages.ids[-1], tail, self._stop)

    async def _show_progress(self, markdown: str) -> None:
        """A hidden answer: the placeholder counts words, shows none of them."""
        if not self.messages.ids:
            return
        [chunk] = render_plain(self._progress(markdown))
        with self._ctx.pacing.droppable():
            await self._ctx.bot.edit_message_text(
                chat_id=self._chat_id,
                message_id=self.messages.ids[-1],
                text=chunk.text,
                reply_markup=self._stop,
            )
        self.messages.shown(self.messages.ids[-1], chunk, self._stop)
