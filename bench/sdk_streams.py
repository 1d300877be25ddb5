"""The two ways of reading a recorded stream compared by ``python -m bench.streams``.

``sdk_events`` is how the providers read streams before they parsed them themselves (commit
58c13b1): the SDK's ``AsyncStream`` makes a pydantic object of every chunk, and the provider
reads its attributes (the code below is theirs, kept here as the baseline). ``lean_events`` is
how they read them now.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2
import openai
from anthropic.types import RawMessageStreamEvent
from openai.types.chat import ChatCompletionChunk

from bot.llm.providers.anthropic_stream import AnthropicStreamParser
from bot.llm.providers.openai_stream import OpenAIStreamParser
from bot.llm.providers.streaming import StreamParser, read_events
from bot.llm.types import Finish, FinishReason, StreamEvent, TextDelta, ToolCallPart, Usage

_OPENAI = openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
_ANTHROPIC = anthropic.AsyncAnthropic(base_url="http://127.0.0.1:9", api_key="k")
_OPENAI_FINISH = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
}
_ANTHROPIC_FINISH = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
}


class _Reads(httpx2.AsyncByteStream):
    def __init__(self, reads: list[bytes]) -> None:
        self._reads = reads

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for read in self._reads:
            yield read


def _response(body: list[bytes]) -> httpx2.Response:
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/stream")
    headers = {"content-type": "text/event-stream"}
    return httpx2.Response(200, headers=headers, stream=_Reads(body), request=request)


async def floor_reads(body: list[bytes]) -> AsyncGenerator[bytes, None]:
    """The response read and nothing done with it: what both paths cost at least."""
    async for _ in _response(body).aiter_bytes():
        pass
    for _ in ():
        yield b""


async def lean_events(protocol: str, body: list[bytes]) -> AsyncGenerator[StreamEvent, None]:
    parser: StreamParser = OpenAIStreamParser() if protocol == "openai" else AnthropicStreamParser()
    async for event in read_events(_response(body).aiter_bytes(), parser):
        yield event


async def sdk_events(protocol: str, body: list[bytes]) -> AsyncGenerator[StreamEvent, None]:
    events = _sdk_openai(body) if protocol == "openai" else _sdk_anthropic(body)
    async for event in events:
        yield event


async def _sdk_openai(body: list[bytes]) -> AsyncGenerator[StreamEvent, None]:
    stream = openai.AsyncStream(
        cast_to=ChatCompletionChunk, response=_response(body), client=_OPENAI
    )
    calls = _ToolCallAssembler()
    finish: Finish | None = None
    async for chunk in stream:
        for event in _events(chunk, calls):
            if isinstance(event, Finish):
                finish = event
            else:
                yield event
    for call in calls.completed():
        yield call
    if finish is not None:
        yield finish


async def _sdk_anthropic(body: list[bytes]) -> AsyncGenerator[StreamEvent, None]:
    stream: anthropic.AsyncStream[Any] = anthropic.AsyncStream(
        cast_to=RawMessageStreamEvent,  # type: ignore[arg-type]  # a union, as the SDK passes it
        response=_response(body),
        client=_ANTHROPIC,
    )
    input_tokens = 0
    calls: dict[int, tuple[str, str, list[str]]] = {}
    async for event in stream:
        if event.type == "message_start":
            input_tokens = event.message.usage.input_tokens or 0
        elif event.type == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                calls[event.index] = (block.id, block.name, [])
        elif event.type == "content_block_delta":
            if event.delta.type == "text_delta":
                yield TextDelta(event.delta.text)
            elif event.delta.type == "input_json_delta" and event.index in calls:
                calls[event.index][2].append(event.delta.partial_json)
        elif event.type == "content_block_stop" and event.index in calls:
            call_id, name, pieces = calls.pop(event.index)
            yield ToolCallPart(call_id, name, "".join(pieces) or "{}")
        elif event.type == "message_delta":
            yield Usage(input_tokens, event.usage.output_tokens or 0)
            reason = event.delta.stop_reason
            yield Finish(_ANTHROPIC_FINISH.get(reason or "", FinishReason.OTHER))


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class _ToolCallAssembler:
    def __init__(self) -> None:
        self._calls: dict[tuple[int, int], _PartialCall] = {}
        self._current: dict[int, tuple[int, int]] = {}

    def add(self, delta: Any) -> None:
        index = delta.index if isinstance(getattr(delta, "index", None), int) else 0
        key = self._current.get(index)
        new_id = getattr(delta, "id", None)
        if key is None or (new_id and self._calls[key].id and new_id != self._calls[key].id):
            key = (index, key[1] + 1 if key else 0)
            self._current[index] = key
            self._calls[key] = _PartialCall()
        call = self._calls[key]
        if new_id and not call.id:
            call.id = new_id
        function = getattr(delta, "function", None)
        if function is None:
            return
        name = function.name or ""
        if name and name != call.name:
            call.name = name if not call.name or name.startswith(call.name) else call.name + name
        if function.arguments:
            call.arguments.append(function.arguments)

    def completed(self) -> list[ToolCallPart]:
        return [
            ToolCallPart(id=call.id, name=call.name, arguments="".join(call.arguments))
            for _, call in sorted(self._calls.items())
            if call.name
        ]


def _events(chunk: Any, calls: _ToolCallAssembler) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for choice in chunk.choices or ():
        text = getattr(choice.delta, "content", None)
        if text:
            events.append(TextDelta(text))
        for delta in getattr(choice.delta, "tool_calls", None) or ():
            calls.add(delta)
        if choice.finish_reason:
            events.append(Finish(_OPENAI_FINISH.get(choice.finish_reason, FinishReason.OTHER)))
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        events.append(Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0))
    return events
