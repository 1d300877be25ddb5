"""The scripted LLM server's OpenAI Images endpoint, exercised through the real OpenAI SDK."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import AsyncIterator

import aiohttp
import openai
import pytest
from PIL import Image

from bot.sandbox.llm import LLMControl, ScriptedLLM


@pytest.fixture
async def llm() -> AsyncIterator[ScriptedLLM]:
    server = ScriptedLLM(api_key="secret")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def oai(llm: ScriptedLLM) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=f"{llm.base_url}/v1", api_key="secret", max_retries=0)
    yield client
    await client.close()


def decode(b64: str | None) -> Image.Image:
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64)))


async def test_generates_a_png_of_the_requested_size(oai: openai.AsyncOpenAI) -> None:
    before = int(time.time())
    result = await oai.images.generate(model="gpt-image-1", prompt="a red fox", size="1536x1024")
    assert before <= result.created <= time.time()
    assert result.data is not None
    assert len(result.data) == 1
    image = decode(result.data[0].b64_json)
    assert (image.format, image.size) == ("PNG", (1536, 1024))
    assert result.data[0].revised_prompt == "a red fox"
    assert result.usage is not None
    assert result.usage.input_tokens > 0


async def test_auto_size_several_images_and_distinct_prompts(oai: openai.AsyncOpenAI) -> None:
    result = await oai.images.generate(model="gpt-image-1", prompt="a cat", n=2)
    assert result.data is not None
    assert len(result.data) == 2
    first, second = (decode(d.b64_json) for d in result.data)
    assert first.size == second.size == (1024, 1024)
    other = await oai.images.generate(model="gpt-image-1", prompt="a dog", size="256x256")
    assert other.data is not None
    dog = decode(other.data[0].b64_json).convert("RGB")
    assert dog.size == (256, 256)
    assert dog.getpixel((0, 0)) != first.convert("RGB").getpixel((0, 0))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"size": "999x999"}, "size"),
        ({"prompt": ""}, "prompt"),
        ({"n": 5}, "'n'"),
        ({"response_format": "gif"}, "response_format"),
    ],
)
async def test_invalid_requests_are_rejected(
    oai: openai.AsyncOpenAI, kwargs: dict[str, object], fragment: str
) -> None:
    params: dict[str, object] = {"model": "gpt-image-1", "prompt": "a boat", **kwargs}
    with pytest.raises(openai.BadRequestError) as caught:
        await oai.images.generate(**params)  # type: ignore[call-overload]
    assert fragment in caught.value.message


async def test_missing_prompt_and_non_object_body(llm: ScriptedLLM) -> None:
    url = f"{llm.base_url}/v1/images/generations"
    headers = {"Authorization": "Bearer secret"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(url, json={"model": "gpt-image-1"}) as response:
            assert response.status == 400
            body = await response.json()
        assert body["error"]["type"] == "invalid_request_error"
        assert "prompt" in body["error"]["message"]
        async with session.post(url, json=["a list"]) as response:
            assert response.status == 400


async def test_missing_or_wrong_key_is_unauthorized(llm: ScriptedLLM) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{llm.base_url}/v1", api_key="wrong", max_retries=0
    ) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.images.generate(model="gpt-image-1", prompt="a fox")
    async with aiohttp.ClientSession() as session:
        url = f"{llm.base_url}/v1/images/generations"
        async with session.post(url, json={"prompt": "a fox"}) as response:
            assert response.status == 401
    assert [r["status"] for r in llm.requests] == [401, 401]


async def test_url_mode_is_downloadable(llm: ScriptedLLM, oai: openai.AsyncOpenAI) -> None:
    result = await oai.images.generate(
        model="dall-e-3", prompt="a lighthouse", size="1024x1792", response_format="url"
    )
    assert result.data is not None
    url = result.data[0].url
    assert url is not None
    assert url.startswith(f"{llm.base_url}/sandbox-images/")
    assert result.data[0].b64_json is None
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        image = Image.open(io.BytesIO(await response.read()))
    assert image.size == (1024, 1792)
    llm.reset()
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 404


async def test_request_is_logged_with_the_prompt(llm: ScriptedLLM, oai: openai.AsyncOpenAI) -> None:
    await oai.images.generate(model="gpt-image-1", prompt="a snowy owl", size="512x512")
    (record,) = llm.requests
    assert (record["protocol"], record["path"], record["model"]) == (
        "openai",
        "/v1/images/generations",
        "gpt-image-1",
    )
    assert record["body"]["prompt"] == "a snowy owl"
    assert record["body"]["size"] == "512x512"
    assert (record["status"], record["outcome"], record["had_api_key"]) == (200, "ok", True)
    assert "gpt-image-1" in llm.known_models()


async def test_status_fault_and_delay_knob(llm: ScriptedLLM, oai: openai.AsyncOpenAI) -> None:
    async with LLMControl(llm.base_url) as control:
        await control.add_fault("status", status=429, model="gpt-image-1", retry_after=1)
        await control.add_fault("status", status=500, protocol="anthropic")
        with pytest.raises(openai.RateLimitError):
            await oai.images.generate(model="gpt-image-1", prompt="a fox")
        await control.set_knobs(ttft_ms=200, model="gpt-image-1")
    started = time.monotonic()
    result = await oai.images.generate(model="gpt-image-1", prompt="a fox", size="256x256")
    assert time.monotonic() - started >= 0.2
    assert result.data is not None
    assert llm.pending()["faults"] == 1  # the anthropic-only fault is left alone
    assert [r["status"] for r in llm.requests] == [429, 200]


async def test_disconnect_fault_drops_the_request(
    llm: ScriptedLLM, oai: openai.AsyncOpenAI
) -> None:
    llm.add_fault("disconnect")
    with pytest.raises(openai.APIConnectionError):
        await oai.images.generate(model="gpt-image-1", prompt="a fox")
    assert llm.requests[0]["outcome"] == "disconnect"
