"""Both providers read real streams on loopback: the scripted LLM server for well-formed
answers and its faults, the raw SSE server for servers' quirks and mid-stream errors.

The expected events are what the providers produced when the SDKs parsed the streams (text
deltas as they come; OpenAI's calls and finish after the usage chunk; Anthropic's calls at
their block's end, usage and finish from message_delta)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.llm.base import ProviderClient
from bot.llm.providers.anthropic import AnthropicClient
from bot.llm.providers.openai_compat import OpenAICompatibleClient
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import (
    ChatRequest,
    Finish,
    FinishReason,
    LLMError,
    LLMErrorKind,
    ResponseSchema,
    StreamEvent,
    TextDelta,
    ToolCallPart,
    ToolSpec,
    Turn,
    Usage,
)
from bot.sandbox.llm import ScriptedLLM
from tests.unit.raw_sse import (
    RawSSEServer,
    anthropic_event,
    anthropic_start,
    chunk,
    sse,
    text_block,
    usage_chunk,
)

CAPS = ModelCapabilities(False, True, True, False, 8000, 500)
SEARCH = ToolSpec("web_search", "Search the web.", {"type": "object", "properties": {}})
REQUEST = ChatRequest((Turn.text("user", "hi"),), tools=(SEARCH,))
USAGE = {"input_tokens": 11, "output_tokens": 7}
CALLS = [
    {"id": "call_a", "name": "web_search", "arguments": {"query": "otters"}},
    {"id": "call_b", "name": "fetch_url", "arguments": {"url": "https://example.org"}},
]
CALL_A = ToolCallPart("call_a", "web_search", '{"query": "otters"}')
CALL_B = ToolCallPart("call_b", "fetch_url", '{"url": "https://example.org"}')
HELLO = [TextDelta("Hello "), TextDelta("there, "), TextDelta("world.")]


def spec(remote: str = "m") -> ModelSpec:
    return ModelSpec("m", "M", "p", remote, CAPS)


@pytest.fixture
async def llm() -> AsyncIterator[ScriptedLLM]:
    server = ScriptedLLM()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def raw() -> AsyncIterator[RawSSEServer]:
    server = RawSSEServer()
    await server.start()
    yield server
    await server.stop()


def openai_client(base_url: str, read_timeout: float = 5) -> OpenAICompatibleClient:
    return OpenAICompatibleClient(
        base_url=f"{base_url}/v1", api_key="k", connect_timeout=2, read_timeout=read_timeout
    )


def anthropic_client(base_url: str, read_timeout: float = 5) -> AnthropicClient:
    return AnthropicClient(
        base_url=base_url, api_key="k", connect_timeout=2, read_timeout=read_timeout
    )


async def run(
    client: ProviderClient, request: ChatRequest = REQUEST, remote: str = "m"
) -> tuple[list[StreamEvent], LLMError | None]:
    """The events streamed, and the error that ended the stream (None: it ended well)."""
    events: list[StreamEvent] = []
    try:
        async for event in client.stream(spec(remote), request):
            events.append(event)
    except LLMError as exc:
        return events, exc
    finally:
        await client.close()
    return events, None


# --- OpenAI-compatible servers --------------------------------------------------------------


async def test_openai_text_then_usage_then_finish(llm: ScriptedLLM) -> None:
    llm.script("Hello there, world.", usage=USAGE)
    events, error = await run(openai_client(llm.base_url))
    assert error is None
    assert events == [*HELLO, Usage(11, 7), Finish(FinishReason.STOP)]
    [request] = llm.requests
    assert request["body"]["stream_options"] == {"include_usage": True}


async def test_openai_length_finish(llm: ScriptedLLM) -> None:
    llm.script("one two three four five six seven eight nine ten")
    request = ChatRequest((Turn.text("user", "hi"),), max_output_tokens=2)
    events, error = await run(openai_client(llm.base_url), request)
    assert error is None
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "one two "
    assert events[-1] == Finish(FinishReason.LENGTH)


async def test_openai_parallel_calls_sent_id_and_name_once(llm: ScriptedLLM) -> None:
    llm.script("Let me look.", tool_calls=CALLS, usage=USAGE)
    events, error = await run(openai_client(llm.base_url))
    assert error is None
    texts = [TextDelta("Let "), TextDelta("me "), TextDelta("look.")]
    assert events == [*texts, Usage(11, 7), CALL_A, CALL_B, Finish(FinishReason.TOOL_CALLS)]


async def test_openai_parallel_calls_repeating_id_and_name_in_every_chunk(
    llm: ScriptedLLM,
) -> None:
    llm.script(tool_calls=CALLS, repeat_name_in_chunks=True, usage=USAGE)
    events, error = await run(openai_client(llm.base_url))
    assert error is None
    assert events == [Usage(11, 7), CALL_A, CALL_B, Finish(FinishReason.TOOL_CALLS)]


async def test_openai_parallel_calls_whole_at_index_zero_like_ollama(raw: RawSSEServer) -> None:
    def whole(call_id: str, name: str, arguments: str) -> dict[str, Any]:
        function = {"name": name, "arguments": arguments}
        return {"tool_calls": [{"id": call_id, "index": 0, "function": function}]}

    raw.queue(
        chunk({"role": "assistant", "content": ""}),
        chunk(whole("call_a", "web_search", CALL_A.arguments)),
        chunk(whole("call_b", "fetch_url", CALL_B.arguments)),
        chunk({}, "tool_calls"),
        usage_chunk(5, 9),
        sse("[DONE]"),
    )
    events, error = await run(openai_client(raw.base_url))
    assert error is None
    assert events == [Usage(5, 9), CALL_A, CALL_B, Finish(FinishReason.TOOL_CALLS)]


async def test_openai_call_without_id_or_index_gets_a_generated_id(raw: RawSSEServer) -> None:
    raw.queue(
        chunk({"tool_calls": [{"function": {"name": "web_search", "arguments": "{}"}}]}),
        chunk({}, "tool_calls"),
        sse("[DONE]"),
    )
    events, error = await run(openai_client(raw.base_url))
    assert error is None
    [call, finish] = events
    assert isinstance(call, ToolCallPart)
    assert (call.name, call.arguments) == ("web_search", "{}")
    assert call.id.startswith("call_")
    assert len(call.id) > len("call_")
    assert finish == Finish(FinishReason.TOOL_CALLS)


async def test_openai_wire_quirks_crlf_comments_split_utf8_multiline_data(
    raw: RawSSEServer,
) -> None:
    text = chunk({"content": "Привет, мир"}).replace(b"\n", b"\r\n")
    cut = text.index("мир".encode()) + 1  # inside the first letter's two bytes
    multiline = b'data: {"choices": [{"index": 0,\ndata:  "delta": {"content": "!"}}]}\n\n'
    raw.queue(
        b": keep-alive\r\n\r\n",
        text[:cut],
        text[cut:],
        b"\r",  # a line end split between its CR and LF
        b"\n" + chunk({}, "stop").replace(b"\n", b"\r"),
        multiline,
        b"id: 7\nretry: 100\n" + usage_chunk(2, 3),
        sse("[DONE]"),
        chunk({"content": "after the end"}),
    )
    events, error = await run(openai_client(raw.base_url))
    assert error is None
    texts = [TextDelta("Привет, мир"), TextDelta("!")]
    assert events == [*texts, Usage(2, 3), Finish(FinishReason.STOP)]


async def test_openai_connection_is_reused_after_done(raw: RawSSEServer) -> None:
    for _ in range(2):
        raw.queue(chunk({"content": "Hi"}), chunk({}, "stop"), sse("[DONE]"))
    client = openai_client(raw.base_url)
    for _ in range(2):
        events = [event async for event in client.stream(spec(), REQUEST)]
        assert events == [TextDelta("Hi"), Finish(FinishReason.STOP)]
    await client.close()
    first, second = raw.peers
    assert first == second  # the body was read to its end: the connection went to the pool


@pytest.mark.parametrize("one_read", [False, True])
async def test_openai_error_object_mid_stream_is_rejected(
    raw: RawSSEServer, one_read: bool
) -> None:
    error_body = {"error": {"message": "the model crashed", "type": "server_error", "code": 500}}
    pieces = (chunk({"content": "Hi"}), sse(json.dumps(error_body)), chunk({"content": "late"}))
    raw.queue(*((b"".join(pieces),) if one_read else pieces))
    events, error = await run(openai_client(raw.base_url))
    assert events == [TextDelta("Hi")]
    assert error is not None
    assert error.kind is LLMErrorKind.REJECTED
    assert "the model crashed" in error.detail


async def test_openai_disconnect_mid_stream(llm: ScriptedLLM) -> None:
    llm.add_fault("disconnect", after_chunks=2)
    events, error = await run(openai_client(llm.base_url))
    assert events == [TextDelta("This "), TextDelta("is ")]
    assert error is not None
    assert error.kind is LLMErrorKind.CONNECTION


async def test_openai_truncated_body_is_a_connection_error(raw: RawSSEServer) -> None:
    raw.queue(chunk({"content": "Hi"}), b'data: {"choi', cut=True)
    events, error = await run(openai_client(raw.base_url))
    assert events == [TextDelta("Hi")]
    assert error is not None
    assert error.kind is LLMErrorKind.CONNECTION


async def test_openai_hang_mid_stream_times_out(llm: ScriptedLLM) -> None:
    llm.add_fault("hang", after_chunks=1)
    events, error = await run(openai_client(llm.base_url, read_timeout=0.3))
    assert events == [TextDelta("This ")]
    assert error is not None
    assert error.kind is LLMErrorKind.TIMEOUT


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, LLMErrorKind.RATE_LIMITED), (401, LLMErrorKind.AUTH), (503, LLMErrorKind.UNAVAILABLE)],
)
async def test_openai_error_statuses_map_as_before(
    llm: ScriptedLLM, status: int, kind: LLMErrorKind
) -> None:
    llm.add_fault("status", status=status, retry_after=7)
    events, error = await run(openai_client(llm.base_url))
    assert events == []
    assert error is not None
    assert (error.kind, error.status, error.retry_after) == (kind, status, 7.0)
    assert "Sandbox fault" in error.detail


# --- Anthropic ------------------------------------------------------------------------------


async def test_anthropic_text_then_usage_then_finish(llm: ScriptedLLM) -> None:
    llm.script("Hello there, world.", usage=USAGE)
    events, error = await run(anthropic_client(llm.base_url))
    assert error is None
    assert events == [*HELLO, Usage(11, 7), Finish(FinishReason.STOP)]


async def test_anthropic_length_finish(llm: ScriptedLLM) -> None:
    llm.script("one two three four five six seven eight nine ten")
    request = ChatRequest((Turn.text("user", "hi"),), max_output_tokens=2)
    events, error = await run(anthropic_client(llm.base_url), request)
    assert error is None
    assert events[-1] == Finish(FinishReason.LENGTH)


async def test_anthropic_parallel_tool_use_blocks(llm: ScriptedLLM) -> None:
    llm.script("Let me look.", tool_calls=CALLS, usage=USAGE)
    events, error = await run(anthropic_client(llm.base_url))
    assert error is None
    texts = [TextDelta("Let "), TextDelta("me "), TextDelta("look.")]
    assert events == [*texts, CALL_A, CALL_B, Usage(11, 7), Finish(FinishReason.TOOL_CALLS)]


async def test_anthropic_wire_quirks_crlf_ping_unknown_events_empty_input(
    raw: RawSSEServer,
) -> None:
    tool = {"type": "tool_use", "id": "toolu_1", "name": "current_time", "input": {}}
    stop = {"stop_reason": "tool_use", "stop_sequence": None}
    crlf = "\r\n"
    raw.queue(
        anthropic_start(4, crlf),
        anthropic_event("ping", crlf),
        b": comment\r\n\r\n",
        *text_block(0, "Tim", "e?", eol=crlf),
        anthropic_event("content_block_stop", crlf, index=0),
        anthropic_event("content_block_start", crlf, index=1, content_block=tool),
        anthropic_event("content_block_stop", crlf, index=1),
        anthropic_event("some_future_event", crlf, index=1),
        anthropic_event("message_delta", crlf, delta=stop, usage={"output_tokens": 6}),
        anthropic_event("message_stop", crlf),
    )
    events, error = await run(anthropic_client(raw.base_url))
    assert error is None
    assert events == [
        TextDelta("Tim"),
        TextDelta("e?"),
        ToolCallPart("toolu_1", "current_time", "{}"),
        Usage(4, 6),
        Finish(FinishReason.TOOL_CALLS),
    ]


@pytest.mark.parametrize("one_read", [False, True])
async def test_anthropic_error_event_mid_stream_is_rejected(
    raw: RawSSEServer, one_read: bool
) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    failure = sse(json.dumps(overloaded), event="error")
    pieces = (anthropic_start(), *text_block(0, "Hi"), failure, *text_block(0, "late"))
    raw.queue(*((b"".join(pieces),) if one_read else pieces))
    events, error = await run(anthropic_client(raw.base_url))
    assert events == [TextDelta("Hi")]
    assert error is not None
    assert error.kind is LLMErrorKind.REJECTED
    assert "overloaded_error: Overloaded" in error.detail


async def test_anthropic_disconnect_mid_stream(llm: ScriptedLLM) -> None:
    llm.add_fault("disconnect", after_chunks=2)
    events, error = await run(anthropic_client(llm.base_url))
    assert events == [TextDelta("This "), TextDelta("is ")]
    assert error is not None
    assert error.kind is LLMErrorKind.CONNECTION


async def test_anthropic_hang_mid_stream_times_out(llm: ScriptedLLM) -> None:
    llm.add_fault("hang", after_chunks=1)
    events, error = await run(anthropic_client(llm.base_url, read_timeout=0.3))
    assert events == [TextDelta("This ")]
    assert error is not None
    assert error.kind is LLMErrorKind.TIMEOUT


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, LLMErrorKind.RATE_LIMITED), (529, LLMErrorKind.UNAVAILABLE)],
)
async def test_anthropic_error_statuses_map_as_before(
    llm: ScriptedLLM, status: int, kind: LLMErrorKind
) -> None:
    llm.add_fault("status", status=status, retry_after=7)
    events, error = await run(anthropic_client(llm.base_url))
    assert events == []
    assert error is not None
    assert (error.kind, error.status, error.retry_after) == (kind, status, 7.0)


async def test_anthropic_request_defines_tools_and_streams(llm: ScriptedLLM) -> None:
    llm.script("ok")
    request = ChatRequest((Turn.text("user", "hi"),), tools=(SEARCH,), tool_choice="none")
    _, error = await run(anthropic_client(llm.base_url), request)
    assert error is None
    [sent] = llm.requests
    assert sent["body"]["stream"] is True
    assert sent["body"]["tools"] == [
        {"name": "web_search", "description": "Search the web.", "input_schema": SEARCH.parameters}
    ]
    assert sent["body"]["tool_choice"] == {"type": "none"}


@pytest.mark.parametrize("make", [openai_client, anthropic_client])
async def test_the_body_sent_is_the_request_built(llm: ScriptedLLM, make: Any) -> None:
    """The heavy fields go to the SDK as extra_body: the server still gets them all, as built,
    and nothing else in their place."""
    llm.script("ok")
    request = ChatRequest(
        (
            Turn.text("user", "first question"),
            Turn.text("assistant", "first answer"),
            Turn.text("user", "second question"),
        ),
        system="Be brief.",
        tools=(SEARCH,),
        response_schema=ResponseSchema("verdict", {"type": "object", "properties": {}}),
    )
    client = make(llm.base_url)
    built = client._params(spec(), request)
    _, error = await run(client, request)
    assert error is None
    [sent] = llm.requests
    assert sent["body"] == json.loads(json.dumps(built))


# --- Stop: closing the stream early releases the connection ---------------------------------


@pytest.mark.parametrize("make", [openai_client, anthropic_client])
async def test_closing_the_stream_early_closes_the_connection(llm: ScriptedLLM, make: Any) -> None:
    llm.set_knobs(token_delay_ms=20)
    llm.script(" ".join(["word"] * 200))
    client: ProviderClient = make(llm.base_url)
    stream = client.stream(spec(), REQUEST)
    assert await anext(stream) == TextDelta("word ")
    await stream.aclose()
    for _ in range(100):  # the server sees the client go at its next write
        if llm.requests[0]["outcome"] != "pending":
            break
        await asyncio.sleep(0.02)
    assert llm.requests[0]["outcome"] == "client_closed"
    llm.set_knobs(token_delay_ms=0)
    llm.script("again")
    events = [e async for e in client.stream(spec(), REQUEST)]
    assert events[0] == TextDelta("again")
    await client.close()
