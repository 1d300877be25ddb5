"""Telegram's HTML ``parse_mode`` (TDLib rules and wording). Raises ValueError on bad markup."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .textutil import byte_offset, link_entity, units

Entity = dict[str, Any]

TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_SPACE = " \t\r\n\x0b\x00"
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#[xX]([0-9a-fA-F]+)|#(\d+)|([A-Za-z]+));?")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9.\-]*")


def decode_entity(text: str, i: int) -> tuple[str, int] | None:
    """Decode the HTML entity at ``text[i] == '&'``: (character, next index) or None."""
    match = _ENTITY_RE.match(text, i)
    if match is None:
        return None
    hex_code, dec_code, name = match.groups()
    if name is not None:
        char = _NAMED.get(name)
        return (char, match.end()) if char is not None else None
    code = int(hex_code, 16) if hex_code is not None else int(dec_code)
    if code == 0 or code > 0x10FFFF:
        return None
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    return chr(code), match.end()


@dataclass
class _Tag:
    name: str
    offset: int
    begin: int
    attrs: dict[str, str]


@dataclass
class HtmlParser:
    src: str
    out: list[str] = field(default_factory=list)
    u16: int = 0
    entities: list[Entity] = field(default_factory=list)
    stack: list[_Tag] = field(default_factory=list)

    def at(self, i: int) -> str:
        return self.src[i] if 0 <= i < len(self.src) else ""

    def emit(self, char: str) -> None:
        self.out.append(char)
        self.u16 += units(char)

    def run(self) -> tuple[str, list[Entity]]:
        i = 0
        while i < len(self.src):
            char = self.src[i]
            if char == "&":
                decoded = decode_entity(self.src, i)
                if decoded is not None:
                    self.emit(decoded[0])
                    i = decoded[1]
                    continue
            if char != "<":
                self.emit(char)
                i += 1
                continue
            i = self.end_tag(i) if self.at(i + 1) == "/" else self.start_tag(i)
        if self.stack:
            name = self.stack[-1].name
            raise ValueError(f'Can\'t find end tag corresponding to start tag "{name}"')
        return "".join(self.out), self.cleaned()

    def skip_space(self, i: int) -> int:
        while i < len(self.src) and self.src[i] in _SPACE:
            i += 1
        return i

    def start_tag(self, begin: int) -> int:
        offset = byte_offset(self.src, begin)
        i = begin + 1
        while i < len(self.src) and self.src[i] not in _SPACE and self.src[i] != ">":
            i += 1
        if i >= len(self.src):
            raise ValueError(f"Unclosed start tag at byte offset {offset}")
        name = self.src[begin + 1 : i].lower()
        if name not in TAGS:
            raise ValueError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs: dict[str, str] = {}
        while True:
            i = self.skip_space(i)
            if i >= len(self.src):
                raise ValueError(f"Unclosed start tag at byte offset {offset}")
            if self.src[i] == ">":
                break
            i = self.attribute(i, name, offset, attrs)
        self.check_attrs(name, attrs, offset)
        self.stack.append(_Tag(name, self.u16, len(self.out), attrs))
        return i + 1

    def attribute(self, i: int, tag: str, offset: int, attrs: dict[str, str]) -> int:
        start = i
        while i < len(self.src) and self.src[i] not in _SPACE and self.src[i] not in "=>":
            i += 1
        if i >= len(self.src):
            raise ValueError(f"Unclosed start tag at byte offset {offset}")
        attr = self.src[start:i].lower()
        if not attr:
            raise ValueError(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
        i = self.skip_space(i)
        if self.at(i) != "=":
            attrs[attr] = ""
            return i
        i = self.skip_space(i + 1)
        if i >= len(self.src):
            raise ValueError(f'Unclosed start tag "{tag}" at byte offset {offset}')
        quote = self.src[i]
        if quote not in "'\"":
            token = _TOKEN_CHARS.match(self.src, i)
            end = token.end() if token is not None else i
            if end >= len(self.src) or (self.src[end] not in _SPACE and self.src[end] != ">"):
                raise ValueError(
                    f"Unexpected end of name token at byte offset {byte_offset(self.src, i)}"
                )
            attrs[attr] = self.src[i:end].lower()
            return end
        value: list[str] = []
        i += 1
        while i < len(self.src) and self.src[i] != quote:
            decoded = decode_entity(self.src, i) if self.src[i] == "&" else None
            if decoded is not None:
                value.append(decoded[0])
                i = decoded[1]
            else:
                value.append(self.src[i])
                i += 1
        if i >= len(self.src):
            raise ValueError(f"Unclosed start tag at byte offset {offset}")
        attrs[attr] = "".join(value)
        return i + 1

    def check_attrs(self, name: str, attrs: dict[str, str], offset: int) -> None:
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise ValueError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise ValueError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
            )
        if name == "tg-time" and not attrs.get("unix", "").isdigit():
            raise ValueError(f'Tag "tg-time" must have attribute "unix" at byte offset {offset}')

    def end_tag(self, begin: int) -> int:
        offset = byte_offset(self.src, begin)
        if not self.stack:
            raise ValueError(f"Unexpected end tag at byte offset {offset}")
        i = begin + 2
        while i < len(self.src) and self.src[i] not in _SPACE and self.src[i] != ">":
            i += 1
        end_name = self.src[begin + 2 : i].lower()
        i = self.skip_space(i)
        if self.at(i) != ">":
            raise ValueError(f"Unclosed end tag at byte offset {offset}")
        tag = self.stack.pop()
        if end_name and end_name != tag.name:
            raise ValueError(
                f"Unmatched end tag at byte offset {offset}, "
                f'expected "</{tag.name}>", found "</{end_name}>"'
            )
        self.finish(tag)
        return i + 1

    def finish(self, tag: _Tag) -> None:
        length = self.u16 - tag.offset
        if length <= 0:
            return
        entity = self.make_entity(tag, length)
        if entity is None:
            return
        last = self.entities[-1] if self.entities else None
        same = last is not None and (last["offset"], last["length"]) == (tag.offset, length)
        if same and last is not None and {last["type"], entity["type"]} == {"pre", "code"}:
            language = last.pop("_language", None) or entity.pop("_language", None)
            if language:
                last.update(type="pre", language=language)
                return
        self.entities.append(entity)

    def make_entity(self, tag: _Tag, length: int) -> Entity | None:
        kind = TAGS[tag.name]
        entity: Entity = {"type": kind, "offset": tag.offset, "length": length}
        if kind == "text_link":
            url = tag.attrs.get("href") or "".join(self.out[tag.begin :])
            return link_entity(url, tag.offset, length)
        if kind == "code":
            language = tag.attrs.get("class", "").removeprefix("language-")
            if tag.attrs.get("class", "").startswith("language-") and language:
                entity["_language"] = language
        elif kind == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif kind == "custom_emoji":
            entity["custom_emoji_id"] = tag.attrs["emoji-id"]
        elif kind == "date_time":
            entity["unix_time"] = int(tag.attrs["unix"])
            if tag.attrs.get("format"):
                entity["date_time_format"] = tag.attrs["format"]
        return entity

    def cleaned(self) -> list[Entity]:
        return [{k: v for k, v in e.items() if not k.startswith("_")} for e in self.entities]
