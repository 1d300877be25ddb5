"""Anthropic Messages API through the native SDK."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anthropic

from bot.llm.errors import map_sdk_error
from bot.llm.spec import ModelSpec
from bot.llm.types import (
    ChatRequest,
    Finish,
    FinishReason,
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
            "messages": [_message(turn) for turn in request.turns],
            "stream": True,
        }
        if request.system:
            params["system"] = request.system
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.top_p is not None:
            params["top_p"] = request.top_p
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
    return {"role": turn.role, "content": [{"type": "text", "text": turn.plain_text}]}
