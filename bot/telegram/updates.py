"""Updates as they arrive: parsed one by one (one that cannot be parsed is skipped, not
fatal), fingerprinted (to tell a redelivery from another update that reuses its id), and
fetched raw by long polling."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from pydantic import ValidationError

from bot.storage.dto import UpdateMark

logger = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """`getUpdates`, returning the updates as JSON objects: each is parsed on its own, so
    that one update this aiogram version cannot parse does not stop polling."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


RAW_KEY = "update_raw"
"""Middleware data: the update's JSON as it arrived (polling and webhook put it there)."""


def fingerprint(raw: dict[str, Any]) -> str:
    """Equal for redeliveries of one update, different for another update with its id."""
    body = {key: value for key, value in raw.items() if key != "update_id"}
    dumped = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(dumped.encode("utf-8", "replace"), digest_size=10).hexdigest()


def mark(update: Update, raw: dict[str, Any] | None = None) -> UpdateMark:
    """The update's id and fingerprint, from its JSON as it arrived when known."""
    if raw is None:
        raw = update.model_dump(mode="json", exclude_none=True, by_alias=True)
    return UpdateMark(update.update_id, fingerprint(raw))


def parse(raw: Any, bot: Bot) -> Update | None:
    """The update, or None (logged once, with its id) if it is not one aiogram can use.
    Text that is not valid Unicode (lone surrogates) gets U+FFFD in their place."""
    update_id = raw.get("update_id") if isinstance(raw, dict) else None
    try:
        return Update.model_validate(without_surrogates(raw), context={"bot": bot})
    except ValidationError as exc:
        logger.warning(
            "update %s skipped: it cannot be parsed (%d errors, first: %s)",
            update_id,
            exc.error_count(),
            exc.errors(include_url=False)[0]["msg"] if exc.error_count() else "?",
        )
        return None


def without_surrogates(value: Any) -> Any:
    """`value` (parsed JSON) with lone surrogates, which cannot be encoded, replaced."""
    if isinstance(value, str):
        return value if value.isascii() else _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {key: without_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_surrogates(item) for item in value]
    return value
