"""Decoding Bot API request parameters the way Telegram does.

aiogram sends every call as form data: scalars as strings, booleans as ``true``/``false``,
objects and arrays as JSON strings, and files as multipart attachments referenced by
``attach://name``. Humans and curl may send a JSON body or query-string parameters instead.
Everything is normalised here into one ``dict`` of typed values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from .errors import ApiError, bad_request

JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "reply_parameters",
        "link_preview_options",
        "allowed_updates",
        "commands",
        "scope",
        "rich_message",
        "media",
        "results",
        "permissions",
        "suggested_post_parameters",
        "ephemeral_message_parameters",
        "message_ids",
    }
)
INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "draft_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "user_id",
        "message_thread_id",
        "reply_to_message_id",
        "cache_time",
        "width",
        "height",
        "duration",
        "direct_messages_topic_id",
    }
)
BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "can_stop",
        "keep_on_stop",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "has_spoiler",
        "show_caption_above_media",
        "disable_content_type_detection",
        "allow_paid_broadcast",
        "only_if_banned",
    }
)
FILE_FIELDS = frozenset(
    {
        "document",
        "photo",
        "audio",
        "video",
        "animation",
        "voice",
        "video_note",
        "sticker",
        "thumbnail",
        "certificate",
    }
)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})
_JSON_ERROR = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse caption entities JSON object",
}


@dataclass(frozen=True)
class UploadedFile:
    """A file attached to a multipart request."""

    filename: str
    content_type: str
    data: bytes

    def describe(self) -> dict[str, Any]:
        return {
            "file_name": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
        }


async def read_multipart(reader: MultipartReader) -> dict[str, Any]:
    """Read every part of a multipart body: text fields as ``str``, files as UploadedFile."""
    raw: dict[str, Any] = {}
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = await part.read(decode=True)
        if part.filename is not None:
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            raw[part.name] = UploadedFile(part.filename, content_type, bytes(data))
        else:
            raw[part.name] = bytes(data).decode(part.get_charset(default="utf-8"))
    return raw


async def read_request(request: web.Request) -> dict[str, Any]:
    """Collect the query string and the body (form, multipart or JSON) of a request."""
    raw: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return raw
    content_type = request.content_type
    if content_type == "multipart/form-data":
        raw.update(await read_multipart(await request.multipart()))
    elif content_type == "application/x-www-form-urlencoded":
        raw.update(await request.post())
    else:
        text = await request.text()
        if text.strip():
            try:
                body = json.loads(text)
            except ValueError as exc:
                raise bad_request("can't parse JSON object") from exc
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            raw.update(body)
    return raw


def _decode_int(name: str, value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        if name == "chat_id" and text.startswith("@"):
            return text
        raise bad_request(f"invalid {name} specified") from None


def _decode_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return bool(text)


def _decode_json(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise bad_request(_JSON_ERROR.get(name, f"can't parse {name} JSON object")) from None


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Type every known field; resolve ``attach://name`` references to uploaded files."""
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, UploadedFile):
            params[name] = value
        elif name in INT_FIELDS:
            params[name] = _decode_int(name, value)
        elif name in BOOL_FIELDS:
            params[name] = _decode_bool(value)
        elif name in JSON_FIELDS:
            params[name] = _decode_json(name, value)
        else:
            params[name] = value
    for name, value in list(params.items()):
        if name in FILE_FIELDS and isinstance(value, str) and value.startswith("attach://"):
            attached = raw.get(value.removeprefix("attach://"))
            if not isinstance(attached, UploadedFile):
                raise bad_request(f"can't find attached file {value!r}")
            params[name] = attached
    return params


def loggable(params: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy of decoded parameters (files described, not embedded)."""
    return {
        name: value.describe() if isinstance(value, UploadedFile) else value
        for name, value in params.items()
    }


def require(params: Mapping[str, Any], name: str, detail: str | None = None) -> Any:
    """A mandatory parameter, or Telegram's ``<name> is empty`` error."""
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(detail or f"{name} is empty")
    return value


def opt_str(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"Bad Request: field {name!r} must be of type String")
    return value
