"""The answer view used until live streaming lands: typing until done, then the full answer.

Streaming views (drafts in private chats, paced edits in groups) implement the same
`AnswerView` protocol and slot in through `AnswerViewFactory`.
"""

from __future__ import annotations

from aiogram import Bot

from bot.chat.ports import AnswerView
from bot.telegram.formatting import render_markdown, render_plain
from bot.telegram.sender import MessageSender
from bot.telegram.typing_indicator import TypingIndicator


class FinalAnswerView:
    def __init__(self, bot: Bot, sender: MessageSender, chat_id: int, reply_to: int | None) -> None:
        self._sender = sender
        self._chat_id = chat_id
        self._reply_to = reply_to
        self._typing = TypingIndicator(bot, chat_id)

    async def start(self) -> None:
        await self._typing.__aenter__()

    async def update(self, text: str) -> None:
        return None

    async def finish(self, markdown: str) -> list[int]:
        await self._typing.stop()
        chunks = render_markdown(markdown) or render_plain(markdown)
        return await self._sender.send_chunks(self._chat_id, chunks, reply_to=self._reply_to)

    async def notice(self, text: str) -> list[int]:
        await self._typing.stop()
        return await self._sender.send_chunks(
            self._chat_id, render_plain(text), reply_to=self._reply_to
        )

    async def close(self) -> None:
        await self._typing.stop()


class AnswerViewFactory:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._sender = MessageSender(bot)

    def __call__(self, chat_id: int, reply_to: int | None) -> AnswerView:
        return FinalAnswerView(self._bot, self._sender, chat_id, reply_to)
