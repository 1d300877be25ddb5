"""The bot's HTTP session to Telegram: aiogram's, keeping its response models alive.

aiogram validates each answer with `Response[T]`, a pydantic model built per result type. Pydantic
keeps those classes in a weak cache, so the garbage collector frees them between calls and the
next call builds them again (milliseconds each, several percent of the bot's CPU under load).
Holding a reference per result type makes that a dictionary lookup.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods.base import Response, TelegramMethod, TelegramType


class BotSession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._responses: dict[Any, type[Any]] = {}

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._responses:
            self._responses[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)
