"""What the streaming views share: settings, the pacer's drop policy, keyboards, translator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.chat.ports import Button, Translate
from bot.telegram.sender import MessageSender


class DropPolicy(Protocol):
    """The pacer's marker for intermediate calls it may drop under pressure."""

    def droppable(self, max_wait: float = 0.0) -> AbstractContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """From `[telegram]` in the config, where the defaults and their reasons live."""

    draft_interval: float
    edit_interval: float
    rich_messages: bool


class StopGeneration(CallbackData, prefix="stop"):
    generation: int


FeedbackMarkup = Callable[[int, Translate], InlineKeyboardMarkup]


@dataclass(frozen=True, slots=True)
class ViewContext:
    bot: Bot
    sender: MessageSender
    pacing: DropPolicy
    settings: StreamSettings
    feedback_markup: FeedbackMarkup | None = None


def stop_markup(generation_id: int, t: Translate) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("button-stop"), callback_data=StopGeneration(generation=generation_id))
    return builder.as_markup()


def feedback_for(
    ctx: ViewContext, answer_id: int | None, t: Translate
) -> InlineKeyboardMarkup | None:
    if ctx.feedback_markup is None or answer_id is None:
        return None
    return ctx.feedback_markup(answer_id, t)


def buttons_markup(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """A notice's buttons, one per row (None without buttons)."""
    if not buttons:
        return None
    builder = InlineKeyboardBuilder()
    for button in buttons:
        builder.button(text=button.text, callback_data=button.data)
    builder.adjust(1)
    return builder.as_markup()
