"""Checks Telegram applies to message text, entities and keyboards, with its error wording."""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from pydantic import ValidationError

from .errors import ApiError, bad_request, cant_parse
from .markup_parsers import PARSERS, ParseError, sort_entities
from .textutil import WHITESPACE, normalize_url, utf16_len

Entity = dict[str, Any]


@functools.cache
def _types() -> Any:
    """aiogram's models, imported when first needed: importing them takes seconds, and the
    sandbox's page should be served before that (`make run` prints its URL at once)."""
    from aiogram.types import (
        ForceReply,
        InlineKeyboardMarkup,
        MessageEntity,
        ReplyKeyboardMarkup,
        ReplyKeyboardRemove,
    )

    return SimpleNamespace(
        ForceReply=ForceReply,
        InlineKeyboardMarkup=InlineKeyboardMarkup,
        MessageEntity=MessageEntity,
        ReplyKeyboardMarkup=ReplyKeyboardMarkup,
        ReplyKeyboardRemove=ReplyKeyboardRemove,
    )


def warm_up() -> None:
    """Import aiogram's models and validate one of each now, in a thread at start: the import
    takes seconds of CPU, and a call that did it on the event loop (the first keyboard or
    entity) held the sandbox past the bot's request time-out."""
    types = _types()
    types.MessageEntity.model_validate({"type": "bold", "offset": 0, "length": 1})
    button = {"text": "b", "callback_data": "d"}
    types.InlineKeyboardMarkup.model_validate({"inline_keyboard": [[button]]})
    types.ReplyKeyboardMarkup.model_validate({"keyboard": [[{"text": "k"}]]})
    types.ReplyKeyboardRemove.model_validate({"remove_keyboard": True})
    types.ForceReply.model_validate({"force_reply": True})


MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)
_ENTITY_EXTRA = ("url", "user", "language", "custom_emoji_id", "unix_time", "date_time_format")
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _entity(raw: Any, text_length: int) -> Entity:
    if not isinstance(raw, dict):
        raise cant_parse("entity must be an object")
    kind, offset, length = raw.get("type"), raw.get("offset"), raw.get("length")
    if not isinstance(kind, str) or kind not in ENTITY_TYPES:
        raise cant_parse(f'Unsupported entity type "{kind}"')
    if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
        raise cant_parse("entity offset and length must be non-negative integers")
    if offset + length > text_length:
        raise cant_parse(
            f"entity {kind} at UTF-16 offset {offset} with length {length} ends after "
            f"the end of the text (text length is {text_length} UTF-16 code units)"
        )
    entity: Entity = {"type": kind, "offset": offset, "length": length}
    entity.update({key: raw[key] for key in _ENTITY_EXTRA if raw.get(key) is not None})
    if kind == "text_link":
        url = normalize_url(str(raw.get("url") or ""))
        if url is None:
            raise cant_parse("wrong HTTP URL")
        entity["url"] = url
    elif kind == "text_mention":
        user = raw.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), int):
            raise cant_parse("text_mention entity must have a user")
        entity["user"] = {"is_bot": False, "first_name": "User", **user}
    elif kind == "custom_emoji" and not raw.get("custom_emoji_id"):
        raise cant_parse("custom_emoji entity must have a custom_emoji_id")
    try:
        _types().MessageEntity.model_validate(entity)
    except ValidationError as exc:
        raise cant_parse(f"wrong entity {kind}") from exc
    return entity


def check_entities(text: str, entities: Any) -> list[Entity]:
    """Validate explicit entities against the text; empty entities are dropped."""
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    length = utf16_len(text)
    checked = [_entity(raw, length) for raw in entities]
    return sort_entities([e for e in checked if e["length"] > 0])


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace as Telegram does, shifting and clipping entities."""
    stripped = text.strip(WHITESPACE)
    if stripped == text:
        return text, entities
    left = len(text) - len(text.lstrip(WHITESPACE))
    new_length = utf16_len(stripped)
    result: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - left, 0)
        end = min(entity["offset"] + entity["length"] - left, new_length)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def formatted(text: str, parse_mode: Any, entities: Any) -> tuple[str, list[Entity]]:
    """Apply ``entities`` or ``parse_mode`` (entities win, like in the Bot API), then trim."""
    if entities:
        return trim(text, check_entities(text, entities))
    if parse_mode is None or parse_mode == "":
        return trim(text, [])
    parser = PARSERS.get(str(parse_mode).lower())
    if parser is None:
        raise bad_request("unsupported parse_mode")
    try:
        parsed, found = parser(text)
    except ParseError as exc:
        raise cant_parse(str(exc)) from exc
    return trim(parsed, found)


def message_text(text: Any, parse_mode: Any, entities: Any) -> tuple[str, list[Entity]]:
    """Text of sendMessage/editMessageText: non-empty, at most 4096 UTF-16 units."""
    if text is None or text == "":
        raise bad_request("message text is empty")
    result, found = formatted(str(text), parse_mode, entities)
    if not result:
        raise bad_request("message text is empty")
    if utf16_len(result) > MAX_TEXT:
        raise bad_request("message is too long")
    return result, found


def draft_text(text: Any, parse_mode: Any, entities: Any) -> tuple[str, list[Entity]]:
    """Text of sendMessageDraft: may be empty (a 'Thinking…' placeholder)."""
    if text is None or text == "":
        return "", []
    result, found = formatted(str(text), parse_mode, entities)
    if utf16_len(result) > MAX_TEXT:
        raise bad_request("message is too long")
    return result, found


def caption(text: Any, parse_mode: Any, entities: Any) -> tuple[str | None, list[Entity]]:
    """Media caption: optional, at most 1024 UTF-16 units."""
    if text is None or text == "":
        return None, []
    result, found = formatted(str(text), parse_mode, entities)
    if utf16_len(result) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return result or None, found


def _button(raw: Any) -> None:
    if not isinstance(raw, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    if not isinstance(raw.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not raw["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [key for key in _BUTTON_ACTIONS if raw.get(key) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = raw.get("callback_data")
    if data is not None:
        if not isinstance(data, str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "callback_data" must be of type String'
            )
        if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    url = raw.get("url")
    if url is not None and (not isinstance(url, str) or normalize_url(url) is None):
        raise bad_request("BUTTON_URL_INVALID")


def _inline_keyboard(markup: dict[str, Any]) -> dict[str, Any] | None:
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            _button(button)
    try:
        _types().InlineKeyboardMarkup.model_validate(markup)
    except ValidationError as exc:
        raise bad_request("can't parse reply keyboard markup JSON object") from exc
    rows = [row for row in rows if row]
    return {"inline_keyboard": rows} if rows else None


def reply_markup(markup: Any, *, inline_only: bool) -> tuple[dict[str, Any] | None, Any]:
    """Validate ``reply_markup``: (inline keyboard to attach to the message, other markup)."""
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _inline_keyboard(markup), None
    if inline_only:
        raise bad_request("inline keyboard expected")
    types = _types()
    kinds = (
        ("keyboard", types.ReplyKeyboardMarkup),
        ("remove_keyboard", types.ReplyKeyboardRemove),
        ("force_reply", types.ForceReply),
    )
    for key, model in kinds:
        if key in markup:
            try:
                model.model_validate(markup)
            except ValidationError as exc:
                raise bad_request("can't parse reply keyboard markup JSON object") from exc
            return None, markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def rich_content(rich: Any) -> dict[str, Any]:
    """``rich_message``: exactly one of markdown, html or blocks."""
    if not isinstance(rich, dict):
        raise bad_request("can't parse rich_message JSON object")
    given = [key for key in ("markdown", "html", "blocks") if rich.get(key) not in (None, "", [])]
    if len(given) != 1:
        raise ApiError(
            400,
            "Bad Request: exactly one of the fields html, markdown or blocks must be specified "
            "in rich_message",
        )
    key = given[0]
    if key == "blocks" and not isinstance(rich["blocks"], list):
        raise bad_request("can't parse rich_message JSON object")
    if key != "blocks" and not isinstance(rich[key], str):
        raise bad_request(f"rich_message field {key} must be of type String")
    return {key: rich[key]}
