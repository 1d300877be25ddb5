"""Send chunks reliably: plain-text fallback on entity errors, waiting out 429s.

A final answer is never dropped: a 429 is waited out (`retry_after`) and the call repeated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter
from aiogram.types import Message, ReplyParameters

from bot.telegram.formatting import Chunk, plain_fallback

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
NETWORK_BACKOFF_SECONDS = 1.0


def is_parse_error(exc: TelegramBadRequest) -> bool:
    return "can't parse entities" in exc.message or "can't find end" in exc.message.lower()


class MessageSender:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_chunks(
        self, chat_id: int, chunks: Sequence[Chunk], *, reply_to: int | None = None
    ) -> list[int]:
        ids: list[int] = []
        for index, chunk in enumerate(chunks):
            # Only the first part replies to the user's message; the rest follow it.
            target = reply_to if index == 0 else None
            ids.extend(await self._send_formatted(chat_id, chunk, target))
        return ids

    async def _send_formatted(self, chat_id: int, chunk: Chunk, reply_to: int | None) -> list[int]:
        if not chunk.entities:
            return [(await self._send(chat_id, chunk, reply_to)).message_id]
        try:
            return [(await self._send(chat_id, chunk, reply_to)).message_id]
        except TelegramBadRequest as exc:
            if not is_parse_error(exc):
                raise
            logger.warning("chat %s: entities rejected (%s); sending plain text", chat_id, exc)
        ids = []
        for index, plain in enumerate(plain_fallback(chunk)):
            ids.append(
                (await self._send(chat_id, plain, reply_to if index == 0 else None)).message_id
            )
        return ids

    async def _send(self, chat_id: int, chunk: Chunk, reply_to: int | None) -> Message:
        reply = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to
            else None
        )
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await self._bot.send_message(
                    chat_id=chat_id,
                    text=chunk.text,
                    entities=chunk.entities or None,
                    reply_parameters=reply,
                )
            except TelegramRetryAfter as exc:
                if attempt == MAX_ATTEMPTS:
                    raise
                logger.warning("chat %s: 429, waiting %s s", chat_id, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except TelegramNetworkError:
                if attempt == MAX_ATTEMPTS:
                    raise
                await asyncio.sleep(NETWORK_BACKOFF_SECONDS * attempt)
        raise AssertionError("unreachable")  # pragma: no cover
