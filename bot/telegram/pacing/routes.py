"""Which Bot API methods the pacer counts, and which chat a call is for."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from aiogram.methods.base import TelegramMethod

COUNTED_METHODS = frozenset(
    name.lower()
    for name in (
        "sendMessage",
        "sendRichMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendInvoice",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    )
)
DRAFT_METHODS = frozenset({"sendmessagedraft", "sendrichmessagedraft"})
CHAT_ACTION = "sendchataction"


class Kind(Enum):
    FREE = "free"  # not paced
    ACTION = "action"  # sendChatAction: skipped while its chat is blocked
    MESSAGE = "message"  # counted against the chat, group and global budgets
    DRAFT = "draft"  # counted against the chat's draft budget only


@dataclass(frozen=True)
class Route:
    kind: Kind
    name: str  # the Bot API method name, for logs
    chat_id: int | None  # integer chat ids only: the key of per-chat state
    target: int | str | None  # the method's chat_id as given (also ``@username``)


def route_of(method: TelegramMethod[Any]) -> Route:
    """Classify ``method`` by its name and its ``chat_id`` field."""
    name = method.__api_method__
    key = name.lower()
    raw = getattr(method, "chat_id", None)
    target = raw if isinstance(raw, int | str) and not isinstance(raw, bool) else None
    chat_id: int | None = None
    if isinstance(target, int):
        chat_id = target
    elif isinstance(target, str) and target.lstrip("-").isdigit():
        chat_id = int(target)
    if key in COUNTED_METHODS:
        kind = Kind.MESSAGE
    elif key in DRAFT_METHODS:
        kind = Kind.DRAFT
    elif key == CHAT_ACTION:
        kind = Kind.ACTION
    else:
        kind = Kind.FREE
    return Route(kind, name, chat_id, target)
