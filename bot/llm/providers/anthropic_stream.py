"""An Anthropic Messages stream into events.

Each event's `data:` is parsed once, with orjson, into plain dicts and dispatched on its
`type` (as the SDK does): text deltas as they arrive; a tool call when its `tool_use` block
stops (its `input_json_delta` pieces joined); usage and the finish reason at `message_delta`
(input tokens from `message_start`). `ping` is skipped; an `error` event (e.g. overloaded)
ends the stream with an `LLMError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from bot.llm.sse import SSEDecoder
from bot.llm.types import (
    Finish,
    FinishReason,
    LLMError,
    LLMErrorKind,
    StreamEvent,
    TextDelta,
    ToolCallPart,
    Usage,
)

_FINISH = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
}


class AnthropicStreamParser:
    """SSE bytes of one Messages stream in, events out (see `StreamParser`)."""

    __slots__ = ("_calls", "_input_tokens", "_sse")

    done = False
    """The stream has no end marker: it ends with the body."""

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._input_tokens = 0
        self._calls: dict[int, tuple[str, str, list[str]]] = {}  # block index: id, name, JSON

    def feed(self, chunk: bytes) -> Iterator[StreamEvent]:
        for name, data in self._sse.feed(chunk):
            if name is None or name == "ping":
                continue
            if name == "error":
                raise _stream_error(data)
            if data:
                yield from self._events(orjson.loads(data))

    def finish(self) -> list[StreamEvent]:
        return []

    def _events(self, event: Any) -> list[StreamEvent]:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta.get("type") == "text_delta":
                return [TextDelta(delta["text"])]
            if delta.get("type") == "input_json_delta" and event["index"] in self._calls:
                self._calls[event["index"]][2].append(delta["partial_json"])
        elif kind == "message_start":
            self._input_tokens = event["message"]["usage"].get("input_tokens") or 0
        elif kind == "content_block_start":
            block = event["content_block"]
            if block.get("type") == "tool_use":
                self._calls[event["index"]] = (block["id"], block["name"], [])
        elif kind == "content_block_stop" and event.get("index") in self._calls:
            call_id, name, pieces = self._calls.pop(event["index"])
            return [ToolCallPart(call_id, name, "".join(pieces) or "{}")]
        elif kind == "message_delta":
            usage = Usage(self._input_tokens, event["usage"].get("output_tokens") or 0)
            reason = event["delta"].get("stop_reason")
            return [usage, Finish(_FINISH.get(reason or "", FinishReason.OTHER))]
        return []


def _stream_error(data: bytes) -> LLMError:
    """The `error` event: the API failed after answering 200 (overloaded, for one)."""
    try:
        error = orjson.loads(data).get("error") or {}
        detail = f"{error.get('type', 'error')}: {error.get('message', '')}"
    except (ValueError, AttributeError):
        detail = data.decode("utf-8", "replace") or "an error event without a body"
    return LLMError(LLMErrorKind.REJECTED, f"error in the stream: {detail}"[:300])
