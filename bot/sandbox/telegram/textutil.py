"""Small text helpers shared by the parsers and validators: UTF-16 lengths and URL checks."""

from __future__ import annotations

import re
from typing import Any

WHITESPACE = " \t\n\r\x0b\x0c"

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", re.DOTALL)
_PORT_RE = re.compile(r"^\d{1,5}(?:[/?#].*)?$", re.DOTALL)
_HOST_RE = re.compile(r"^(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]+)$", re.I)
_IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_USER_LINK_RE = re.compile(r"^tg:(?://)?user/?\?(?:.*&)?id=(\d+)", re.I)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def units(char: str) -> int:
    """UTF-16 code units of one character."""
    return 2 if ord(char) > 0xFFFF else 1


def byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of ``text[index]`` (Telegram reports parse errors in bytes)."""
    return len(text[:index].encode("utf-8", "surrogatepass"))


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The substring covered by an entity (offsets in UTF-16 code units)."""
    data = text.encode("utf-16-le", "surrogatepass")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le", "replace")


def _normalize_http(scheme: str, rest: str) -> str | None:
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    host_port = authority.rsplit("@", 1)[-1]
    host, _, port = host_port.partition(":")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return None
    if not (_HOST_RE.match(host) or _IPV4_RE.match(host)):
        return None
    if not tail.startswith("/"):
        tail = "/" + tail
    return f"{scheme}://{authority}{tail}"


def normalize_url(url: str) -> str | None:
    """Telegram's view of a link: the normalised URL, or None when it would be rejected.

    Accepted: http(s)/ftp URLs with a real host, ``tg:`` links, ``mailto:`` addresses and
    bare domains (``example.com/x`` becomes ``http://example.com/x``).
    """
    url = url.strip()
    if not url or any(c.isspace() for c in url):
        return None
    match = _SCHEME_RE.match(url)
    if match is not None and not _PORT_RE.match(match.group(2)):
        scheme, rest = match.group(1).lower(), match.group(2)
        if scheme in ("http", "https", "ftp"):
            return _normalize_http(scheme, rest[2:]) if rest.startswith("//") else None
        if scheme in ("tg", "ton"):
            return url if rest.lstrip("/") else None
        if scheme == "mailto":
            return url if "@" in rest else None
        return None
    return _normalize_http("http", url)


def link_entity(url: str, offset: int, length: int) -> dict[str, Any] | None:
    """A text_link (or text_mention for ``tg://user?id=``) entity, or None for a bad URL."""
    user = _USER_LINK_RE.match(url)
    if user is not None:
        return {
            "type": "text_mention",
            "offset": offset,
            "length": length,
            "user": {"id": int(user.group(1)), "is_bot": False, "first_name": "User"},
        }
    normalized = normalize_url(url)
    if normalized is None:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": normalized}
