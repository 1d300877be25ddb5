"""Markdown from a model -> Telegram text + entities, split at 4096 UTF-16 code units.

`telegramify-markdown` does the conversion (its offsets are in UTF-16 code units, as Telegram
counts them); `splitting` cuts at a paragraph, a line, a sentence or a word, never inside a
word or a link, and clips an entity that spans a cut into both parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import telegramify_markdown
from aiogram.types import MessageEntity
from telegramify_markdown import MessageEntity as TMEntity

from bot.telegram.splitting import atomic_spans, clip_entities, split_ranges, utf16_offsets

MESSAGE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Chunk:
    """One outgoing message: plain text and the entities that format it."""

    text: str
    entities: list[MessageEntity] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def render_markdown(markdown: str, limit: int = MESSAGE_LIMIT) -> list[Chunk]:
    text, entities = telegramify_markdown.convert(markdown)
    return _split(text, entities, limit)


def render_plain(text: str, limit: int = MESSAGE_LIMIT) -> list[Chunk]:
    return _split(text, [], limit)


def plain_fallback(chunk: Chunk, limit: int = MESSAGE_LIMIT) -> list[Chunk]:
    """The chunk without entities, keeping link targets visible as "text (url)"."""
    links = sorted(
        (e for e in chunk.entities if e.type == "text_link" and e.url),
        key=lambda e: e.offset + e.length,
        reverse=True,
    )
    units = chunk.text.encode("utf-16-le")
    for entity in links:
        end = (entity.offset + entity.length) * 2
        units = units[:end] + f" ({entity.url})".encode("utf-16-le") + units[end:]
    return render_plain(units.decode("utf-16-le"), limit)


def _split(text: str, entities: list[TMEntity], limit: int) -> list[Chunk]:
    raw = [entity.to_dict() for entity in entities]
    offsets = utf16_offsets(text)
    return [
        Chunk(
            text[start:end], [MessageEntity(**e) for e in clip_entities(raw, offsets, start, end)]
        )
        for start, end in split_ranges(text, atomic_spans(raw, offsets), limit)
    ]
