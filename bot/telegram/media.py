"""Photos from Telegram: downloaded, and typed by their first bytes (not by what they claim)."""

from __future__ import annotations

import io

from aiogram import Bot
from aiogram.types import PhotoSize

from bot.llm.types import ImagePart

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Telegram's own limit for photos


class PhotoTooLargeError(Exception):
    pass


class UnreadablePhotoError(Exception):
    pass


_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_media_type(data: bytes) -> str | None:
    """The MIME type of a JPEG, PNG, GIF or WebP image; None for anything else."""
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


async def download_photo(bot: Bot, photo: PhotoSize) -> ImagePart:
    """The photo's bytes and type; raises PhotoTooLargeError or UnreadablePhotoError."""
    if photo.file_size is not None and photo.file_size > MAX_PHOTO_BYTES:
        raise PhotoTooLargeError(photo.file_size)
    downloaded = io.BytesIO()
    await bot.download(photo, destination=downloaded)
    data = downloaded.getvalue()
    media_type = image_media_type(data)
    if media_type is None:  # Telegram sends JPEG photos; anything else is not a picture
        raise UnreadablePhotoError(photo.file_id)
    return ImagePart(data, media_type)
