"""The generate_image tool: an OpenAI-compatible Images API, the picture sent as a photo."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
from typing import Annotated, Any, Literal

import aiohttp
import openai
from PIL import Image, UnidentifiedImageError
from pydantic import Field

from bot.tools.base import Tool, ToolContext, ToolError, define_tool
from bot.tools.config import ImageToolConfig

logger = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Telegram's limits for photos: 10 MB, width + height <= 10000, aspect ratio <= 20.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES = 10_000
MAX_ASPECT_RATIO = 20
RESIZED_SIDE = 2560
SENT = (
    "The image was generated and has been sent to the user as a photo. Reply with a short "
    "caption; do not describe it as attached text or a link."
)

Size = Literal["1024x1024", "1024x1536", "1536x1024"]


def photo_bytes(data: bytes) -> bytes:
    """`data` if it is an image Telegram accepts as a photo, else re-encoded as a JPEG that
    fits RESIZED_SIDE; ToolError if it is no image. Blocking: run in a thread."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
            ratio = max(width, height) / max(1, min(width, height))
            if (
                len(data) <= MAX_PHOTO_BYTES
                and width + height <= MAX_PHOTO_SIDES
                and ratio <= MAX_ASPECT_RATIO
            ):
                return data
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise ToolError("the image service returned something that is not an image") from None
    flat = Image.new("RGB", picture.size, "white")
    flat.paste(picture, mask=picture.getchannel("A"))
    flat.thumbnail((RESIZED_SIDE, RESIZED_SIDE))
    flat = _within_aspect_ratio(flat)
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _within_aspect_ratio(image: Image.Image) -> Image.Image:
    """The image centred on a white canvas whose aspect ratio Telegram accepts."""
    width, height = image.size
    wide, tall = width > height * MAX_ASPECT_RATIO, height > width * MAX_ASPECT_RATIO
    if not (wide or tall):
        return image
    canvas_size = (
        (width, -(-width // MAX_ASPECT_RATIO)) if wide else (-(-height // MAX_ASPECT_RATIO), height)
    )
    canvas = Image.new("RGB", canvas_size, "white")
    canvas.paste(image, ((canvas_size[0] - width) // 2, (canvas_size[1] - height) // 2))
    return canvas


def _api_message(exc: openai.APIStatusError) -> str:
    body: Any = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message


def _openai_error(exc: openai.OpenAIError) -> ToolError:
    if isinstance(exc, openai.APITimeoutError):
        return ToolError("the image service did not answer in time; try again later")
    if isinstance(exc, openai.APIConnectionError):
        return ToolError("the image service could not be reached; try again later")
    if isinstance(exc, openai.APIStatusError):
        status, message = exc.status_code, _api_message(exc)
        if status == 400:
            return ToolError(
                f"the image service refused the prompt: {message}. Change the prompt, or tell "
                "the user why it was refused."
            )
        if status == 429:
            return ToolError("the image service is busy or out of quota (HTTP 429); try later")
        if status in (401, 403):
            return ToolError(f"image generation is unavailable (HTTP {status}): {message}")
        return ToolError(f"the image service failed (HTTP {status}): {message}")
    return ToolError(f"the image service failed: {exc}")


class ImageGenerator:
    def __init__(self, client: openai.AsyncOpenAI, config: ImageToolConfig) -> None:
        self._client = client
        self._config = config

    async def generate_image(
        self,
        ctx: ToolContext,
        prompt: Annotated[
            str,
            Field(
                description="A detailed prompt in English: subject, setting, style, "
                "composition, colours and lighting.",
                min_length=1,
                max_length=4000,
            ),
        ],
        size: Annotated[
            Size | None,
            Field(description="Square, portrait or landscape; omit for the default."),
        ] = None,
    ) -> str:
        """Draw a picture from a text prompt and send it to the user as a photo. Use it when
        the user asks for an image, drawing or illustration; each call costs the user's quota,
        so call it once per requested picture."""
        async with ctx.charge("generate_image"):
            data = await self._generate(prompt, size or self._config.size)
            photo = await asyncio.to_thread(photo_bytes, data)
            await ctx.send_photo(photo, caption="")
        return SENT

    async def _generate(self, prompt: str, size: str) -> bytes:
        try:
            response = await self._client.images.generate(
                model=self._config.model,
                prompt=prompt,
                size=size,
                n=1,
                timeout=self._config.timeout_seconds,
            )
        except openai.OpenAIError as exc:
            logger.warning("image generation failed: %r", exc)
            raise _openai_error(exc) from None
        items = response.data or []
        image = items[0] if items else None
        if image is not None and image.b64_json:
            try:
                return base64.b64decode(image.b64_json, validate=True)
            except (binascii.Error, ValueError):
                raise ToolError("the image service returned invalid base64 data") from None
        if image is not None and image.url:
            return await self._download(image.url)
        raise ToolError("the image service returned no image; try again")

    async def _download(self, url: str) -> bytes:
        seconds = self._config.timeout_seconds
        try:
            async with (
                asyncio.timeout(seconds),
                aiohttp.ClientSession() as session,
                session.get(url) as response,
            ):
                if response.status >= 400:
                    raise ToolError(f"downloading the image failed: HTTP {response.status}")
                data = bytearray()
                async for chunk in response.content.iter_chunked(256 * 1024):
                    data += chunk
                    if len(data) > MAX_DOWNLOAD_BYTES:
                        raise ToolError("the generated image is larger than 20 MB")
                return bytes(data)
        except TimeoutError:
            raise ToolError(f"downloading the image took longer than {seconds:g} s") from None
        except aiohttp.ClientError as exc:
            logger.warning("image download failed: %r", exc)
            raise ToolError("downloading the generated image failed; try again") from None

    def tool(self, timeout: float) -> Tool:
        return define_tool(
            self.generate_image,
            name="generate_image",
            status_key="tool-status-generate-image",
            timeout=timeout,
        )
