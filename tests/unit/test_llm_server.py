"""The scripted LLM server, exercised through the real OpenAI and Anthropic SDKs."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import aiohttp
import anthropic
import httpx2
import openai
import pytest

from bot.sandbox.llm import LLMControl, ScriptedLLM, ScriptError, default_reply

USER: Any = [{"role": "user", "content": "Hello there, sandbox!"}]


async def drain(stream: AsyncIterable[Any], sink: list[Any]) -> None:
    """Collect a stream's items into ``sink`` (kept even when the stream fails midway)."""
    async for item in stream:
        sink.append(item)


@pytest.fixture
async def llm() -> AsyncIterator[ScriptedLLM]:
    server = ScriptedLLM()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def oai(llm: ScriptedLLM) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=f"{llm.base_url}/v1", api_key="k", max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def claude(llm: ScriptedLLM) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(base_url=llm.base_url, api_key="k", max_retries=0)
    yield client
    await client.close()


async def oai_stream(client: openai.AsyncOpenAI, **kwargs: Any) -> list[Any]:
    stream = await client.chat.completions.create(
        model=kwargs.pop("model", "gpt-x"),
        messages=kwargs.pop("messages", USER),
        stream=True,
        **kwargs,
    )
    return [chunk async for chunk in stream]


async def test_openai_stream_text_and_usage(oai: openai.AsyncOpenAI) -> None:
    chunks = await oai_stream(oai, stream_options={"include_usage": True})
    expected = default_reply("gpt-x", "Hello there, sandbox!")
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected
    assert [c.choices[0].delta.content for c in chunks[2:4]] == ["is ", "the "]
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert usage.prompt_tokens == math.ceil(len("Hello there, sandbox!") / 4)
    assert usage.completion_tokens == math.ceil(len(expected) / 4)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_openai_non_streaming_counts_images(oai: openai.AsyncOpenAI) -> None:
    content: Any = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    reply = await oai.chat.completions.create(
        model="gpt-x",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": content}],
    )
    assert reply.choices[0].message.content == default_reply("gpt-x", "what is this?")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == math.ceil(len("be briefwhat is this?") / 4) + 85


async def test_anthropic_stream_text_and_usage(claude: anthropic.AsyncAnthropic) -> None:
    system: Any = [{"type": "text", "text": "You are terse."}]
    messages: Any = [
        {"role": "user", "content": [{"type": "text", "text": "Hi Claude"}]},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Tell me more"},
    ]
    async with claude.messages.stream(
        model="claude-x", max_tokens=500, system=system, messages=messages
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    expected = default_reply("claude-x", "Tell me more")
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert final.content[0].type == "text"
    assert final.content[0].text == expected
    assert final.stop_reason == "end_turn"
    prompt = "You are terse." + "Hi Claude" + "Hello." + "Tell me more"
    assert final.usage.input_tokens == math.ceil(len(prompt) / 4)
    assert final.usage.output_tokens == math.ceil(len(expected) / 4)


async def test_anthropic_requires_max_tokens_and_key(llm: ScriptedLLM) -> None:
    body = {"model": "claude-x", "messages": USER}
    async with aiohttp.ClientSession() as http:
        url = f"{llm.base_url}/v1/messages"
        async with http.post(url, json=body, headers={"x-api-key": "k"}) as resp:
            assert resp.status == 400
            error = await resp.json()
        async with http.post(url, json={**body, "max_tokens": 9}) as resp:
            assert resp.status == 401
            unauthorized = await resp.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in error["error"]["message"]
    assert unauthorized["error"]["type"] == "authentication_error"
    assert [r["had_api_key"] for r in llm.requests] == [True, False]
    assert [r["status"] for r in llm.requests] == [400, 401]


async def test_configured_api_key_rejects_wrong_key() -> None:
    server = ScriptedLLM(api_key="secret")
    url = await server.start()
    wrong = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="nope", max_retries=0)
    right = anthropic.AsyncAnthropic(base_url=url, api_key="secret", max_retries=0)
    try:
        with pytest.raises(openai.AuthenticationError) as info:
            await wrong.chat.completions.create(model="m", messages=USER)
        assert info.value.code == "invalid_api_key"
        ok = await right.messages.create(model="m", max_tokens=50, messages=USER)
        assert ok.content[0].type == "text"
    finally:
        await wrong.close()
        await right.close()
        await server.stop()


async def test_script_match_model_and_times(
    llm: ScriptedLLM, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    llm.script("Weather is sunny.", match="WEATHER", times=2)
    llm.script("Only for claude-b.", model="claude-b")
    llm.script(json={"answer": 42}, match="structured")
    llm.script(replies=[{"text": "Fallback forever.", "times": 0}])

    async def ask(model: str, text: str) -> str:
        msg = await claude.messages.create(
            model=model, max_tokens=100, messages=[{"role": "user", "content": text}]
        )
        block = msg.content[0]
        assert block.type == "text"
        return block.text

    assert await ask("claude-a", "how is the weather?") == "Weather is sunny."
    assert await ask("claude-b", "anything") == "Only for claude-b."
    assert await ask("claude-b", "the weather again") == "Weather is sunny."
    assert await ask("claude-b", "the weather, third time") == "Fallback forever."
    assert await ask("claude-a", "x") == "Fallback forever."
    assert json.loads(await ask("claude-a", "structured please")) == {"answer": 42}
    reply = await oai.chat.completions.create(model="gpt-x", messages=USER)
    assert reply.choices[0].message.content == "Fallback forever."
    assert llm.pending() == {"replies": 1, "faults": 0}


async def test_status_fault_then_success(
    llm: ScriptedLLM, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    llm.add_fault("status", status=500, protocol="openai")
    llm.add_fault("status", status=503, model="claude-x")
    with pytest.raises(openai.InternalServerError) as oai_error:
        await oai.chat.completions.create(model="gpt-x", messages=USER)
    assert oai_error.value.status_code == 500
    with pytest.raises(anthropic.InternalServerError) as claude_error:
        await claude.messages.create(model="claude-x", max_tokens=50, messages=USER)
    assert claude_error.value.status_code == 503
    assert (await oai_stream(oai))[-1].choices[0].finish_reason == "stop"
    msg = await claude.messages.create(model="claude-x", max_tokens=50, messages=USER)
    assert msg.stop_reason == "end_turn"
    assert [r["status"] for r in llm.requests] == [500, 503, 200, 200]


async def test_rate_limit_with_retry_after(
    llm: ScriptedLLM, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    llm.add_fault("status", status=429, retry_after=7, times=2)
    with pytest.raises(openai.RateLimitError) as oai_error:
        await oai.chat.completions.create(model="gpt-x", messages=USER)
    assert oai_error.value.response.headers["retry-after"] == "7"
    assert oai_error.value.code == "rate_limit_exceeded"
    with pytest.raises(anthropic.RateLimitError) as claude_error:
        await claude.messages.create(model="claude-x", max_tokens=50, messages=USER, stream=True)
    assert claude_error.value.response.headers["retry-after"] == "7"
    assert claude_error.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Sandbox fault: HTTP 429."},
    }


async def test_disconnect_mid_stream(
    llm: ScriptedLLM, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    llm.add_fault("disconnect", after_chunks=2, times=3)
    chunks: list[Any] = []
    stream = await oai.chat.completions.create(model="gpt-x", messages=USER, stream=True)
    with pytest.raises(openai.APIConnectionError):
        await drain(stream, chunks)
    assert "".join(c.choices[0].delta.content for c in chunks) == "This is "
    events: list[Any] = []
    raw = await claude.messages.create(model="claude-x", max_tokens=100, messages=USER, stream=True)
    # The Anthropic SDK lets the transport error through unwrapped while iterating.
    with pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)):
        await drain(raw, events)
    deltas = [e.delta.text for e in events if e.type == "content_block_delta"]
    assert deltas == ["This ", "is "]
    assert "message_stop" not in [e.type for e in events]
    with pytest.raises(anthropic.APIConnectionError):  # non-streaming: no answer at all
        await claude.messages.create(model="claude-x", max_tokens=100, messages=USER)
    assert [r["outcome"] for r in llm.requests] == ["disconnect"] * 3
    assert [r["status"] for r in llm.requests] == [200, 200, 0]


async def test_hang_times_out_while_other_requests_are_answered(
    llm: ScriptedLLM, oai: openai.AsyncOpenAI
) -> None:
    llm.add_fault("hang", model="stuck")
    hung = asyncio.create_task(
        oai.chat.completions.create(model="stuck", messages=USER, timeout=0.5)
    )
    await asyncio.sleep(0.1)
    reply = await oai.chat.completions.create(model="gpt-x", messages=USER)
    assert reply.choices[0].message.content == default_reply("gpt-x", USER[0]["content"])
    assert not hung.done()
    with pytest.raises(openai.APITimeoutError):
        await hung
    for _ in range(40):  # the server notices the client has gone
        if llm.requests[0]["outcome"] != "pending":
            break
        await asyncio.sleep(0.05)
    assert llm.requests[0]["outcome"] == "client_closed"


async def test_stop_ends_hung_requests_and_streams() -> None:
    server = ScriptedLLM()
    url = await server.start()
    client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0)
    server.add_fault("hang", model="a")
    server.add_fault("hang", model="b", after_chunks=1)
    hung = asyncio.create_task(client.chat.completions.create(model="a", messages=USER))
    while not server.requests:  # under load the task may not have sent its request yet
        await asyncio.sleep(0.01)
    stream = await client.chat.completions.create(model="b", messages=USER, stream=True)
    first = [await anext(stream), await anext(stream)]
    started = time.monotonic()
    await server.stop()
    assert time.monotonic() - started < 3
    with pytest.raises(openai.APIConnectionError):
        await hung
    with pytest.raises(openai.APIConnectionError):
        await drain(stream, [])
    assert first[1].choices[0].delta.content == "This "
    assert [r["outcome"] for r in server.requests] == ["server_stopped", "server_stopped"]
    await client.close()


async def test_openai_tool_calls_are_assembled(llm: ScriptedLLM, oai: openai.AsyncOpenAI) -> None:
    llm.script("Let me check.", tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
    async with oai.chat.completions.stream(model="gpt-x", messages=USER) as stream:
        final = await stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    calls = choice.message.tool_calls or []
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city": "Oslo"}')
    ]
    assert calls[0].id.startswith("call_")

    call = {"id": "c1", "name": "f", "arguments": '{"city": "Os'}  # malformed JSON on purpose
    llm.script(tool_calls=[call], repeat_name_in_chunks=True)
    chunks = await oai_stream(oai)
    fragments = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert len(fragments) > 1
    assert all(f.function.name == "f" and f.id == "c1" for f in fragments)
    assert "".join(f.function.arguments for f in fragments) == '{"city": "Os'


async def test_anthropic_tool_use_is_assembled(
    llm: ScriptedLLM, claude: anthropic.AsyncAnthropic
) -> None:
    args = {"city": "Oslo", "days": [1, 2, 3]}
    llm.script(tool_calls=[{"name": "get_weather", "arguments": args}], usage={"output_tokens": 42})
    async with claude.messages.stream(model="claude-x", max_tokens=300, messages=USER) as stream:
        fragments = [e.partial_json async for e in stream if e.type == "input_json"]
        final = await stream.get_final_message()
    assert len(fragments) > 1
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens == 42
    [block] = final.content
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("get_weather", args)
    assert block.id.startswith("toolu_")


async def test_max_tokens_cuts_the_reply(
    llm: ScriptedLLM, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    text = "one two three four five six seven eight nine ten"
    llm.script(text, times=3)
    reply = await oai.chat.completions.create(model="gpt-x", messages=USER, max_tokens=3)
    assert reply.choices[0].finish_reason == "length"
    assert reply.choices[0].message.content == text[:12]
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 3
    chunks = await oai_stream(oai, max_completion_tokens=2)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text[:8]
    assert chunks[-1].choices[0].finish_reason == "length"
    async with claude.messages.stream(model="claude-x", max_tokens=4, messages=USER) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "max_tokens"
    assert final.content[0].type == "text"
    assert final.content[0].text == text[:16]


async def test_request_log_records_model_and_body(
    llm: ScriptedLLM, oai: openai.AsyncOpenAI, claude: anthropic.AsyncAnthropic
) -> None:
    before = time.time()
    await oai.chat.completions.create(model="gpt-x", messages=USER, temperature=0.5)
    await claude.messages.create(model="claude-x", max_tokens=64, messages=USER, stream=True)
    first, second = llm.requests
    assert (first["protocol"], first["path"], first["model"]) == (
        "openai",
        "/v1/chat/completions",
        "gpt-x",
    )
    assert first["body"]["temperature"] == 0.5
    assert first["body"]["messages"] == USER
    assert (second["protocol"], second["path"], second["model"]) == (
        "anthropic",
        "/v1/messages",
        "claude-x",
    )
    assert second["body"]["max_tokens"] == 64
    assert second["body"]["stream"] is True
    assert all(r["had_api_key"] and r["status"] == 200 for r in llm.requests)
    assert before <= first["received_at"] <= second["received_at"] <= time.time()
    assert not any("headers" in r or "x-api-key" in str(r) for r in llm.requests)


async def test_http_control_api(llm: ScriptedLLM, oai: openai.AsyncOpenAI) -> None:
    async with LLMControl(llm.base_url) as control:
        await control.script(chunks=["Hel", "lo ", "world"])
        await control.set_knobs(ttft_ms=100, token_delay_ms=50, model="gpt-x")
        started = time.monotonic()
        chunks = await oai_stream(oai)
        assert time.monotonic() - started >= 0.1 + 2 * 0.05
        assert [c.choices[0].delta.content for c in chunks[1:4]] == ["Hel", "lo ", "world"]
        await control.set_knobs(chunk_chars=4, ttft_ms=0, model="gpt-x")
        await control.add_fault("status", status=404)
        with pytest.raises(openai.NotFoundError):
            await oai.chat.completions.create(model="gpt-x", messages=USER)
        await control.script("abcdefghij")
        pieces = [c.choices[0].delta.content for c in await oai_stream(oai)][1:4]
        assert pieces == ["abcd", "efgh", "ij"]
        assert [r["status"] for r in await control.requests()] == [200, 404, 200]
        with pytest.raises(ScriptError, match="unknown reply field"):
            await control.script("x", tetx="typo")
        models = await oai.models.list()
        assert [m.id for m in models.data] == ["gpt-x"]
        await control.clear_requests()
        assert await control.requests() == []
        await control.add_fault("hang")
        await control.reset()
        assert await control.pending() == {"replies": 0, "faults": 0}
