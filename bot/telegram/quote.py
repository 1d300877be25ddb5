"""A user's own words quoted back (a voice message's transcript), collapsed when long."""

from __future__ import annotations

from aiogram.types import MessageEntity

from bot.telegram.formatting import utf16_len

MAX_QUOTED = 3800  # UTF-16 units of quoted text; one message holds 4096 with the heading


def quoted(heading: str, text: str, expand_over: int) -> tuple[str, list[MessageEntity]]:
    """`heading` then `text` in a block quote, an expandable one beyond `expand_over`
    characters; text beyond one message is cut with an ellipsis (the model gets it all)."""
    body = text
    if utf16_len(body) > MAX_QUOTED:
        body = body[: MAX_QUOTED - 1]
        while utf16_len(body) > MAX_QUOTED - 1:  # astral characters take two units
            body = body[:-1]
        body = body.rstrip() + "…"
    start = f"{heading}\n" if heading else ""
    kind = "expandable_blockquote" if len(text) > expand_over else "blockquote"
    entity = MessageEntity(type=kind, offset=utf16_len(start), length=utf16_len(body))
    return f"{start}{body}", [entity]
