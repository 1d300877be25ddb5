"""What the fake web has been told to serve: scripted search results and added pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_RESULT_DEFAULTS: dict[str, Any] = {
    "content": "",
    "engine": "sandbox",
    "publishedDate": None,
    "category": "general",
}


class FakeWebError(ValueError):
    """A scripted search result or page is malformed."""


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str


@dataclass(frozen=True)
class SearchRule:
    match: str | None
    results: tuple[Mapping[str, Any], ...]

    def matches(self, query: str) -> bool:
        return self.match is None or self.match.casefold() in query.casefold()


def check_result(raw: object) -> dict[str, Any]:
    """One SearXNG result: ``url`` and ``title`` strings are required, the rest defaulted."""
    if not isinstance(raw, Mapping):
        raise FakeWebError("each search result must be an object")
    for key in ("url", "title"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise FakeWebError(f"each search result needs a non-empty string {key!r}")
    content = raw.get("content", "")
    if not isinstance(content, str):
        raise FakeWebError("'content' must be a string")
    result = {**_RESULT_DEFAULTS, **raw}
    result.setdefault("engines", [result["engine"]])
    return result


def parse_rule(match: object, results: object) -> SearchRule:
    if match is not None and not isinstance(match, str):
        raise FakeWebError("'match' must be a string or null")
    if not isinstance(results, list):
        raise FakeWebError("'results' must be a list of result objects")
    return SearchRule(match=match, results=tuple(check_result(r) for r in results))


def parse_page(slug: object, html: object, content_type: object = "text/html") -> Page:
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise FakeWebError("'slug' must be letters, digits, '.', '_' or '-' (at most 200)")
    if not isinstance(html, str | bytes):
        raise FakeWebError("'html' must be a string")
    if not isinstance(content_type, str) or "/" not in content_type:
        raise FakeWebError("'content_type' must be a MIME type such as 'text/html'")
    if content_type.startswith("text/") and "charset" not in content_type:
        content_type += "; charset=utf-8"
    body = html.encode() if isinstance(html, str) else html
    return Page(body=body, content_type=content_type)


class SearchScript:
    """Rules tried in the order they were added; re-scripting a ``match`` replaces its rule."""

    def __init__(self) -> None:
        self._rules: list[SearchRule] = []

    def add(self, rule: SearchRule) -> None:
        for index, existing in enumerate(self._rules):
            if existing.match == rule.match:
                self._rules[index] = rule
                return
        self._rules.append(rule)

    def find(self, query: str) -> SearchRule | None:
        return next((r for r in self._rules if r.matches(query)), None)

    def clear(self) -> None:
        self._rules.clear()
