"""generate_image through the real OpenAI SDK against a loopback Images API."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import openai
import pytest
from aiohttp import web
from PIL import Image

from bot.tools.base import Tool, ToolError
from bot.tools.config import ImageToolConfig
from bot.tools.images import SENT, ImageGenerator

REFUSAL = "Your request was rejected as a result of our safety system."


def png(width: int = 64, height: int = 48, colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


class FakeContext:
    user_id: int | None = 7
    chat_id: int = 9

    def __init__(self, over_limit: bool = False) -> None:
        self.over_limit = over_limit
        self.photos: list[tuple[bytes, str]] = []
        self.events: list[str] = []

    async def send_photo(self, data: bytes, caption: str) -> None:
        self.photos.append((data, caption))

    @asynccontextmanager
    async def charge(self, action: str) -> AsyncIterator[None]:
        self.events.append(f"charge {action}")
        if self.over_limit:
            raise ToolError("the user's plan allows no more images today")
        try:
            yield
        except BaseException:
            self.events.append("released")
            raise
        self.events.append("kept")


class ImagesApi:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.image = png()
        self.answer = "b64"
        self.port = 0

    async def generations(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        if self.answer == "slow":
            await asyncio.sleep(3)
        if self.answer in ("400", "500"):
            error = {"message": REFUSAL, "type": "image_generation_user_error"}
            return web.json_response({"error": error}, status=int(self.answer))
        item = {"b64_json": base64.b64encode(self.image).decode()}
        if self.answer == "url":
            item = {"url": f"http://127.0.0.1:{self.port}/files/picture.png"}
        return web.json_response({"created": 1700000000, "data": [item]})

    async def file(self, request: web.Request) -> web.Response:
        return web.Response(body=self.image, content_type="image/png")


@pytest.fixture
async def api() -> AsyncIterator[ImagesApi]:
    images = ImagesApi()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/images/generations", images.generations)
    app.router.add_get("/files/picture.png", images.file)
    runner = web.AppRunner(app, shutdown_timeout=0.5, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    images.port = runner.addresses[0][1]
    yield images
    await runner.cleanup()


@asynccontextmanager
async def image_tool(api: ImagesApi, **config: Any) -> AsyncIterator[Tool]:
    client = openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{api.port}/v1", api_key="k", max_retries=0
    )
    try:
        yield ImageGenerator(client, ImageToolConfig(provider="p", **config)).tool(30)
    finally:
        await client.close()


async def generate(api: ImagesApi, ctx: FakeContext, **arguments: Any) -> str:
    async with image_tool(api, model="painter-1") as tool:
        return await tool.call(ctx, {"prompt": "a watercolour otter", **arguments})


async def test_generated_image_is_sent_as_a_photo(api: ImagesApi) -> None:
    ctx = FakeContext()

    assert await generate(api, ctx) == SENT
    assert ctx.photos == [(api.image, "")]
    assert ctx.events == ["charge generate_image", "kept"]
    [body] = api.requests
    assert body == {
        "model": "painter-1",
        "prompt": "a watercolour otter",
        "size": "1024x1024",
        "n": 1,
    }


async def test_size_is_chosen_from_three(api: ImagesApi) -> None:
    ctx = FakeContext()
    await generate(api, ctx, size="1536x1024")
    assert api.requests[0]["size"] == "1536x1024"

    with pytest.raises(ToolError, match="size: Input should be '1024x1024', '1024x1536'"):
        await generate(api, ctx, size="800x600")
    assert len(api.requests) == 1
    async with image_tool(api) as tool:
        size_schema = tool.spec.parameters["properties"]["size"]
    assert {"enum": ["1024x1024", "1024x1536", "1536x1024"], "type": "string"} in size_schema[
        "anyOf"
    ]


async def test_image_given_as_url_is_downloaded(api: ImagesApi) -> None:
    api.answer = "url"
    ctx = FakeContext()
    await generate(api, ctx)
    assert ctx.photos == [(api.image, "")]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("400", f"the image service refused the prompt: {REFUSAL}"),
        ("500", f"the image service failed (HTTP 500): {REFUSAL}"),
    ],
)
async def test_refused_prompt_releases_the_charge(
    api: ImagesApi, answer: str, message: str
) -> None:
    api.answer = answer
    ctx = FakeContext()
    with pytest.raises(ToolError) as caught:
        await generate(api, ctx)
    assert str(caught.value).startswith(message)
    assert ctx.events == ["charge generate_image", "released"]
    assert ctx.photos == []


async def test_over_the_plan_limit_no_image_is_requested(api: ImagesApi) -> None:
    ctx = FakeContext(over_limit=True)
    with pytest.raises(ToolError, match="no more images today"):
        await generate(api, ctx)
    assert api.requests == []


async def test_timeout_releases_the_charge(api: ImagesApi) -> None:
    api.answer = "slow"
    ctx = FakeContext()
    async with image_tool(api, timeout_seconds=0.3) as tool:
        with pytest.raises(ToolError, match="did not answer in time"):
            await tool.call(ctx, {"prompt": "an otter"})
    assert ctx.events == ["charge generate_image", "released"]


async def test_data_that_is_not_an_image_is_refused(api: ImagesApi) -> None:
    api.image = b"<html>not a picture</html>"
    ctx = FakeContext()
    with pytest.raises(ToolError, match="not an image"):
        await generate(api, ctx)
    assert ctx.events[-1] == "released"
    assert ctx.photos == []


@pytest.mark.parametrize(
    ("size", "expected"),
    [((4200, 200), (2560, 128)), ((200, 4200), (128, 2560)), ((9000, 1200), (2560, 341))],
)
async def test_images_telegram_would_refuse_are_reencoded(
    api: ImagesApi, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    api.image = png(*size)
    ctx = FakeContext()
    await generate(api, ctx)

    [(photo, _)] = ctx.photos
    with Image.open(io.BytesIO(photo)) as sent:
        assert sent.format == "JPEG"
        assert sent.size == expected
        assert max(sent.size) / min(sent.size) <= 20
        centre = (sent.size[0] // 2, sent.size[1] // 2)
        assert sent.getpixel(centre) == pytest.approx((0, 128, 128), abs=3)
