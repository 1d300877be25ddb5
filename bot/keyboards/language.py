"""The /language keyboard: one button per available locale, the user's current one marked."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.chat.language import LanguageOption

CURRENT_MARK = "✅ "


class LanguageChoice(CallbackData, prefix="lang"):
    code: str


def language_keyboard(options: Sequence[LanguageOption], current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for option in options:
        label = f"{CURRENT_MARK}{option.name}" if option.code == current else option.name
        builder.button(text=label, callback_data=LanguageChoice(code=option.code))
    builder.adjust(2)
    return builder.as_markup()
