"""The messages an answer occupies while it is produced, and the parts that make them final.

While an answer streams, a group shows placeholders and a long private answer sends its
completed parts; those messages are recorded as the turn's `visible` messages (a restarted
bot replaces them). The final answer then reuses them: a message that already shows its final
text is kept, one that shows something else is edited, extra ones are deleted, the rest of
the answer is sent. Messages left by an earlier, interrupted attempt (`stale`) are deleted
once the answer is there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram.types import InlineKeyboardMarkup

from bot.telegram.formatting import Chunk
from bot.telegram.outbox import Part, delete_part, edit_part, keep_part, rich_part, send_part

logger = logging.getLogger(__name__)

Journal = Callable[[Sequence[int]], Awaitable[None]]
"""Records the answer's visible messages (the whole list, each time it changes)."""

Shown = tuple[Chunk, dict[str, Any] | None]


class AnswerMessages:
    def __init__(self, chat_id: int, reply_to: int | None, stale: Sequence[int] = ()) -> None:
        self._chat_id = chat_id
        self._reply_to = reply_to
        self._stale = list(stale)
        self.ids: list[int] = []
        self._shown: dict[int, Shown] = {}
        self._journal: Journal | None = None
        self._recorded: list[int] = []
        self._recording = asyncio.Lock()

    async def add(
        self, message_ids: Sequence[int], chunk: Chunk, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Messages sent while streaming; the first shows `chunk`."""
        if not message_ids:
            return
        self.ids += message_ids
        self._shown[message_ids[0]] = (chunk, _dump(markup))
        await self._record()

    def shown(self, message_id: int, chunk: Chunk, markup: InlineKeyboardMarkup | None) -> None:
        """A message of the answer was edited to `chunk`."""
        self._shown[message_id] = (chunk, _dump(markup))

    async def bind(self, journal: Journal, recorded: Sequence[int] = ()) -> None:
        """From now on every change is recorded (and now, unless `recorded` is current)."""
        self._journal = journal
        self._recorded = list(recorded)
        await self._record()

    @property
    def reply_to(self) -> int | None:
        """What the next new message of the answer replies to: the question, for the first."""
        return None if self.ids else self._reply_to

    @property
    def question(self) -> int | None:
        return self._reply_to

    def parts(self, chunks: Sequence[Chunk], markup: InlineKeyboardMarkup | None) -> list[Part]:
        """The final answer in `chunks`, the last carrying `markup`."""
        parts: list[Part] = []
        wanted = _dump(markup)
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            keyboard = markup if last else None
            if index < len(self.ids):
                message_id = self.ids[index]
                if self._shown.get(message_id) == (chunk, wanted if last else None):
                    parts.append(keep_part(message_id))
                else:
                    reply_to = self._reply_to if index == 0 else None
                    parts.append(edit_part(message_id, chunk, markup=keyboard, reply_to=reply_to))
            else:
                reply_to = self._reply_to if index == 0 else None
                parts.append(send_part(chunk, reply_to=reply_to, markup=keyboard))
        parts += [delete_part(message_id) for message_id in self.ids[len(chunks) :]]
        return parts + self.stale_parts()

    def rich_parts(self, pieces: Sequence[str], markup: InlineKeyboardMarkup | None) -> list[Part]:
        """Rich messages (only when nothing of the answer was sent while streaming)."""
        parts = [
            rich_part(
                piece,
                reply_to=self._reply_to if index == 0 else None,
                markup=markup if index == len(pieces) - 1 else None,
            )
            for index, piece in enumerate(pieces)
        ]
        return parts + self.stale_parts()

    def stale_parts(self) -> list[Part]:
        return [delete_part(message_id) for message_id in self._stale]

    async def _record(self) -> None:
        if self._journal is None:
            return
        shown = self._stale + self.ids  # stale ones too, until the answer replaces them
        async with self._recording:
            if shown == self._recorded:
                return
            try:
                await self._journal(shown)
                self._recorded = shown
            except Exception:  # the answer goes on; only a restart would miss these ids
                logger.exception("chat %s: the answer's messages were not recorded", self._chat_id)


def _dump(markup: InlineKeyboardMarkup | None) -> dict[str, Any] | None:
    return markup.model_dump(mode="json", exclude_none=True) if markup is not None else None
