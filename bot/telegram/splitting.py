"""Split text + entities into messages of at most N UTF-16 code units, where a reader would.

A cut goes at the last paragraph break that fits, else the last line break, else the last
sentence end, else the last space; a level is used only when it fills at least half of the
message (so a short first paragraph does not become a message of its own). Never inside a
word, nor inside a link, a mention, inline code or another entity that must stay whole; only a
word longer than a whole message is cut inside. The whitespace at a cut is dropped (Telegram
trims it anyway) and entities that span a cut (bold, a code block) are clipped into both parts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# Entities that make no sense cut in two: the cut moves before them.
ATOMIC = frozenset(
    {
        "url",
        "text_link",
        "mention",
        "text_mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "email",
        "phone_number",
        "code",
        "custom_emoji",
    }
)
LEVELS = (  # the group "gap" is what a cut drops
    re.compile(r"(?P<gap>\n[ \t]*\n\s*)"),  # paragraph
    re.compile(r"(?P<gap>\n\s*)"),  # line
    re.compile(r"[.!?…][\"'»”)\]]*(?P<gap>[ \t]+)"),  # sentence
    re.compile(r"(?P<gap>\s+)"),  # word
)
MIN_FILL = 0.5


def utf16_offsets(text: str) -> list[int]:
    """UTF-16 offset of every code point index (and of the end)."""
    table = [0] * (len(text) + 1)
    for index, char in enumerate(text):
        table[index + 1] = table[index] + (2 if ord(char) > 0xFFFF else 1)
    return table


def split_ranges(text: str, atomic: Sequence[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """(start, end) code point ranges of the messages; ``atomic`` spans are never cut."""
    offsets = utf16_offsets(text)
    ranges = []
    start = len(text) - len(text.lstrip())
    while start < len(text):
        if offsets[-1] - offsets[start] <= limit:
            ranges.append((start, len(text.rstrip())))
            break
        budget = start
        while budget < len(text) and offsets[budget + 1] - offsets[start] <= limit:
            budget += 1
        end, following = _cut(text, start, budget, atomic, offsets, limit)
        ranges.append((start, end))
        start = following
    return [(s, e) for s, e in ranges if text[s:e].strip()]


def _cut(
    text: str,
    start: int,
    budget: int,
    atomic: Sequence[tuple[int, int]],
    offsets: list[int],
    limit: int,
) -> tuple[int, int]:
    """Where the message from ``start`` ends and where the next one starts."""

    def inside(position: int) -> bool:
        return any(a < position < b for a, b in atomic)

    fallback: tuple[int, int] | None = None
    for level in LEVELS:
        best = None
        for match in level.finditer(text, start, budget + 1):
            gap = match.start("gap")
            if start < gap <= budget and not inside(gap):
                best = (gap, match.end("gap"))
        if best is None:
            continue
        if offsets[best[0]] - offsets[start] >= limit * MIN_FILL:
            return best
        fallback = fallback or best
    if fallback is not None:
        return fallback
    end = budget  # one word longer than a message: cut it, but not inside an entity
    for a, b in atomic:
        if a < end < b and a > start:
            end = a
    return end, end


def clip_entities(
    entities: Sequence[dict[str, Any]], offsets: list[int], start: int, end: int
) -> list[dict[str, Any]]:
    """The entities of ``text[start:end]``, clipped to it and shifted to its start."""
    low, high = offsets[start], offsets[end]
    clipped = []
    for entity in entities:
        first = max(entity["offset"], low)
        last = min(entity["offset"] + entity["length"], high)
        if last > first:
            clipped.append({**entity, "offset": first - low, "length": last - first})
    return clipped


def atomic_spans(entities: Sequence[dict[str, Any]], offsets: list[int]) -> list[tuple[int, int]]:
    """Code point spans of the entities that must stay whole."""
    index = {unit: i for i, unit in enumerate(offsets)}
    spans = []
    for entity in entities:
        if entity["type"] in ATOMIC:
            first = index.get(entity["offset"])
            last = index.get(entity["offset"] + entity["length"])
            if first is not None and last is not None:
                spans.append((first, last))
    return spans
