"""The broadcast's Telegram side: sending one recipient's copy (with an Unsubscribe button in
their language) and showing the operator the progress and the report."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.broadcasts.content import BroadcastContent
from bot.broadcasts.runner import RecipientBlockedError, RecipientFailedError
from bot.i18n import I18n, Translator
from bot.keyboards.broadcasts import Unsubscribe
from bot.storage.dto import Broadcast, Recipient, RecipientState
from bot.telegram.pacing.retry import retry_for

logger = logging.getLogger(__name__)


def broadcast_markup(content: BroadcastContent, t: Translator) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=label, url=url)] for label, url in content.buttons]
    rows.append(
        [
            InlineKeyboardButton(
                text=t("broadcast-unsubscribe-button"), callback_data=Unsubscribe().pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def send_content(bot: Bot, chat_id: int, content: BroadcastContent, t: Translator) -> int:
    markup = broadcast_markup(content, t)
    entities = content.message_entities()
    if content.photo is not None:
        sent = await bot.send_photo(
            chat_id,
            content.photo,
            caption=content.text or None,
            caption_entities=entities or None,
            reply_markup=markup,
        )
    else:
        sent = await bot.send_message(
            chat_id, content.text, entities=entities or None, reply_markup=markup
        )
    return sent.message_id


class TelegramSender:
    """One copy per recipient; 5xx and time-outs are retried for `retry_seconds` only, so a
    recipient who keeps failing cannot hold the others up."""

    def __init__(self, bot: Bot, i18n: I18n, retry_seconds: float) -> None:
        self._bot = bot
        self._i18n = i18n
        self._retry = retry_seconds

    async def send(self, recipient: Recipient, content: BroadcastContent) -> int:
        t = self._i18n.translator(self._i18n.resolve(recipient.locale, recipient.language_code))
        try:
            with retry_for(self._retry):
                return await send_content(self._bot, recipient.user_id, content, t)
        except TelegramForbiddenError as exc:
            raise RecipientBlockedError(exc.message) from exc
        except TelegramBadRequest as exc:
            raise RecipientFailedError(exc.message) from exc
        except TelegramAPIError as exc:  # 5xx, time-outs, 429s past the retry budget
            raise RecipientFailedError(f"{type(exc).__name__}: {exc.message}") from exc


class TelegramProgress:
    """Edits the operator's progress message, then sends the report."""

    def __init__(self, bot: Bot, i18n: I18n) -> None:
        self._bot = bot
        self._t = i18n.translator(i18n.default_locale)

    async def update(self, broadcast: Broadcast, counts: dict[RecipientState, int]) -> None:
        if broadcast.progress_message_id is None:
            return
        text = self._t("broadcast-progress", **_numbers(counts))
        try:
            await self._bot.edit_message_text(
                text, chat_id=broadcast.author_id, message_id=broadcast.progress_message_id
            )
        except TelegramBadRequest as exc:  # not modified, or the message is gone
            logger.debug("broadcast %s: progress not edited: %s", broadcast.id, exc)

    async def finished(
        self, broadcast: Broadcast, counts: dict[RecipientState, int], seconds: float
    ) -> None:
        await self.update(broadcast, counts)
        text = self._t(
            "broadcast-report", id=broadcast.id, seconds=round(seconds), **_numbers(counts)
        )
        try:
            await self._bot.send_message(broadcast.author_id, text)
        except TelegramAPIError as exc:
            logger.warning("broadcast %s: report not sent: %s", broadcast.id, exc)

    async def crashed(self, broadcast: Broadcast) -> None:
        text = self._t("broadcast-crashed", id=broadcast.id)
        await self._bot.send_message(broadcast.author_id, text)


def _numbers(counts: dict[RecipientState, int]) -> dict[str, int]:
    numbers = {state.value: counts.get(state, 0) for state in RecipientState}
    numbers["total"] = sum(counts.values())
    numbers["done"] = numbers["total"] - numbers["pending"]
    return numbers
