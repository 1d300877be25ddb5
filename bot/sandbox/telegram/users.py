"""What the simulated users do: write messages, send files, press buttons, stop drafts."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from typing import TYPE_CHECKING, Any

from .errors import ApiError, bad_request
from .methods_media import guess_mime, image_size, looks_like_image
from .state import CallbackQuery, ChatState, StoredMessage, now_unix
from .textutil import utf16_len
from .validation import MAX_CAPTION, MAX_TEXT, check_entities

if TYPE_CHECKING:
    from .core import Core

_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")
_MENTION_RE = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{4,32}(?![\w@])")
_URL_RE = re.compile(r"(?<![\w@/])https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities a Telegram client would attach: bot commands, @mentions and URLs."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in (("bot_command", _COMMAND_RE), ("url", _URL_RE), ("mention", _MENTION_RE)):
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end, _ in found):
                continue
            found.append((match.start(), match.end(), kind))
    found.sort()
    return [
        {
            "type": kind,
            "offset": utf16_len(text[:start]),
            "length": utf16_len(text[start:end]),
        }
        for start, end, kind in found
    ]


def _decode_b64(value: Any, field: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise bad_request(f"{field} is required (base64)")
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        raise bad_request(f"{field} is not valid base64") from None


def target_chat(core: Core, body: dict[str, Any], user: dict[str, Any]) -> ChatState:
    raw_chat = body.get("chat")
    if not raw_chat:
        return core.world.private_chat(user)
    if not isinstance(raw_chat, dict):
        raise bad_request("chat must be an object")
    if raw_chat.get("type") == "private" or raw_chat.get("id") == user["id"]:
        return core.world.private_chat(user)
    chat = core.world.group_chat(raw_chat)
    chat.members.add(int(user["id"]))
    return chat


def _user(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("user")
    if not isinstance(raw, dict):
        raise bad_request("user is required")
    return core.world.remember_user(raw)


def user_message(core: Core, body: dict[str, Any], **content: Any) -> dict[str, Any]:
    """Store a message from a simulated user and queue the ``message`` update."""
    user = _user(core, body)
    chat = target_chat(core, body, user)
    reply_to = body.get("reply_to_message_id")
    if reply_to is not None:
        replied = chat.messages.get(int(reply_to))
        if replied is None or replied.deleted:
            raise bad_request("message to be replied not found")
    message = StoredMessage(
        message_id=chat.new_message_id(),
        chat_id=chat.id,
        from_bot=False,
        user_id=int(user["id"]),
        date=now_unix(),
        reply_to_message_id=int(reply_to) if reply_to is not None else None,
        media_group_id=body.get("media_group_id"),
        **content,
    )
    chat.add(message)
    payload = {"message": core.world.message_json(message)}
    update_id = core.push_update(payload, chat.id)
    return {"update_id": update_id, "message": payload["message"]}


def send_text(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message text is empty")
    if utf16_len(text) > MAX_TEXT:
        raise bad_request("message is too long")
    raw_entities = body.get("entities")
    entities = check_entities(text, raw_entities) if raw_entities else detect_entities(text)
    return user_message(core, body, text=text, entities=entities)


def _caption(body: dict[str, Any]) -> dict[str, Any]:
    caption = body.get("caption") or None
    if caption is None:
        return {}
    if utf16_len(str(caption)) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return {"caption": str(caption), "caption_entities": detect_entities(str(caption))}


def send_photo(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    data = _decode_b64(body.get("image_b64"), "image_b64")
    size = image_size(data)
    if size == (0, 0) and not looks_like_image(data):
        raise bad_request("image_b64 is not a PNG, JPEG, GIF, WebP or BMP image")
    stored = core.world.add_file(data, kind="photo", size=size)
    return user_message(core, body, photo=stored, **_caption(body))


def send_document(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    data = _decode_b64(body.get("content_b64"), "content_b64")
    file_name = str(body.get("file_name") or "file.bin")
    mime = guess_mime(file_name, body.get("mime_type"))
    stored = core.world.add_file(data, kind="document", file_name=file_name, mime_type=mime)
    return user_message(core, body, document=stored, **_caption(body))


def _chat_and_message(core: Core, body: dict[str, Any]) -> tuple[ChatState, StoredMessage]:
    try:
        chat = core.world.chats[int(body["chat_id"])]
    except (KeyError, TypeError, ValueError):
        raise ApiError(404, "chat not found") from None
    message = chat.messages.get(int(body.get("message_id") or 0))
    if message is None or message.deleted:
        raise bad_request("message not found")
    return chat, message


def press(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    """Press an inline button: a ``callback_query`` update, if the button exists."""
    user = _user(core, body)
    chat, message = _chat_and_message(core, body)
    data = body.get("data")
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    if not any(button.get("callback_data") == data for row in rows for button in row):
        raise bad_request(f"message {message.message_id} has no button with callback_data {data!r}")
    query = CallbackQuery(
        id=str(secrets.randbits(62)),
        user_id=int(user["id"]),
        chat_id=chat.id,
        message_id=message.message_id,
        data=str(data),
    )
    core.world.callbacks[query.id] = query
    payload = {
        "callback_query": {
            "id": query.id,
            "from": user,
            "message": core.world.message_json(message),
            "chat_instance": core.world.chat_instance(chat.id),
            "data": query.data,
        }
    }
    update_id = core.push_update(payload, chat.id)
    return {"update_id": update_id, "callback_query_id": query.id}


def stop_generation(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    """Press the stop button of a draft: a ``stopped_message_generation`` update."""
    _user(core, body)
    try:
        chat = core.world.chats[int(body["chat_id"])]
        draft_id = int(body["draft_id"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(404, "chat or draft not found") from None
    drafts = [draft for draft in chat.drafts if draft["draft_id"] == draft_id]
    if not drafts:
        raise bad_request(f"no draft {draft_id} in chat {chat.id}")
    if not drafts[-1]["can_stop"]:
        raise bad_request(f"draft {draft_id} has no stop button (can_stop was not set)")
    payload: dict[str, Any] = {
        "stopped_message_generation": {"chat": dict(chat.info), "draft_id": draft_id}
    }
    if drafts[-1].get("message_thread_id") is not None:
        payload["stopped_message_generation"]["message_thread_id"] = drafts[-1]["message_thread_id"]
    return {"update_id": core.push_update(payload, chat.id)}


def declare_group(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    raw_chat = body.get("chat")
    if not isinstance(raw_chat, dict):
        raise bad_request("chat is required")
    chat = core.world.group_chat(raw_chat)
    admins = [int(x) for x in body.get("admins") or []]
    members = [int(x) for x in body.get("members") or []]
    creator = body.get("creator")
    chat.creator = int(creator) if creator is not None else (admins[0] if admins else None)
    chat.admins = set(admins)
    chat.members = set(members) | set(admins)
    chat.notify()
    return {"chat": chat.info}
