"""What the handlers of user messages share: is it for the bot, and the chat as it stands."""

from __future__ import annotations

import unicodedata

from aiogram import Bot
from aiogram.types import Message

from bot.characters.service import CharacterService
from bot.i18n import Translator
from bot.storage.dto import Chat
from bot.telegram.addressing import addressed_text


async def without_retired_character(
    message: Message, chat: Chat, characters: CharacterService, t: Translator
) -> Chat:
    """A chat whose character's file was removed goes on without one, and is told so."""
    current = await characters.retire_if_gone(chat)
    if current is not chat:
        await message.answer(t("character-retired", id=chat.character_id or ""))
    return current


async def text_for_bot(message: Message, bot: Bot, chat: Chat) -> str | None:
    """The text (or caption) meant for the bot; None for group chatter."""
    text = message.text or message.caption or ""
    if chat.is_private:
        return text
    return addressed_text(message, await bot.me(), chat.short_name)


def is_blank(text: str) -> bool:
    """Nothing to read: only spaces, line breaks, control or invisible format characters."""
    return all(unicodedata.category(char)[0] in "CZ" for char in text)
