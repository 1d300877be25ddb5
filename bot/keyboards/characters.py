"""The /setcharacter list: a page of characters, the current one marked, and "no character"."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.characters.files import Character
from bot.i18n import Translator

PAGE_SIZE = 6
CURRENT_MARK = "✅ "
NO_CHARACTER = "-"


class CharacterChoice(CallbackData, prefix="chr"):
    id: str  # NO_CHARACTER clears the choice


class CharacterPage(CallbackData, prefix="chrp"):
    page: int


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def characters_text(
    characters: Sequence[Character], page: int, current: Character | None, t: Translator
) -> str:
    shown = characters[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    name = current.text(current.name, t.locale) if current else t("character-none-name")
    lines = [t("character-choose", current=name)]
    for character in shown:
        title = character.text(character.name, t.locale)
        lines.append(f"• {title}: {character.text(character.description, t.locale)}")
    return "\n".join(lines)


def characters_keyboard(
    characters: Sequence[Character], page: int, current_id: str | None, t: Translator
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    shown = characters[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    for character in shown:
        mark = CURRENT_MARK if character.id == current_id else ""
        label = f"{mark}{character.text(character.name, t.locale)}"
        builder.button(text=label, callback_data=CharacterChoice(id=character.id))
    pages = page_count(len(characters))
    navigation = 0
    if page > 0:
        builder.button(text="⬅️", callback_data=CharacterPage(page=page - 1))
        navigation += 1
    if page + 1 < pages:
        builder.button(text="➡️", callback_data=CharacterPage(page=page + 1))
        navigation += 1
    none_mark = CURRENT_MARK if current_id is None else ""
    builder.button(
        text=f"{none_mark}{t('character-none-button')}",
        callback_data=CharacterChoice(id=NO_CHARACTER),
    )
    rows = [1] * len(shown) + ([navigation] if navigation else []) + [1]
    builder.adjust(*rows)
    return builder.as_markup()
