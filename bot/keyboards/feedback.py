"""👍/👎 under an answer. The callback carries the stored answer's database id."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.chat.ports import Translate

LIKE, DISLIKE = 1, -1


class FeedbackChoice(CallbackData, prefix="fb"):
    message_id: int
    value: int  # +1 or -1


def feedback_keyboard(message_id: int, t: Translate) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("feedback-like-button"),
        callback_data=FeedbackChoice(message_id=message_id, value=LIKE),
    )
    builder.button(
        text=t("feedback-dislike-button"),
        callback_data=FeedbackChoice(message_id=message_id, value=DISLIKE),
    )
    builder.adjust(2)
    return builder.as_markup()
