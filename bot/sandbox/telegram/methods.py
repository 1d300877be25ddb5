"""Bot API methods that create, change or remove messages in chats."""

from __future__ import annotations

import html
import re
import time
from typing import TYPE_CHECKING, Any

from . import validation
from .errors import NOT_MODIFIED, bad_request
from .registry import api_method
from .state import ChatState, StoredMessage, now_unix

if TYPE_CHECKING:
    from .core import Core

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_TAG_RE = re.compile(r"<[^>]*>")


def find_message(chat: ChatState, message_id: Any, missing: str) -> StoredMessage:
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = chat.messages.get(message_id) if isinstance(message_id, int) else None
    if message is None or message.deleted:
        raise bad_request(missing)
    return message


def reply_target(chat: ChatState, params: dict[str, Any]) -> int | None:
    """The message a new bot message replies to (reply_parameters or reply_to_message_id)."""
    reply = params.get("reply_parameters")
    allow = bool(params.get("allow_sending_without_reply"))
    message_id: Any = params.get("reply_to_message_id")
    if isinstance(reply, dict):
        if reply.get("chat_id") not in (None, chat.id):
            return None
        message_id = reply.get("message_id")
        allow = bool(reply.get("allow_sending_without_reply", allow))
    if message_id is None:
        return None
    try:
        target_id = int(message_id)
    except (TypeError, ValueError):
        raise bad_request("message to be replied not found") from None
    target = chat.messages.get(target_id)
    if target is None or target.deleted:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return target_id


def bot_message(
    core: Core, chat: ChatState, params: dict[str, Any], **fields: Any
) -> StoredMessage:
    """Store a new message from the bot (all validation must be done before)."""
    preview = params.get("link_preview_options")
    message = StoredMessage(
        message_id=chat.new_message_id(),
        chat_id=chat.id,
        from_bot=True,
        user_id=core.bot_id,
        date=now_unix(),
        reply_to_message_id=reply_target(chat, params),
        message_thread_id=params.get("message_thread_id"),
        link_preview_options=preview if isinstance(preview, dict) else None,
        **fields,
    )
    chat.add(message)
    return message


def rich_plain_text(content: dict[str, Any]) -> str:
    """Readable plain text of a rich message's markdown, html or blocks."""
    if "markdown" in content:
        return str(content["markdown"])
    if "html" in content:
        return html.unescape(_TAG_RE.sub("", str(content["html"])))
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key in ("text", "title", "caption", "items", "blocks", "cells", "rows"):
                if key in node:
                    walk(node[key])

    for block in content.get("blocks", []):
        before = len(parts)
        walk(block)
        if len(parts) > before:
            parts.append("\n")
    return "".join(parts).strip()


def private_only(core: Core, chat_id: Any) -> ChatState:
    if isinstance(chat_id, int) and chat_id < 0:
        raise bad_request("method is available only for private chats")
    chat = core.world.chat(chat_id)
    if chat.type != "private":
        raise bad_request("method is available only for private chats")
    return chat


def remember_edit(message: StoredMessage) -> None:
    message.edits.append(
        {
            "text": message.plain_text(),
            "entities": message.entities if message.text is not None else message.caption_entities,
            "rich": message.rich,
            "reply_markup": message.reply_markup,
            "at": time.monotonic(),
        }
    )


def editable(core: Core, params: dict[str, Any]) -> tuple[ChatState, StoredMessage]:
    if params.get("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = core.world.chat(params.get("chat_id"))
    message = find_message(chat, params.get("message_id"), "message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return chat, message


@api_method("sendMessage")
async def send_message(core: Core, params: dict[str, Any]) -> Any:
    chat = core.world.chat(params.get("chat_id"))
    text, entities = validation.message_text(
        params.get("text"), params.get("parse_mode"), params.get("entities")
    )
    inline, keyboard = validation.reply_markup(params.get("reply_markup"), inline_only=False)
    message = bot_message(
        core,
        chat,
        params,
        text=text,
        entities=entities,
        reply_markup=inline,
        reply_keyboard=keyboard,
    )
    return core.world.message_json(message)


@api_method("sendRichMessage")
async def send_rich_message(core: Core, params: dict[str, Any]) -> Any:
    chat = core.world.chat(params.get("chat_id"))
    content = validation.rich_content(params.get("rich_message"))
    inline, keyboard = validation.reply_markup(params.get("reply_markup"), inline_only=False)
    message = bot_message(
        core,
        chat,
        params,
        rich=content,
        rich_plain=rich_plain_text(content),
        reply_markup=inline,
        reply_keyboard=keyboard,
    )
    return core.world.message_json(message)


@api_method("editMessageText")
async def edit_message_text(core: Core, params: dict[str, Any]) -> Any:
    chat, message = editable(core, params)
    text: str | None = None
    entities: list[dict[str, Any]] = []
    rich: dict[str, Any] | None = None
    if params.get("rich_message") is not None:
        rich = validation.rich_content(params["rich_message"])
    elif message.text is None and message.rich is None:
        raise bad_request("there is no text in the message to edit")
    else:
        text, entities = validation.message_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
    inline, _ = validation.reply_markup(params.get("reply_markup"), inline_only=True)
    if (text, entities, rich, inline) == message.content_key():
        raise bad_request(NOT_MODIFIED)
    remember_edit(message)
    message.text, message.entities, message.rich, message.reply_markup = (
        text,
        entities,
        rich,
        inline,
    )
    message.rich_plain = rich_plain_text(rich) if rich else None
    message.edit_date = now_unix()
    chat.notify()
    return core.world.message_json(message)


@api_method("editMessageCaption")
async def edit_message_caption(core: Core, params: dict[str, Any]) -> Any:
    chat, message = editable(core, params)
    if message.photo is None and message.document is None:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = validation.caption(
        params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
    )
    inline, _ = validation.reply_markup(params.get("reply_markup"), inline_only=True)
    old = (message.caption, message.caption_entities, message.reply_markup)
    if (caption, entities, inline) == old:
        raise bad_request(NOT_MODIFIED)
    remember_edit(message)
    message.caption, message.caption_entities, message.reply_markup = caption, entities, inline
    message.edit_date = now_unix()
    chat.notify()
    return core.world.message_json(message)


@api_method("editMessageReplyMarkup")
async def edit_message_reply_markup(core: Core, params: dict[str, Any]) -> Any:
    chat, message = editable(core, params)
    inline, _ = validation.reply_markup(params.get("reply_markup"), inline_only=True)
    if inline == message.reply_markup:
        raise bad_request(NOT_MODIFIED)
    remember_edit(message)
    message.reply_markup = inline
    message.edit_date = now_unix()
    chat.notify()
    return core.world.message_json(message)


def _delete(chat: ChatState, message_id: Any) -> None:
    message = find_message(chat, message_id, "message to delete not found")
    message.deleted = True
    if message.from_bot:
        chat.bot_messages -= 1


@api_method("deleteMessage")
async def delete_message(core: Core, params: dict[str, Any]) -> bool:
    chat = core.world.chat(params.get("chat_id"))
    _delete(chat, params.get("message_id"))
    chat.notify()
    return True


@api_method("deleteMessages")
async def delete_messages(core: Core, params: dict[str, Any]) -> bool:
    chat = core.world.chat(params.get("chat_id"))
    ids = params.get("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must be a list of 1-100 message identifiers")
    for message_id in ids:
        message = chat.messages.get(message_id) if isinstance(message_id, int) else None
        if message is not None and not message.deleted:
            _delete(chat, message_id)
    chat.notify()
    return True


@api_method("sendChatAction")
async def send_chat_action(core: Core, params: dict[str, Any]) -> bool:
    chat = core.world.chat(params.get("chat_id"))
    action = params.get("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.actions.append(
        {
            "action": action,
            "at": time.monotonic(),
            "message_thread_id": params.get("message_thread_id"),
        }
    )
    return True


@api_method("sendMessageDraft")
async def send_message_draft(core: Core, params: dict[str, Any]) -> bool:
    chat = private_only(core, params.get("chat_id"))
    draft_id = params.get("draft_id")
    if not isinstance(draft_id, int) or draft_id == 0:
        raise bad_request("draft_id must be non-zero")
    text, entities = validation.draft_text(
        params.get("text"), params.get("parse_mode"), params.get("entities")
    )
    chat.drafts.append(
        {
            "draft_id": draft_id,
            "text": text,
            "entities": entities,
            "can_stop": bool(params.get("can_stop")),
            "keep_on_stop": bool(params.get("keep_on_stop")),
            "message_thread_id": params.get("message_thread_id"),
            "at": time.monotonic(),
        }
    )
    chat.notify()
    return True


@api_method("answerCallbackQuery")
async def answer_callback_query(core: Core, params: dict[str, Any]) -> bool:
    query = core.world.callbacks.get(str(params.get("callback_query_id")))
    if query is None or query.answer is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.get("text")
    if isinstance(text, str) and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answer = {
        "text": text,
        "show_alert": bool(params.get("show_alert")),
        "url": params.get("url"),
        "cache_time": params.get("cache_time"),
        "at": time.monotonic(),
    }
    chat = core.world.chats.get(query.chat_id)
    if chat is not None:
        chat.notify()
    return True
