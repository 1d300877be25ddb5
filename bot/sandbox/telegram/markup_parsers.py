"""Telegram's ``parse_mode`` parsers: MarkdownV2, HTML and legacy Markdown.

They follow TDLib's rules and error wording closely enough that a bot which formats text
wrongly gets the same ``can't parse entities`` error it would get from Telegram. Entities are
dicts in Bot API form with offsets and lengths in UTF-16 code units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .html_parser import HtmlParser
from .textutil import byte_offset, link_entity, units

Entity = dict[str, Any]

RESERVED = "_*[]()~`>#+-=|{}.!"
TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}


class ParseError(Exception):
    """Malformed markup; the message is Telegram's text after ``can't parse entities: ``."""


def sort_entities(entities: list[Entity]) -> list[Entity]:
    """TDLib's order: by offset, longer first, then by type priority."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)))


def tg_special_entity(url: str, offset: int, length: int) -> Entity:
    """``![x](tg://emoji?id=N)`` / ``![x](tg://time?unix=N)`` as a Bot API entity."""
    parts = urlsplit(url.strip())
    host = (parts.netloc or parts.path.strip("/")).lower()
    query = parse_qs(parts.query)
    if parts.scheme.lower() == "tg" and host == "emoji":
        emoji_id = (query.get("id") or [""])[-1]
        if emoji_id.isdigit() and not emoji_id.startswith("0"):
            entity: Entity = {"type": "custom_emoji", "offset": offset, "length": length}
            entity["custom_emoji_id"] = emoji_id
            return entity
    if parts.scheme.lower() == "tg" and host == "time":
        unix = (query.get("unix") or [""])[-1]
        if unix.isdigit():
            entity = {"type": "date_time", "offset": offset, "length": length}
            entity["unix_time"] = int(unix)
            if query.get("format"):
                entity["date_time_format"] = query["format"][-1]
            return entity
    raise ParseError("Invalid tg://emoji or tg://time URL specified")


@dataclass
class _Open:
    kind: str
    offset: int
    byte: int
    begin: int
    language: str | None = None


@dataclass
class _Quote:
    offset: int
    depth: int
    expandable: bool = False


@dataclass
class _MarkdownV2:
    src: str
    out: list[str] = field(default_factory=list)
    u16: int = 0
    entities: list[Entity] = field(default_factory=list)
    stack: list[_Open] = field(default_factory=list)
    quote: _Quote | None = None
    marker_at: int = -1

    def at(self, i: int) -> str:
        return self.src[i] if 0 <= i < len(self.src) else ""

    def emit(self, char: str) -> None:
        self.out.append(char)
        self.u16 += units(char)

    def in_code(self) -> bool:
        return bool(self.stack) and self.stack[-1].kind in ("code", "pre")

    def unclosed(self, item: _Open) -> ParseError:
        name = "PreCode" if item.kind == "pre" and item.language else TYPE_NAMES[item.kind]
        return ParseError(f"Can't find end of {name} entity at byte offset {item.byte}")

    def run(self) -> tuple[str, list[Entity]]:
        i, size = 0, len(self.src)
        while i < size:
            if self.at_line_start() and not self.in_code():
                skipped = self.line_start(i)
                if skipped != i:
                    i = skipped
                    continue
            i = self.step(i)
        if self.stack:
            raise self.unclosed(self.stack[-1])
        self.close_quote()
        return "".join(self.out), sort_entities(self.entities)

    def at_line_start(self) -> bool:
        if self.marker_at == len(self.out):
            return False
        return not self.out or self.out[-1] in "\n\r"

    def step(self, i: int) -> int:
        char = self.src[i]
        if char == "\\" and 0 < ord(self.at(i + 1) or "\0") <= 126:
            self.emit(self.src[i + 1])
            return i + 2
        if char == "\n" and self.quote is not None and not self.in_code():
            self.emit(char)
            if self.at(i + 1) != ">":
                self.close_quote()
            return i + 1
        if char not in ("`" if self.in_code() else RESERVED):
            self.emit(char)
            return i + 1
        if self.stack and self.is_end(self.stack[-1].kind, i):
            return self.close(i)
        return self.open(i)

    def line_start(self, i: int) -> int:
        if self.src.startswith("**>", i) or self.at(i) == ">":
            self.marker_at = len(self.out)
        if self.src.startswith("**>", i):
            self.close_quote()
            self.quote = _Quote(self.u16, len(self.stack))
            return i + 3
        if self.at(i) == ">":
            if self.quote is None:
                self.quote = _Quote(self.u16, len(self.stack))
            return i + 1
        return i

    def quote_ends_at(self, j: int) -> bool:
        if j >= len(self.src):
            return True
        if self.src.startswith("\r\n", j):
            j += 1
        return self.at(j) == "\n" and self.at(j + 1) != ">"

    def close_quote(self) -> None:
        quote, self.quote = self.quote, None
        if quote is None:
            return
        if len(self.stack) > quote.depth:
            raise self.unclosed(self.stack[-1])
        if self.u16 > quote.offset:
            kind = "expandable_blockquote" if quote.expandable else "blockquote"
            self.entities.append(
                {"type": kind, "offset": quote.offset, "length": self.u16 - quote.offset}
            )

    def is_end(self, kind: str, i: int) -> bool:
        char, nxt = self.src[i], self.at(i + 1)
        return {
            "bold": char == "*",
            "italic": char == "_" and nxt != "_",
            "underline": char == "_" and nxt == "_",
            "strikethrough": char == "~",
            "spoiler": char == "|" and nxt == "|",
            "code": char == "`",
            "pre": self.src.startswith("```", i),
            "text_link": char == "]",
            "custom_emoji": char == "]",
        }[kind]

    def reserved(self, char: str) -> ParseError:
        return ParseError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    def open(self, i: int) -> int:
        char, nxt = self.src[i], self.at(i + 1)
        item = _Open("", self.u16, byte_offset(self.src, i), len(self.out))
        step = 1
        if char == "_":
            item.kind, step = ("underline", 2) if nxt == "_" else ("italic", 1)
        elif char in "*~[":
            item.kind = {"*": "bold", "~": "strikethrough", "[": "text_link"}[char]
        elif char == "|" and nxt == "|":
            if self.quote is not None and self.quote_ends_at(i + 2):
                self.quote.expandable = True
                return i + 2
            item.kind, step = "spoiler", 2
        elif char == "!" and nxt == "[":
            item.kind, step = "custom_emoji", 2
        elif char == "`" and self.src.startswith("```", i):
            item.kind = "pre"
            return self.open_pre(item, i + 3)
        elif char == "`":
            item.kind = "code"
        else:
            raise self.reserved(char)
        self.stack.append(item)
        return i + step

    def open_pre(self, item: _Open, j: int) -> int:
        end = j
        while end < len(self.src) and not self.src[end].isspace() and self.src[end] != "`":
            end += 1
        if end != j and end < len(self.src) and self.src[end] != "`":
            item.language = self.src[j:end]
            j = end
        if self.at(j) in ("\n", "\r"):
            pair = self.at(j + 1) in ("\n", "\r") and self.at(j) != self.at(j + 1)
            j += 2 if pair else 1
        self.stack.append(item)
        return j

    def close(self, i: int) -> int:
        item = self.stack.pop()
        length = self.u16 - item.offset
        entity: Entity | None = {"type": item.kind, "offset": item.offset, "length": length}
        if item.kind in ("underline", "spoiler"):
            i += 2
        elif item.kind == "pre":
            i += 3
            if item.language:
                entity = {**(entity or {}), "language": item.language}
        elif item.kind in ("text_link", "custom_emoji"):
            url, i = self.link_target(i, item)
            if item.kind == "custom_emoji":
                entity = tg_special_entity(url, item.offset, length) if length else None
            else:
                entity = link_entity(url, item.offset, length)
        else:
            i += 1
        if entity is not None and length > 0:
            self.entities.append(entity)
        return i

    def link_target(self, i: int, item: _Open) -> tuple[str, int]:
        if self.at(i + 1) != "(":
            if item.kind == "custom_emoji":
                raise ParseError("The entity must contain a tg://emoji or tg://time URL")
            return "".join(self.out[item.begin :]), i + 1
        j = i + 2
        url_begin = j
        url: list[str] = []
        while j < len(self.src) and self.src[j] != ")":
            if self.src[j] == "\\" and 0 < ord(self.at(j + 1) or "\0") <= 126:
                url.append(self.src[j + 1])
                j += 2
                continue
            url.append(self.src[j])
            j += 1
        if j >= len(self.src):
            raise ParseError(
                f"Can't find end of a URL at byte offset {byte_offset(self.src, url_begin)}"
            )
        return "".join(url), j + 1


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 into plain text and entities, or raise ParseError."""
    return _MarkdownV2(text).run()


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown (``*bold* _italic_ `code` ```pre``` [text](url)``)."""
    out: list[str] = []
    entities: list[Entity] = []
    u16, i, size = 0, 0, len(text)
    while i < size:
        char = text[i]
        if char == "\\" and i + 1 < size and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            u16, i = u16 + 1, i + 2
            continue
        if char not in "_*`[":
            out.append(char)
            u16, i = u16 + units(char), i + 1
            continue
        begin, is_pre, language = i, text.startswith("```", i), ""
        end_char = "]" if char == "[" else char
        i += 3 if is_pre else 1
        if is_pre:
            end = i
            while end < size and not text[end].isspace() and text[end] != "`":
                end += 1
            if end != i and end < size and text[end] != "`":
                language, i = text[i:end], end
            if i < size and text[i] in "\n\r":
                i += 2 if i + 1 < size and text[i + 1] in "\n\r" and text[i] != text[i + 1] else 1
        start = u16
        while i < size and (text[i] != end_char or (is_pre and not text.startswith("```", i))):
            out.append(text[i])
            u16, i = u16 + units(text[i]), i + 1
        if i >= size:
            raise ParseError(
                f"Can't find end of the entity starting at byte offset {byte_offset(text, begin)}"
            )
        entity: Entity | None = None
        if u16 > start:
            kinds = {"_": "italic", "*": "bold", "`": "pre" if is_pre else "code"}
            if char == "[":
                url = text[begin + 1 : i]
                if i + 1 < size and text[i + 1] == "(":
                    close = text.find(")", i + 2)
                    url, i = (
                        text[i + 2 : close if close >= 0 else size],
                        (close if close >= 0 else size - 1),
                    )
                entity = link_entity(url, start, u16 - start)
            else:
                entity = {"type": kinds[char], "offset": start, "length": u16 - start}
                if is_pre and language:
                    entity["language"] = language
        if entity is not None:
            entities.append(entity)
        i += 3 if is_pre else 1
    return "".join(out), sort_entities(entities)


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into plain text and entities, or raise ParseError."""
    try:
        result, entities = HtmlParser(text).run()
    except ValueError as exc:
        raise ParseError(str(exc)) from exc
    return result, sort_entities(entities)


PARSERS = {
    "markdownv2": parse_markdown_v2,
    "html": parse_html,
    "markdown": parse_markdown,
}
