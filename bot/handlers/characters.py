"""/setcharacter (paginated list; choosing starts a new conversation with the greeting) and
/character."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.characters.service import CharacterService, UnknownCharacterError
from bot.handlers.groups import ChatAdmin
from bot.handlers.menus import edit_menu
from bot.i18n import Translator
from bot.keyboards.characters import (
    NO_CHARACTER,
    CharacterChoice,
    CharacterPage,
    characters_keyboard,
    characters_text,
    page_count,
)
from bot.storage.dto import Chat

router = Router(name=__name__)


@router.message(Command("setcharacter"), ChatAdmin())
async def set_character(
    message: Message, t: Translator, chat_record: Chat, characters: CharacterService
) -> None:
    listed = characters.catalog.all(t.locale)
    if not listed:
        await message.answer(t("character-none-available"))
        return
    text, keyboard = _page(characters, chat_record, 0, t)
    await message.answer(text, reply_markup=keyboard)


@router.message(Command("character"))
async def show_character(
    message: Message, t: Translator, chat_record: Chat, characters: CharacterService
) -> None:
    current = characters.current(chat_record)
    if current is None:
        await message.answer(t("character-current-none"))
        return
    await message.answer(
        t(
            "character-current",
            name=current.text(current.name, t.locale),
            description=current.text(current.description, t.locale),
        )
    )


@router.callback_query(CharacterPage.filter(), ChatAdmin())
async def turn_page(
    query: CallbackQuery,
    callback_data: CharacterPage,
    t: Translator,
    chat_record: Chat,
    characters: CharacterService,
) -> None:
    text, keyboard = _page(characters, chat_record, callback_data.page, t)
    await edit_menu(query, text, keyboard)
    await query.answer()


@router.callback_query(CharacterChoice.filter(), ChatAdmin())
async def choose(
    query: CallbackQuery,
    callback_data: CharacterChoice,
    bot: Bot,
    t: Translator,
    chat_record: Chat,
    characters: CharacterService,
) -> None:
    if callback_data.id == NO_CHARACTER:
        await characters.clear(chat_record.id)
        await query.answer(t("character-cleared"))
        await edit_menu(query, t("character-cleared"), None)
        return
    try:
        character = await characters.choose(chat_record.id, callback_data.id, t.locale)
    except UnknownCharacterError:
        await query.answer(t("character-unknown"), show_alert=True)
        return
    name = character.text(character.name, t.locale)
    await query.answer(t("character-set", name=name))
    await edit_menu(query, t("character-set", name=name), None)
    await bot.send_message(chat_record.id, character.text(character.greeting, t.locale))


def _page(
    characters: CharacterService, chat: Chat, page: int, t: Translator
) -> tuple[str, InlineKeyboardMarkup]:
    listed = characters.catalog.all(t.locale)
    page = min(max(page, 0), page_count(len(listed)) - 1)
    current = characters.current(chat)
    return (
        characters_text(listed, page, current, t),
        characters_keyboard(listed, page, current.id if current else None, t),
    )
