"""What a broadcast sends: text (Markdown, or the operator's own formatting) or a photo with
a caption, and link buttons, read from the operator's message; kept as JSON in the database.

Buttons are the message's last lines when each is only a Markdown link: `[Our site](https://
example.com)` becomes a button under the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import MessageEntity

from bot.telegram.formatting import render_markdown, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 8
# Entities that mean the operator formatted the text in Telegram (rather than typing Markdown);
# links, mentions and commands are detected by clients in any text.
FORMATTING = frozenset(
    {"bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre", "text_link"}
    | {"blockquote", "expandable_blockquote", "custom_emoji"}
)
BUTTON_LINE = re.compile(r"^\s*\[([^\]\n]{1,64})\]\((https?://[^\s)]+)\)\s*$")


class ContentError(ValueError):
    """The message cannot be broadcast (too long, empty): the locale key says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class BroadcastContent:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    photo: str | None = None  # a Telegram file id
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, url)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "entities": self.entities,
            "photo": self.photo,
            "buttons": [list(b) for b in self.buttons],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BroadcastContent:
        buttons = [(str(label), str(url)) for label, url in data.get("buttons") or []]
        return cls(str(data["text"]), list(data.get("entities") or []), data.get("photo"), buttons)

    def message_entities(self) -> list[MessageEntity]:
        return [MessageEntity.model_validate(e) for e in self.entities]


def read_content(
    text: str, entities: list[MessageEntity] | None, photo: str | None
) -> BroadcastContent:
    """The operator's message as a broadcast; raises ContentError."""
    body, buttons = _split_buttons(text)
    limit = MAX_CAPTION if photo else MAX_TEXT
    if entities and any(e.type in FORMATTING for e in entities):
        # Formatted in Telegram: sent as it is, entities past the buttons dropped.
        size = utf16_len(body)
        kept = [e for e in entities if e.offset + e.length <= size]
        dumped = [e.model_dump(exclude_none=True) for e in kept]
        rendered, rendered_entities = body, dumped
    else:
        chunks = render_markdown(body, limit) if body.strip() else []
        if len(chunks) > 1:
            raise ContentError("broadcast-too-long")
        rendered = chunks[0].text if chunks else ""
        rendered_entities = (
            [e.model_dump(exclude_none=True) for e in chunks[0].entities] if chunks else []
        )
    if not rendered.strip() and photo is None:
        raise ContentError("broadcast-empty")
    if utf16_len(rendered) > limit:
        raise ContentError("broadcast-too-long")
    return BroadcastContent(rendered, rendered_entities, photo, buttons)


def _split_buttons(text: str) -> tuple[str, list[tuple[str, str]]]:
    lines = text.rstrip().split("\n")
    buttons: list[tuple[str, str]] = []
    while lines and len(buttons) < MAX_BUTTONS and (match := BUTTON_LINE.match(lines[-1])):
        buttons.insert(0, (match.group(1).strip(), match.group(2)))
        lines.pop()
    return "\n".join(lines).rstrip(), buttons
