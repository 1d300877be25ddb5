"""Load or create the user and chat records, resolve the locale, inject the translator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY, EventContext
from aiogram.types import TelegramObject, Update

from bot.i18n import I18n
from bot.storage.dto import Chat
from bot.storage.uow import UnitOfWorkFactory
from bot.telegram.addressing import addressed_text

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ContextMiddleware(BaseMiddleware):
    def __init__(self, uow: UnitOfWorkFactory, i18n: I18n) -> None:
        self._uow = uow
        self._i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        context: EventContext = data[EVENT_CONTEXT_KEY]
        tg_user, tg_chat = context.user, context.chat
        user_record = chat_record = None
        if tg_user is not None or tg_chat is not None:
            async with self._uow() as uow:
                if tg_chat is not None:
                    chat_record = await uow.chats.upsert(
                        tg_chat.id, type_=tg_chat.type, title=tg_chat.title
                    )
                if tg_user is not None and await self._concerns_bot(event, chat_record, data):
                    user_record = await uow.users.upsert(
                        tg_user.id,
                        username=tg_user.username,
                        first_name=tg_user.first_name,
                        language_code=tg_user.language_code,
                    )
                await uow.commit()
        locale = self._i18n.resolve(
            user_record.locale if user_record else None,
            tg_user.language_code if tg_user else None,
        )
        data["user_record"] = user_record
        data["chat_record"] = chat_record
        data["locale"] = locale
        data["t"] = self._i18n.translator(locale)
        return await handler(event, data)

    @staticmethod
    async def _concerns_bot(event: TelegramObject, chat: Chat | None, data: dict[str, Any]) -> bool:
        """Group chatter not meant for the bot leaves no trace of its author."""
        if chat is None or chat.is_private or not isinstance(event, Update):
            return True
        message = event.message
        if message is None or (message.text or "").startswith("/"):
            return True
        bot: Bot = data["bot"]
        return addressed_text(message, await bot.me(), chat.short_name) is not None
