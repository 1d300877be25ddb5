"""Users and chats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.dto import Chat, User
from bot.storage.models import ChatRow, UserRow


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(
        self, user_id: int, *, username: str | None, first_name: str, language_code: str | None
    ) -> User:
        row = await self._session.get(UserRow, user_id)
        if row is None:
            row = UserRow(
                id=user_id, username=username, first_name=first_name, language_code=language_code
            )
            self._session.add(row)
        elif (row.username, row.first_name, row.language_code) != (
            username,
            first_name,
            language_code,
        ):
            row.username, row.first_name, row.language_code = username, first_name, language_code
        await self._session.flush()
        return _user(row)

    async def get(self, user_id: int) -> User | None:
        row = await self._session.get(UserRow, user_id)
        return None if row is None else _user(row)

    async def set_locale(self, user_id: int, locale: str | None) -> None:
        await self._session.execute(
            update(UserRow).where(UserRow.id == user_id).values(locale=locale)
        )

    async def set_unsubscribed(self, user_id: int, unsubscribed: bool) -> bool:
        """Opt out of (or back into) broadcasts; False for an unknown user."""
        result = await self._session.execute(
            update(UserRow).where(UserRow.id == user_id).values(unsubscribed=unsubscribed)
        )
        return bool(getattr(result, "rowcount", 0))

    async def is_unsubscribed(self, user_id: int) -> bool:
        value = await self._session.scalar(
            select(UserRow.unsubscribed).where(UserRow.id == user_id)
        )
        return bool(value)

    async def set_blocked(self, user_id: int, at: datetime | None) -> None:
        """The user blocked the bot (`at`), or unblocked it (None)."""
        await self._session.execute(
            update(UserRow).where(UserRow.id == user_id).values(blocked_at=at)
        )


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(self, chat_id: int, *, type_: str, title: str | None) -> Chat:
        row = await self._session.get(ChatRow, chat_id)
        if row is None:
            row = ChatRow(id=chat_id, type=type_, title=title)
            self._session.add(row)
        elif (row.type, row.title) != (type_, title):
            row.type, row.title = type_, title
        await self._session.flush()
        return _chat(row)

    async def get(self, chat_id: int) -> Chat | None:
        row = await self._session.get(ChatRow, chat_id)
        return None if row is None else _chat(row)

    async def set_model(self, chat_id: int, model: str | None) -> None:
        await self._update(chat_id, model=model)

    async def set_conversation(self, chat_id: int, conversation_id: int | None) -> None:
        await self._update(chat_id, current_conversation_id=conversation_id)

    async def set_system_prompt(self, chat_id: int, prompt: str | None) -> None:
        await self._update(chat_id, system_prompt=prompt)

    async def set_temperature(self, chat_id: int, temperature: float | None) -> None:
        await self._update(chat_id, temperature=temperature)

    async def set_top_p(self, chat_id: int, top_p: float | None) -> None:
        await self._update(chat_id, top_p=top_p)

    async def set_max_output_tokens(self, chat_id: int, tokens: int | None) -> None:
        await self._update(chat_id, max_output_tokens=tokens)

    async def set_show_footer(self, chat_id: int, show: bool) -> None:
        await self._update(chat_id, show_footer=show)

    async def set_character(self, chat_id: int, character_id: str | None) -> None:
        await self._update(chat_id, character_id=character_id)

    async def set_routing(self, chat_id: int, enabled: bool) -> None:
        await self._update(chat_id, routing_enabled=enabled)

    async def set_tools(self, chat_id: int, enabled: bool) -> None:
        await self._update(chat_id, tools_enabled=enabled)

    async def set_short_name(self, chat_id: int, short_name: str | None) -> None:
        await self._update(chat_id, short_name=short_name)

    async def _update(self, chat_id: int, **values: Any) -> None:
        await self._session.execute(update(ChatRow).where(ChatRow.id == chat_id).values(**values))


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        first_name=row.first_name,
        language_code=row.language_code,
        locale=row.locale,
    )


def _chat(row: ChatRow) -> Chat:
    return Chat(
        id=row.id,
        type=row.type,
        title=row.title,
        model=row.model,
        system_prompt=row.system_prompt,
        temperature=row.temperature,
        top_p=row.top_p,
        max_output_tokens=row.max_output_tokens,
        current_conversation_id=row.current_conversation_id,
        show_footer=bool(row.show_footer),
        routing_enabled=bool(row.routing_enabled),
        tools_enabled=bool(row.tools_enabled),
        character_id=row.character_id,
        short_name=row.short_name,
    )
