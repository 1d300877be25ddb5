"""OpenAI Images API (``POST /v1/images/generations``) of the scripted LLM server.

Pictures are drawn with Pillow at the requested size: a flat colour derived from a hash of the
prompt and a simple shape, so they are deterministic, distinct per prompt and compress small.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import itertools
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw

from bot.sandbox.llm.plan import ProtocolError, tokens_for_chars

SIZES = frozenset(
    {"auto", "256x256", "512x512", "1024x1024", "1024x1536", "1536x1024", "1792x1024", "1024x1792"}
)
_FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}
DEFAULT_MODEL = "dall-e-2"  # what OpenAI uses when the request names no model
MAX_IMAGES = 4
MAX_PROMPT_CHARS = 32_000
STORE_LIMIT = 64
"""Images kept for ``response_format="url"`` downloads (oldest dropped first)."""
OUTPUT_TOKENS = 272  # a fixed, plausible per-image output cost for the usage block


@dataclass(frozen=True)
class ImageRequest:
    """A validated images request."""

    prompt: str
    model: str
    n: int
    size: str
    width: int
    height: int
    response_format: str
    output_format: str
    stream: bool = False  # never streamed (a hang fault thus hangs before any reply)


def _check_prompt(body: Mapping[str, Any]) -> str:
    if "prompt" not in body or body["prompt"] is None:
        raise ProtocolError(400, "Missing required parameter: 'prompt'.")
    prompt = body["prompt"]
    if not isinstance(prompt, str):
        raise ProtocolError(400, "Invalid type for 'prompt': expected a string.")
    if not prompt.strip():
        raise ProtocolError(400, "Invalid 'prompt': empty string.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ProtocolError(400, f"Invalid 'prompt': longer than {MAX_PROMPT_CHARS} characters.")
    return prompt


def _choice(
    body: Mapping[str, Any], key: str, allowed: set[str] | frozenset[str], default: str
) -> str:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or value not in allowed:
        supported = ", ".join(f"'{v}'" for v in sorted(allowed))
        raise ProtocolError(
            400, f"Invalid value: {value!r}. Supported values for '{key}' are: {supported}."
        )
    return value


def parse_image_request(body: object) -> ImageRequest:
    """Validate like OpenAI does; raise :class:`ProtocolError` (400) otherwise."""
    if not isinstance(body, Mapping):
        raise ProtocolError(400, "The request body must be a JSON object.")
    prompt = _check_prompt(body)
    model = body.get("model", DEFAULT_MODEL)
    if model is None:
        model = DEFAULT_MODEL
    if not isinstance(model, str) or not model:
        raise ProtocolError(400, "Invalid type for 'model': expected a string.")
    n = body.get("n", 1)
    n = 1 if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_IMAGES:
        raise ProtocolError(400, f"Invalid 'n': must be an integer from 1 to {MAX_IMAGES}.")
    if body.get("stream"):
        raise ProtocolError(400, "The sandbox does not stream image generation; omit 'stream'.")
    size = _choice(body, "size", SIZES, "auto")
    width, height = (1024, 1024) if size == "auto" else map(int, size.split("x"))
    return ImageRequest(
        prompt=prompt,
        model=model,
        n=n,
        size=size,
        width=width,
        height=height,
        response_format=_choice(body, "response_format", {"b64_json", "url"}, "b64_json"),
        output_format=_choice(body, "output_format", set(_FORMATS), "png"),
    )


def render_image(prompt: str, width: int, height: int, index: int = 0, fmt: str = "png") -> bytes:
    """Draw one picture (blocking: run it in a thread)."""
    digest = hashlib.sha256(f"{index}:{prompt}".encode()).digest()
    background = (digest[0], digest[1], digest[2])
    shape = (255 - digest[0], 255 - digest[1], 255 - digest[2])
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    left, top = (width - side // 2) // 2, (height - side // 2) // 2
    box = (left, top, left + side // 2, top + side // 2)
    if digest[3] % 2:
        draw.ellipse(box, fill=shape)
    else:
        draw.rectangle(box, fill=shape)
    buffer = io.BytesIO()
    image.save(buffer, format=_FORMATS[fmt][0])
    return buffer.getvalue()


class ImageStudio:
    """Renders images for requests and keeps recent ones for URL downloads."""

    def __init__(self) -> None:
        self._store: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._ids = itertools.count(1)

    async def respond(self, request: ImageRequest, origin: str, created: int) -> dict[str, Any]:
        """The response body; pictures are rendered off the event loop."""
        pictures = await asyncio.to_thread(self._render_all, request)
        data: list[dict[str, Any]] = []
        for picture in pictures:
            item: dict[str, Any] = {"revised_prompt": request.prompt}
            if request.response_format == "url":
                name = f"img-{next(self._ids):06d}.{request.output_format}"
                self._keep(name, picture, _FORMATS[request.output_format][1])
                item["url"] = f"{origin}/sandbox-images/{name}"
            else:
                item["b64_json"] = base64.b64encode(picture).decode("ascii")
            data.append(item)
        text_tokens = tokens_for_chars(len(request.prompt))
        usage = {
            "input_tokens": text_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
            "output_tokens": OUTPUT_TOKENS * request.n,
            "total_tokens": text_tokens + OUTPUT_TOKENS * request.n,
        }
        size = f"{request.width}x{request.height}"
        return {
            "created": created,
            "data": data,
            "size": size,
            "output_format": request.output_format,
            "usage": usage,
        }

    @staticmethod
    def _render_all(request: ImageRequest) -> list[bytes]:
        return [
            render_image(request.prompt, request.width, request.height, i, request.output_format)
            for i in range(request.n)
        ]

    def _keep(self, name: str, picture: bytes, content_type: str) -> None:
        self._store[name] = (picture, content_type)
        while len(self._store) > STORE_LIMIT:
            self._store.popitem(last=False)

    async def download(self, request: web.Request) -> web.Response:
        """``GET /sandbox-images/{name}``: an image handed out as a URL (no key needed)."""
        stored = self._store.get(request.match_info["name"])
        if stored is None:
            raise web.HTTPNotFound(text="No such sandbox image (they are kept for a while only).")
        picture, content_type = stored
        return web.Response(body=picture, content_type=content_type)

    def clear(self) -> None:
        self._store.clear()
