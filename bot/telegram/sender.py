"""Deliver formatted text: send or edit chunks, fall back to plain text on entity errors,
send rich messages when enabled (falling back to text + entities when refused).

Flood control (429, per-chat and global rates) is the pacer's job and retries of 5xx,
time-outs and network errors are `DeliveryRetry`'s: every call made here goes through both as
session middlewares. Final messages are never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import telegramify_markdown
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardMarkup,
    InputRichMessage,
    Message,
    ReplyParameters,
)

from bot.telegram.formatting import Chunk, plain_fallback

logger = logging.getLogger(__name__)

RICH_BYTE_LIMIT = 32768
RICH_BLOCK_LIMIT = 500


def is_parse_error(exc: TelegramBadRequest) -> bool:
    message = exc.message.lower()
    return "can't parse entities" in message or "can't find end" in message


def is_not_modified(exc: TelegramBadRequest) -> bool:
    return "message is not modified" in exc.message


class MessageSender:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_chunks(
        self,
        chat_id: int,
        chunks: Sequence[Chunk],
        *,
        reply_to: int | None = None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> list[int]:
        """Send chunks in order; only the first replies, only the last carries `markup`."""
        ids: list[int] = []
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            target = reply_to if index == 0 else None
            ids.extend(await self._send_formatted(chat_id, chunk, target, markup if last else None))
        return ids

    async def send_photo(
        self, chat_id: int, data: bytes, caption: str, *, reply_to: int | None = None
    ) -> int:
        """A picture (generated images); the caption as plain text, cut to Telegram's 1024."""
        message = await self._bot.send_photo(
            chat_id=chat_id,
            photo=BufferedInputFile(data, filename="image.png"),
            caption=caption[:1024] or None,
            reply_parameters=_reply(reply_to),
        )
        return message.message_id

    async def edit_chunk(
        self,
        chat_id: int,
        message_id: int,
        chunk: Chunk,
        *,
        markup: InlineKeyboardMarkup | None = None,
    ) -> list[int]:
        """Edit a message to `chunk`; returns ids of extra messages a plain fallback needed."""
        try:
            await self._edit(chat_id, message_id, chunk, markup)
            return []
        except TelegramBadRequest as exc:
            if is_not_modified(exc):
                return []
            if not (chunk.entities and is_parse_error(exc)):
                raise
            logger.warning("chat %s: entities rejected (%s); editing to plain text", chat_id, exc)
        first, *rest = plain_fallback(chunk)
        extra_markup = markup if not rest else None
        try:
            await self._edit(chat_id, message_id, first, extra_markup)
        except TelegramBadRequest as exc:
            if not is_not_modified(exc):
                raise
        return await self.send_chunks(chat_id, rest, markup=markup) if rest else []

    @staticmethod
    def rich_pieces(markdown: str) -> list[str]:
        """The answer as rich-message pieces within Telegram's size limits."""
        rich = telegramify_markdown.richify(markdown, mode="markdown")
        parts = telegramify_markdown.split_rich(
            rich, byte_limit=RICH_BYTE_LIMIT, block_limit=RICH_BLOCK_LIMIT
        )
        return [part.markdown for part in parts if part.markdown]

    async def send_rich_piece(
        self,
        chat_id: int,
        markdown: str,
        *,
        reply_to: int | None = None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> int | None:
        """Send Markdown for Telegram to render; None if Telegram refused it (fall back)."""
        try:
            message = await self._bot.send_rich_message(
                chat_id=chat_id,
                rich_message=InputRichMessage(markdown=markdown),
                reply_parameters=_reply(reply_to),
                reply_markup=markup,
            )
        except TelegramBadRequest as exc:
            logger.warning("chat %s: rich message refused (%s); using text", chat_id, exc)
            return None
        return message.message_id

    async def _send_formatted(
        self, chat_id: int, chunk: Chunk, reply_to: int | None, markup: InlineKeyboardMarkup | None
    ) -> list[int]:
        try:
            return [(await self._send(chat_id, chunk, reply_to, markup)).message_id]
        except TelegramBadRequest as exc:
            if not (chunk.entities and is_parse_error(exc)):
                raise
            logger.warning("chat %s: entities rejected (%s); sending plain text", chat_id, exc)
        pieces = plain_fallback(chunk)
        ids = []
        for index, plain in enumerate(pieces):
            last = index == len(pieces) - 1
            target = reply_to if index == 0 else None
            message = await self._send(chat_id, plain, target, markup if last else None)
            ids.append(message.message_id)
        return ids

    async def _send(
        self, chat_id: int, chunk: Chunk, reply_to: int | None, markup: InlineKeyboardMarkup | None
    ) -> Message:
        return await self._bot.send_message(
            chat_id=chat_id,
            text=chunk.text,
            entities=chunk.entities or None,
            reply_parameters=_reply(reply_to),
            reply_markup=markup,
        )

    async def edit_text(
        self, chat_id: int, message_id: int, chunk: Chunk, markup: InlineKeyboardMarkup | None
    ) -> None:
        """One edit to exactly `chunk` and `markup`; Telegram's refusals raised as they are."""
        await self._edit(chat_id, message_id, chunk, markup)

    async def _edit(
        self, chat_id: int, message_id: int, chunk: Chunk, markup: InlineKeyboardMarkup | None
    ) -> None:
        await self._bot.edit_message_text(
            chat_id=chat_id,
            message_id=message_id,
            text=chunk.text,
            entities=chunk.entities or None,
            reply_markup=markup,
        )


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)
