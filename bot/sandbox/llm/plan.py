"""What the sandbox model answers: default reply, token counts, chunking, reply plans."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from bot.sandbox.llm.script import Knobs, ReplyEntry, ToolCall

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 85
"""Fixed input-token cost of an image (or other binary attachment) block."""
QUOTE_LIMIT = 200
TOOL_FRAGMENT_CHARS = 8
"""Tool-call arguments are streamed in pieces of this many characters (or ``chunk_chars``)."""

Finish = Literal["stop", "length", "tool_calls"]
_WORDS = re.compile(r"^\s+|\S+\s*")


def default_reply(model: str, last_user_text: str) -> str:
    """The unscripted answer: labelled as the sandbox and quoting the user."""
    return f'This is the sandbox model "{model}". You wrote: {last_user_text[:QUOTE_LIMIT]}'


def tokens_for_chars(chars: int) -> int:
    """Deterministic token estimate: one token per four characters, rounded up."""
    return math.ceil(chars / CHARS_PER_TOKEN)


def split_text(text: str, chunk_chars: int | None) -> tuple[str, ...]:
    """Streaming pieces: words with their trailing whitespace, or fixed-size slices."""
    if chunk_chars:
        return tuple(text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars))
    return tuple(_WORDS.findall(text))


def split_fragments(text: str, chunk_chars: int | None) -> tuple[str, ...]:
    """Pieces of tool-call argument JSON, never empty."""
    size = chunk_chars or TOOL_FRAGMENT_CHARS
    return tuple(text[i : i + size] for i in range(0, len(text), size)) or ("",)


class ProtocolError(Exception):
    """A request the real API would reject; rendered in the dialect's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ParsedRequest:
    """The protocol-independent essentials of one generation request."""

    model: str
    stream: bool
    last_user_text: str
    input_tokens: int
    max_tokens: int | None
    include_usage: bool = False


@dataclass(frozen=True)
class Plan:
    """A fully decided reply, ready to be rendered by a dialect."""

    model: str
    chunks: tuple[str, ...]
    tool_calls: tuple[ToolCall, ...]
    finish: Finish
    input_tokens: int
    output_tokens: int
    fragment_chars: int | None = None
    repeat_name: bool = False

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def _cut(chunks: tuple[str, ...], budget: int) -> tuple[str, ...]:
    kept: list[str] = []
    for chunk in chunks:
        if budget <= 0:
            break
        kept.append(chunk[:budget])
        budget -= len(chunk)
    return tuple(kept)


def _tool_chars(calls: tuple[ToolCall, ...]) -> int:
    return sum(len(c.name) + len(c.arguments) for c in calls)


def build_plan(entry: ReplyEntry | None, request: ParsedRequest, knobs: Knobs) -> Plan:
    """Apply chunking, the max-tokens cut and token accounting to a reply."""
    if entry is None:
        entry = ReplyEntry(text=default_reply(request.model, request.last_user_text))
    chunks = entry.chunks if entry.chunks is not None else split_text(entry.text, knobs.chunk_chars)
    calls = entry.tool_calls
    finish: Finish = "tool_calls" if calls else "stop"
    limit = request.max_tokens
    if limit is not None and tokens_for_chars(len(entry.text)) > limit:
        chunks, calls, finish = _cut(chunks, limit * CHARS_PER_TOKEN), (), "length"
    elif limit is not None and tokens_for_chars(len(entry.text) + _tool_chars(calls)) > limit:
        calls, finish = (), "length"  # ran out of tokens while writing the tool calls
    output = tokens_for_chars(sum(map(len, chunks)) + _tool_chars(calls))
    return Plan(
        model=request.model,
        chunks=tuple(c for c in chunks if c),
        tool_calls=calls,
        finish=finish,
        input_tokens=entry.usage.get("input_tokens", request.input_tokens),
        output_tokens=entry.usage.get("output_tokens", output),
        fragment_chars=knobs.chunk_chars,
        repeat_name=entry.repeat_name_in_chunks,
    )


@dataclass(frozen=True)
class SSE:
    """One server-sent event; ``delta`` marks a content delta (paced, counted by faults)."""

    data: str
    event: str | None = None
    delta: bool = False

    def encode(self) -> bytes:
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {self.data}\n\n".encode()


@dataclass(frozen=True)
class StreamScript:
    """``head`` goes out with the headers; ``body`` after the time to first token."""

    head: tuple[SSE, ...]
    body: tuple[SSE, ...]
