"""Users and chats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bot.storage.dto import Chat, User
from bot.storage.models import ChatRow, UserRow, utcnow


class UserRepository:
    def __init__(self, session: Session, changed: set[tuple[str, int]]) -> None:
        self._session = session
        self._changed = changed  # reported to the record cache once committed

    def upsert(
        self, user_id: int, *, username: str | None, first_name: str, language_code: str | None
    ) -> User:
        row = self._session.get(UserRow, user_id)
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
        self._session.flush()
        self._changed.add(("user", user_id))
        return _user(row)

    def get(self, user_id: int) -> User | None:
        row = self._session.connection().execute(_USER, {"key": user_id}).first()
        return None if row is None else _user(row)

    def set_locale(self, user_id: int, locale: str | None) -> None:
        self._session.execute(update(UserRow).where(UserRow.id == user_id).values(locale=locale))
        self._changed.add(("user", user_id))

    def set_unsubscribed(self, user_id: int, unsubscribed: bool) -> bool:
        """Opt out of (or back into) broadcasts; False for an unknown user."""
        result = self._session.execute(
            update(UserRow).where(UserRow.id == user_id).values(unsubscribed=unsubscribed)
        )
        self._changed.add(("user", user_id))
        return bool(getattr(result, "rowcount", 0))

    def is_unsubscribed(self, user_id: int) -> bool:
        value = self._session.scalar(select(UserRow.unsubscribed).where(UserRow.id == user_id))
        return bool(value)

    def set_blocked(self, user_id: int, at: datetime | None) -> None:
        """The user blocked the bot (`at`), or unblocked it (None)."""
        self._session.execute(update(UserRow).where(UserRow.id == user_id).values(blocked_at=at))
        self._changed.add(("user", user_id))


class ChatRepository:
    def __init__(self, session: Session, changed: set[tuple[str, int]]) -> None:
        self._session = session
        self._changed = changed  # reported to the record cache once committed

    def upsert(self, chat_id: int, *, type_: str, title: str | None) -> Chat:
        row = self._session.get(ChatRow, chat_id)
        if row is None:
            row = ChatRow(id=chat_id, type=type_, title=title)
            self._session.add(row)
        elif (row.type, row.title) != (type_, title):
            row.type, row.title = type_, title
        self._session.flush()
        self._changed.add(("chat", chat_id))
        return _chat(row)

    def get(self, chat_id: int) -> Chat | None:
        row = self._session.connection().execute(_CHAT, {"key": chat_id}).first()
        return None if row is None else _chat(row)

    def set_model(self, chat_id: int, model: str | None) -> None:
        self._update(chat_id, model=model)

    def set_conversation(self, chat_id: int, conversation_id: int | None) -> None:
        self._update(chat_id, current_conversation_id=conversation_id)

    def set_system_prompt(self, chat_id: int, prompt: str | None) -> None:
        self._update(chat_id, system_prompt=prompt)

    def set_temperature(self, chat_id: int, temperature: float | None) -> None:
        self._update(chat_id, temperature=temperature)

    def set_top_p(self, chat_id: int, top_p: float | None) -> None:
        self._update(chat_id, top_p=top_p)

    def set_max_output_tokens(self, chat_id: int, tokens: int | None) -> None:
        self._update(chat_id, max_output_tokens=tokens)

    def set_show_footer(self, chat_id: int, show: bool) -> None:
        self._update(chat_id, show_footer=show)

    def set_character(self, chat_id: int, character_id: str | None) -> None:
        self._update(chat_id, character_id=character_id)

    def set_routing(self, chat_id: int, enabled: bool) -> None:
        self._update(chat_id, routing_enabled=enabled)

    def set_tools(self, chat_id: int, enabled: bool) -> None:
        self._update(chat_id, tools_enabled=enabled)

    def set_short_name(self, chat_id: int, short_name: str | None) -> None:
        self._update(chat_id, short_name=short_name)

    def _update(self, chat_id: int, **values: Any) -> None:
        names = tuple(sorted(values))
        statement = _CHAT_SETS.get(names)
        if statement is None:
            statement = _CHAT_SETS[names] = (
                update(ChatRow)
                .where(ChatRow.id == bindparam("key"))
                .values({name: bindparam(name) for name in (*names, "updated_at")})
            )
        params = {"key": chat_id, "updated_at": utcnow(), **values}
        self._session.connection().execute(statement, params)
        self._changed.add(("chat", chat_id))


_CHAT = select(*ChatRow.__table__.columns).where(ChatRow.id == bindparam("key"))
_USER = select(*UserRow.__table__.columns).where(UserRow.id == bindparam("key"))
_CHAT_SETS: dict[tuple[str, ...], Any] = {}  # built once per set of columns (see _update)


def _user(row: Any) -> User:
    """From a UserRow or a row of its columns."""
    return User(
        id=row.id,
        username=row.username,
        first_name=row.first_name,
        language_code=row.language_code,
        locale=row.locale,
    )


def _chat(row: Any) -> Chat:
    """From a ChatRow or a row of its columns."""
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
