"""Files from Telegram: size checks before download, and the download itself."""

from __future__ import annotations

import io

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Telegram's own limit for photos


class FileTooLargeError(Exception):
    """Larger than the bot may download (Telegram: 20 MB) or than the operator allows."""


async def download(bot: Bot, file_id: str, *, size: int | None, limit: int) -> bytes:
    """The file's bytes; raises FileTooLargeError without downloading when it is too large."""
    if size is not None and size > limit:
        raise FileTooLargeError(size)
    buffer = io.BytesIO()
    try:
        await bot.download(file_id, destination=buffer)
    except TelegramBadRequest as exc:
        if "too big" in exc.message.lower():  # getFile: "file is too big"
            raise FileTooLargeError(size) from exc
        raise
    data = buffer.getvalue()
    if len(data) > limit:
        raise FileTooLargeError(len(data))
    return data
