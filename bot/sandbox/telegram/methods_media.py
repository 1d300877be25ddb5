"""Bot API methods for files: sendPhoto, sendDocument and getFile."""

from __future__ import annotations

import mimetypes
import struct
from typing import TYPE_CHECKING, Any

from . import validation
from .errors import bad_request
from .methods import bot_message
from .params import UploadedFile
from .registry import api_method
from .state import StoredFile

MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile: "bots can download files of up to 20 MB in size"

if TYPE_CHECKING:
    from .core import Core

mimetypes.init()  # read the system tables now, not on the first upload inside the event loop

_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return 0, 0


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG, JPEG or GIF header; (0, 0) when unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    return 0, 0


def image_mime(data: bytes) -> str:
    """Content type of an image by its header (photos are stored without a mime type)."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:3] == b"GIF":
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:2] == b"BM":
        return "image/bmp"
    return "image/jpeg" if data.startswith(b"\xff\xd8") else "application/octet-stream"


def looks_like_image(data: bytes) -> bool:
    """Formats Telegram accepts as photos whose size this module does not parse."""
    return (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or data[:2] == b"BM"


def guess_mime(file_name: str | None, declared: str | None) -> str | None:
    if declared and declared.lower() not in _GENERIC_TYPES:
        return declared
    guessed = mimetypes.guess_type(file_name or "")[0]
    return guessed or declared or None


def input_file(core: Core, value: Any, kind: str) -> StoredFile:
    """An uploaded file, or a file_id the sandbox already knows."""
    if isinstance(value, UploadedFile):
        if not value.data:
            raise bad_request("file must be non-empty")
        size = image_size(value.data) if kind == "photo" else (0, 0)
        if kind == "photo" and size == (0, 0) and not looks_like_image(value.data):
            raise bad_request("IMAGE_PROCESS_FAILED")
        return core.world.add_file(
            value.data,
            kind=kind,
            file_name=value.filename if kind != "photo" else None,
            mime_type=guess_mime(value.filename, value.content_type) if kind != "photo" else None,
            size=size,
        )
    if isinstance(value, str) and value:
        stored = core.world.files.get(value)
        if stored is not None:
            return stored
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")
    raise bad_request(f"there is no {kind} in the request")


async def _send_media(core: Core, params: dict[str, Any], kind: str) -> Any:
    chat = core.world.chat(params.get("chat_id"))
    caption, entities = validation.caption(
        params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
    )
    inline, keyboard = validation.reply_markup(params.get("reply_markup"), inline_only=False)
    stored = input_file(core, params.get(kind), kind)
    media = {"photo": stored} if kind == "photo" else {"document": stored}
    message = bot_message(
        core,
        chat,
        params,
        caption=caption,
        caption_entities=entities,
        reply_markup=inline,
        reply_keyboard=keyboard,
        **media,
    )
    return core.world.message_json(message)


@api_method("sendPhoto")
async def send_photo(core: Core, params: dict[str, Any]) -> Any:
    return await _send_media(core, params, "photo")


@api_method("sendDocument")
async def send_document(core: Core, params: dict[str, Any]) -> Any:
    return await _send_media(core, params, "document")


@api_method("getFile")
async def get_file(core: Core, params: dict[str, Any]) -> Any:
    stored = core.world.files.get(str(params.get("file_id") or ""))
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return stored.file_json()
