"""The broadcast's buttons: Send / Cancel under the preview, Unsubscribe under each copy."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.ports import Translate


class BroadcastDecision(CallbackData, prefix="bc"):
    id: int
    send: bool


class Unsubscribe(CallbackData, prefix="unsub"):
    pass


class Resubscribe(CallbackData, prefix="resub"):
    pass


def confirm_markup(broadcast_id: int, t: Translate) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t("broadcast-send-button"),
                    callback_data=BroadcastDecision(id=broadcast_id, send=True).pack(),
                ),
                InlineKeyboardButton(
                    text=t("broadcast-cancel-button"),
                    callback_data=BroadcastDecision(id=broadcast_id, send=False).pack(),
                ),
            ]
        ]
    )


def resubscribe_markup(t: Translate) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=t("broadcast-resubscribe-button"), callback_data=Resubscribe().pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])
