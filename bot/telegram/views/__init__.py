"""Answer views: how an answer appears while it streams and once it is complete.

Private chats stream as drafts (`DraftAnswerView`); groups, where drafts are not available,
stream by editing a placeholder (`PlaceholderAnswerView`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.chat.ports import AnswerView, AnswerViews, Part, Translate
from bot.telegram.views.base import ViewContext
from bot.telegram.views.draft import DraftAnswerView
from bot.telegram.views.placeholder import PlaceholderAnswerView

Hidden = Callable[[int, bool], bool]
"""Whether answers in a chat (id, private) stream without their text: the content filter
checks them first, so only the progress shows ("✍️ Writing… (N words)")."""


class AnswerViewFactory:
    def __init__(self, context: ViewContext, hidden: Hidden | None = None) -> None:
        self._context = context
        self._hidden = hidden

    def __call__(
        self,
        chat_id: int,
        *,
        private: bool,
        reply_to: int | None,
        generation_id: int,
        t: Translate,
        stale: Sequence[int] = (),
    ) -> AnswerView:
        """`stale`: messages of an earlier, interrupted attempt at this answer (deleted when
        the answer is delivered)."""
        hidden = self._hidden is not None and self._hidden(chat_id, private)
        kind = DraftAnswerView if private else PlaceholderAnswerView
        return kind(self._context, chat_id, reply_to, generation_id, t, stale, hidden=hidden)

    def for_chat(
        self,
        chat_id: int,
        *,
        private: bool,
        reply_to: int | None,
        t: Translate,
        stale: Sequence[int] = (),
    ) -> AnswerViews:
        """Views for the answers to one message: ChatService supplies the generation id."""

        def make(generation_id: int) -> AnswerView:
            return self(
                chat_id,
                private=private,
                reply_to=reply_to,
                generation_id=generation_id,
                t=t,
                stale=stale,
            )

        return make

    async def send_part(self, chat_id: int, part: Part) -> list[int]:
        """One stored part of an answer that has no view (delivered after a restart)."""
        return await self._context.parts(chat_id, part)

    async def find_part(self, chat_id: int, part: Part, after: int) -> list[int] | None:
        """Where a part sent just before a crash is, if Telegram took it (after a restart)."""
        return await self._context.parts.find_sent(chat_id, part, after)


__all__ = ["AnswerViewFactory", "ViewContext"]
