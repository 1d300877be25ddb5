"""Whether a group message is meant for the bot: a mention of it, or a reply to it."""

from __future__ import annotations

from aiogram.types import Message, User


def is_addressed_to_bot(message: Message, me: User) -> bool:
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == me.id:
        return True
    text = message.text or message.caption or ""
    return bool(me.username) and f"@{(me.username or '').lower()}" in text.lower()
