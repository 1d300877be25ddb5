"""Whether a group message is meant for the bot, and the text without the address.

A message is for the bot when it replies to one of the bot's messages, mentions the bot's
@username, or starts with the group's short name for the bot ("bot, ...", "Bot: ...").
"""

from __future__ import annotations

import re

from aiogram.types import Message, User

_SEPARATORS = " ,:;!?.\n\t"  # may follow an address: "bot, ...", "@bot: ..."


def addressed_text(message: Message, me: User, short_name: str | None) -> str | None:
    """The message text meant for the bot, or None if the message is not for the bot."""
    text = message.text or message.caption or ""
    if me.username:
        mention = re.compile(rf"@{re.escape(me.username)}\b[,:;]?\s*", re.IGNORECASE)
        if mention.search(text):
            return _tidy(mention.sub("", text)) or text
    if short_name:
        stripped = _strip_short_name(text, short_name)
        if stripped is not None:
            return stripped
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == me.id:
        return text
    return None


def strip_short_name(text: str, short_name: str) -> str | None:
    """`text` without the short name it starts with; None when it does not start with it.
    (A voice message is addressed by its transcript: "Bot, what is ...".)"""
    return _strip_short_name(text, short_name)


def _strip_short_name(text: str, short_name: str) -> str | None:
    if not text.lower().startswith(short_name.lower()):
        return None
    rest = text[len(short_name) :]
    if rest and rest[0] not in _SEPARATORS:
        return None  # "Botanic..." does not address "Bot"
    return _tidy(rest) or None


def _tidy(text: str) -> str:
    """Drop what separated the address from the message, keep the message's own punctuation."""
    return text.strip().lstrip(_SEPARATORS).strip()
