"""The /tools switch: one button that turns tools on or off for the chat."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import Translator


class ToolsSwitch(CallbackData, prefix="tools"):
    on: bool


def tools_keyboard(enabled: bool, t: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    key = "tools-button-off" if enabled else "tools-button-on"
    builder.button(text=t(key), callback_data=ToolsSwitch(on=not enabled))
    return builder.as_markup()
