"""Load or create the user and chat records, resolve the locale, inject the translator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY, EventContext
from aiogram.types import Chat as TgChat
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser

from bot.i18n import I18n
from bot.logs import bind as bind_log
from bot.storage.cache import RecordCache
from bot.storage.database import Database
from bot.storage.dto import Chat, User
from bot.storage.uow import UnitOfWork
from bot.telegram.addressing import addressed_text

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ContextMiddleware(BaseMiddleware):
    def __init__(self, db: Database, i18n: I18n, cache: RecordCache) -> None:
        self._db = db
        self._cache = cache
        self._i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        context: EventContext = data[EVENT_CONTEXT_KEY]
        tg_user, tg_chat = context.user, context.chat
        bind_log(
            update_id=getattr(event, "update_id", None), chat_id=tg_chat.id if tg_chat else None
        )
        user_record, chat_record = await self._records(event, tg_user, tg_chat, data)
        locale = self._i18n.resolve(
            user_record.locale if user_record else None,
            tg_user.language_code if tg_user else None,
        )
        data["user_record"] = user_record
        data["chat_record"] = chat_record
        data["locale"] = locale
        data["t"] = self._i18n.translator(locale)
        return await handler(event, data)

    async def _records(
        self,
        event: TelegramObject,
        tg_user: TgUser | None,
        tg_chat: TgChat | None,
        data: dict[str, Any],
    ) -> tuple[User | None, Chat | None]:
        """The stored user and chat (kept in memory); written only when new or changed."""
        chat, user = await self._stored(tg_chat, tg_user)
        chat_stale = tg_chat is not None and (
            chat is None or (chat.type, chat.title) != (tg_chat.type, tg_chat.title)
        )
        wants_user = tg_user is not None and await self._concerns_bot(event, chat, data)
        user_stale = (
            tg_user is not None and wants_user and (user is None or not _same_user(user, tg_user))
        )
        if not wants_user:
            user = None
        if chat_stale or user_stale:

            def store(uow: UnitOfWork) -> tuple[Chat | None, User | None]:
                stored_chat, stored_user = chat, user
                if tg_chat is not None and chat_stale:
                    stored_chat = uow.chats.upsert(
                        tg_chat.id, type_=tg_chat.type, title=tg_chat.title
                    )
                if tg_user is not None and user_stale:
                    stored_user = uow.users.upsert(
                        tg_user.id,
                        username=tg_user.username,
                        first_name=tg_user.first_name,
                        language_code=tg_user.language_code,
                    )
                return stored_chat, stored_user

            chat, user = await self._db.write(store)
        return user, chat

    async def _stored(
        self, tg_chat: TgChat | None, tg_user: TgUser | None
    ) -> tuple[Chat | None, User | None]:
        chat = self._cache.chat(tg_chat.id) if tg_chat else None
        user = self._cache.user(tg_user.id) if tg_user else None
        if (tg_chat is None or chat is not None) and (tg_user is None or user is not None):
            return chat, user
        stamp = self._cache.stamp()

        def read(uow: UnitOfWork) -> tuple[Chat | None, User | None]:
            found_chat = chat or (uow.chats.get(tg_chat.id) if tg_chat else None)
            found_user = user or (uow.users.get(tg_user.id) if tg_user else None)
            return found_chat, found_user

        chat, user = await self._db.read(read)
        self._cache.fill(stamp, chat, user)
        return chat, user

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


def _same_user(stored: User, tg_user: TgUser) -> bool:
    return (stored.username, stored.first_name, stored.language_code) == (
        tg_user.username,
        tg_user.first_name,
        tg_user.language_code,
    )
