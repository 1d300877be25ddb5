"""What the OpenAI and Anthropic wire dialects have in common."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.sandbox.llm.plan import (
    IMAGE_TOKENS,
    ParsedRequest,
    Plan,
    ProtocolError,
    StreamScript,
    tokens_for_chars,
)

_BINARY_BLOCKS = frozenset({"image", "image_url", "input_audio", "file", "document"})


@dataclass
class Tally:
    """Characters of text and number of binary blocks seen in a prompt."""

    chars: int = 0
    images: int = 0

    def add_text(self, text: object) -> None:
        if isinstance(text, str):
            self.chars += len(text)

    def add_content(self, content: object) -> None:
        """A message content: a string or a list of typed blocks (either protocol)."""
        if isinstance(content, str):
            self.chars += len(content)
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, Mapping):
                    self._add_block(block)

    def _add_block(self, block: Mapping[str, Any]) -> None:
        kind = block.get("type")
        source = block.get("source")
        if kind == "text":
            self.add_text(block.get("text"))
        elif kind == "thinking":
            self.add_text(block.get("thinking"))
        elif kind == "tool_use":
            self.add_text(block.get("name"))
            self.chars += len(json.dumps(block.get("input", {}), ensure_ascii=False))
        elif kind == "tool_result":
            self.add_content(block.get("content"))
        elif kind == "document" and isinstance(source, Mapping) and source.get("type") == "text":
            self.add_text(source.get("data"))
        elif kind in _BINARY_BLOCKS:
            self.images += 1

    @property
    def tokens(self) -> int:
        return tokens_for_chars(self.chars) + IMAGE_TOKENS * self.images


def block_text(content: object) -> str:
    """The plain text of a content (string, or the ``text`` blocks of a list)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [
        b["text"]
        for b in content
        if isinstance(b, Mapping) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]
    return "\n".join(texts)


def last_user_text(messages: list[Mapping[str, Any]]) -> str:
    """Text of the last user message that has any text (tool results are not user text)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            text = block_text(message.get("content"))
            if text:
                return text
    return ""


def bearer_token(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def require_messages(body: object) -> tuple[Mapping[str, Any], str, list[Mapping[str, Any]]]:
    """Check the fields both protocols require; return (body, model, messages)."""
    if not isinstance(body, Mapping):
        raise ProtocolError(400, "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ProtocolError(400, "'model' is a required string property.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ProtocolError(400, "'messages' must be a non-empty array.")
    if not all(isinstance(m, Mapping) for m in messages):
        raise ProtocolError(400, "Every item of 'messages' must be an object.")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise ProtocolError(400, "'stream' must be a boolean.")
    return body, model, messages


def positive_int(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProtocolError(400, f"'{key}' must be a positive integer.")
    return value


class Dialect(ABC):
    """One wire protocol: request parsing, error shapes, response rendering."""

    name: str
    request_id_header: str

    @abstractmethod
    def api_key(self, headers: Mapping[str, str]) -> str | None: ...

    @abstractmethod
    def parse(self, body: object) -> ParsedRequest: ...

    @abstractmethod
    def error_body(self, status: int, message: str) -> dict[str, Any]: ...

    @abstractmethod
    def completion(self, plan: Plan, seq: int, created: int) -> dict[str, Any]: ...

    @abstractmethod
    def stream(
        self, plan: Plan, request: ParsedRequest, seq: int, created: int
    ) -> StreamScript: ...
