"""A Chat Completions stream (OpenAI, vLLM, OpenRouter, Ollama, llama.cpp) into events.

Each `data:` payload is parsed once, with orjson, into plain dicts. Text deltas come as they
arrive; a usage chunk as it arrives; the tool calls, whole, and the finish reason once the
stream has ended (calls may still be arriving after the chunk with the finish reason).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
}


class OpenAIStreamParser:
    """SSE bytes of one Chat Completions stream in, events out (see `StreamParser`)."""

    __slots__ = ("_calls", "_done", "_finish", "_sse")

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._calls = ToolCallAssembler()
        self._finish: Finish | None = None
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def feed(self, chunk: bytes) -> Iterator[StreamEvent]:
        for _, data in self._sse.feed(chunk):
            if data.startswith(b"[DONE]"):
                self._done = True
                return
            if data:  # an empty event (a keep-alive of some proxies) says nothing
                yield from self._events(orjson.loads(data))

    def finish(self) -> list[StreamEvent]:
        events: list[StreamEvent] = list(self._calls.completed())
        if self._finish is not None:
            events.append(self._finish)
        return events

    def _events(self, chunk: Any) -> list[StreamEvent]:
        if not isinstance(chunk, dict):
            return []
        if chunk.get("error"):
            raise _stream_error(chunk["error"])
        events: list[StreamEvent] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                events.append(TextDelta(text))
            for call in delta.get("tool_calls") or ():
                self._calls.add(call)
            reason = choice.get("finish_reason")
            if reason:  # held until the end: the calls come first
                self._finish = Finish(_FINISH.get(reason, FinishReason.OTHER))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
            events.append(Usage(prompt or 0, completion or 0))
        return events


def _stream_error(error: object) -> LLMError:
    """An `error` object sent in a data line: the server failed after answering 200."""
    message = error.get("message") if isinstance(error, Mapping) else None
    if not isinstance(message, str) or not message:
        message = "An error occurred during streaming"
    return LLMError(LLMErrorKind.REJECTED, f"error in the stream: {message}"[:300])


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ToolCallAssembler:
    """Streamed tool-call fragments (`tool_calls` entries of deltas), keyed by their index,
    into whole calls.

    OpenAI sends the id and name once, then argument pieces; some servers (vLLM with some
    parsers, llama.cpp) repeat the id and the full name in every chunk: a repeated name is
    not appended again. Others (Ollama) send every parallel call whole at index 0: a new id
    at an index starts a new call.
    """

    def __init__(self) -> None:
        self._calls: dict[tuple[int, int], _PartialCall] = {}  # (index, nth call there)
        self._current: dict[int, tuple[int, int]] = {}

    def add(self, delta: Mapping[str, Any]) -> None:
        index = delta.get("index")
        index = index if isinstance(index, int) else 0
        key = self._current.get(index)
        new_id = delta.get("id")
        if key is None or (new_id and self._calls[key].id and new_id != self._calls[key].id):
            key = (index, key[1] + 1 if key else 0)
            self._current[index] = key
            self._calls[key] = _PartialCall()
        call = self._calls[key]
        if new_id and not call.id:
            call.id = new_id
        function = delta.get("function")
        if not function:
            return
        name = function.get("name") or ""
        if name and name != call.name:
            call.name = name if not call.name or name.startswith(call.name) else call.name + name
        if arguments := function.get("arguments"):
            call.arguments.append(arguments)

    def completed(self) -> list[ToolCallPart]:
        return [
            ToolCallPart(
                id=call.id or f"call_{uuid.uuid4().hex[:24]}",
                name=call.name,
                arguments="".join(call.arguments),
            )
            for _, call in sorted(self._calls.items())
            if call.name
        ]
