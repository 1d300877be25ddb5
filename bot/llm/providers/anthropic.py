"""Anthropic Messages API through the native SDK."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from typing import Any

import anthropic

from bot.llm.errors import map_sdk_error
from bot.llm.providers.encoding import encoded
from bot.llm.spec import ModelSpec
from bot.llm.types import (
    ChatRequest,
    DocumentPart,
    Finish,
    FinishReason,
    ImagePart,
    StreamEvent,
    TextDelta,
    Turn,
    Usage,
)

_FINISH = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
}


class AnthropicClient:
    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self._client = anthropic.AsyncAnthropic(
            base_url=base_url,
            api_key=api_key,
            timeout=anthropic.Timeout(read_timeout, connect=connect_timeout),
            max_retries=0,
        )

    async def close(self) -> None:
        await self._client.close()

    async def stream(
        self, spec: ModelSpec, request: ChatRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        params: dict[str, Any] = {
            "model": spec.remote_name,
            "max_tokens": request.max_output_tokens,
            "messages": await encoded(request, lambda: [_message(t) for t in request.turns]),
            "stream": True,
        }
        if request.system:
            params["system"] = request.system
        # API version 2026-10-21 (what SDK 2.x sends) refuses temperature, top_p and top_k
        # with HTTP 400 and the SDK has dropped them, so a chat's sampling settings apply to
        # OpenAI-compatible models only.
        if request.response_schema is not None:
            params["output_config"] = {
                "format": {"type": "json_schema", "schema": request.response_schema.schema}
            }
        input_tokens = 0
        try:
            stream = await self._client.messages.create(**params)
            async for event in stream:
                if event.type == "message_start":
                    input_tokens = event.message.usage.input_tokens or 0
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    yield TextDelta(event.delta.text)

                elif event.type == "message_delta":
                    yield Usage(input_tokens, event.usage.output_tokens or 0)
                    reason = event.delta.stop_reason
                    yield Finish(_FINISH.get(reason or "", FinishReason.OTHER))
        except Exception as exc:
            raise map_sdk_error(exc, anthropic) from exc


def _message(turn: Turn) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for part in turn.parts:
        if isinstance(part, ImagePart):
            data = base64.b64encode(part.data).decode("ascii")
            source = {"type": "base64", "media_type": part.media_type, "data": data}
            content.append({"type": "image", "source": source})
        elif isinstance(part, DocumentPart):
            data = base64.b64encode(part.data).decode("ascii")
            source = {"type": "base64", "media_type": part.media_type, "data": data}
            content.append({"type": "document", "source": source, "title": part.name})
        else:
            content.append({"type": "text", "text": part.text})
    return {"role": turn.role, "content": content}
