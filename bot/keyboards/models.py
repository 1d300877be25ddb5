"""The /setmodel keyboard: one button per configured model, the current one marked."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import AUTO_MODEL
from bot.llm.spec import ModelSpec

CURRENT_MARK = "✅ "


class ModelChoice(CallbackData, prefix="model"):
    id: str


def models_keyboard(
    models: Sequence[ModelSpec], current: str, *, auto_label: str | None = None
) -> InlineKeyboardMarkup:
    """`auto_label`: offer `auto` (the router picks the model per message) first."""
    builder = InlineKeyboardBuilder()
    if auto_label is not None:
        label = f"{CURRENT_MARK}{auto_label}" if current == AUTO_MODEL else auto_label
        builder.button(text=label, callback_data=ModelChoice(id=AUTO_MODEL))
    for spec in models:
        label = f"{CURRENT_MARK}{spec.display_name}" if spec.id == current else spec.display_name
        builder.button(text=label, callback_data=ModelChoice(id=spec.id))
    builder.adjust(1)
    return builder.as_markup()
