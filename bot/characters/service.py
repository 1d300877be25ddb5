"""A chat's character: choosing, clearing, and what a turn takes from it."""

from __future__ import annotations

from dataclasses import replace

from bot.characters.catalog import CharacterCatalog
from bot.characters.files import Character
from bot.storage.database import Database
from bot.storage.dto import Chat, Role
from bot.storage.uow import UnitOfWork


class UnknownCharacterError(LookupError):
    pass


class CharacterService:
    def __init__(self, db: Database, catalog: CharacterCatalog) -> None:
        self._db = db
        self.catalog = catalog

    def current(self, chat: Chat) -> Character | None:
        return self.catalog.get(chat.character_id)

    async def choose(self, chat_id: int, character_id: str, locale: str) -> Character:
        """The chat talks to `character_id` from now on, in a new conversation that opens
        with the character's greeting (kept in the history the user can export)."""
        character = self.catalog.get(character_id)
        if character is None:
            raise UnknownCharacterError(character_id)
        greeting = character.text(character.greeting, locale)

        def choose(uow: UnitOfWork) -> None:
            uow.chats.set_character(chat_id, character.id)
            conversation = uow.conversations.create(chat_id)
            uow.chats.set_conversation(chat_id, conversation)
            uow.messages.add(conversation, Role.ASSISTANT, [{"type": "text", "text": greeting}])

        await self._db.write(choose)
        return character

    async def clear(self, chat_id: int) -> None:
        def clear(uow: UnitOfWork) -> None:
            uow.chats.set_character(chat_id, None)
            uow.chats.set_conversation(chat_id, None)

        await self._db.write(clear)

    async def retire_if_gone(self, chat: Chat) -> Chat:
        """A chat whose character was removed falls back to none (the caller tells the user
        when the returned chat differs)."""
        if chat.character_id is None or self.catalog.get(chat.character_id) is not None:
            return chat
        await self._db.write(lambda uow: uow.chats.set_character(chat.id, None))
        return replace(chat, character_id=None)


def with_character(chat: Chat, character: Character | None) -> Chat:
    """The chat as a turn sees it: the character's model and sampling fill what the chat has
    not set itself, and its routing switch applies."""
    if character is None:
        return chat
    return replace(
        chat,
        model=chat.model or character.model,
        temperature=chat.temperature if chat.temperature is not None else character.temperature,
        top_p=chat.top_p if chat.top_p is not None else character.top_p,
        max_output_tokens=chat.max_output_tokens or character.max_tokens,
        routing_enabled=chat.routing_enabled and character.routing,
    )
