"""Inline-keyboard menus edited in place."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


async def edit_menu(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    """Show `text` and `keyboard` in the message whose button was pressed; pressing the
    current choice again (Telegram: "message is not modified") is not an error."""
    if not isinstance(query.message, Message):
        return  # too old for Telegram to tell us the message
    try:
        await query.message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            raise
