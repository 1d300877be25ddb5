"""What no handler expected: logged once with the update's id, and the user told briefly.

This router is included first: aiogram sends every exception raised while an update is
handled (middlewares included) to its error observers.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import ErrorEvent

from bot.i18n import Translator

logger = logging.getLogger(__name__)
router = Router(name=__name__)


# Answering a callback or pre-checkout query too late (Telegram allows seconds), or one that
# Telegram does not know, fails with these; the query is moot then, not the bot broken.
EXPIRED_QUERY_METHODS = frozenset({"answerCallbackQuery", "answerPreCheckoutQuery"})


@router.errors()
async def on_error(event: ErrorEvent, **data: Any) -> bool:
    update = event.update
    exc = event.exception
    if isinstance(exc, TelegramBadRequest) and exc.method.__api_method__ in EXPIRED_QUERY_METHODS:
        logger.warning(
            "update %s: the query expired before it was answered: %s", update.update_id, exc
        )
        return True
    logger.error(
        "update %s: handling failed: %s: %s",
        update.update_id,
        type(event.exception).__name__,
        event.exception,
        exc_info=event.exception,
    )
    t: Translator | None = data.get("t")
    if t is None:
        return True
    try:
        if update.message is not None and update.message.chat.type == "private":
            await update.message.answer(t("error-internal"))
        elif update.callback_query is not None:
            await update.callback_query.answer(t("error-internal"))
    except TelegramAPIError as exc:  # Telegram is failing too: the log has it
        logger.warning("update %s: the user could not be told: %s", update.update_id, exc)
    return True
