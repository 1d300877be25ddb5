"""Anthropic Messages API through the native SDK."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncGenerator
from typing import Any

import anthropic

from bot.llm.providers.anthropic_stream import AnthropicStreamParser
from bot.llm.providers.encoding import encoded
from bot.llm.providers.streaming import sdk_stream
from bot.llm.spec import ModelSpec
from bot.llm.types import (
    ChatRequest,
    DocumentPart,
    ImagePart,
    StreamEvent,
    TextPart,
    ToolCallPart,
    Turn,
)


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

    def stream(self, spec: ModelSpec, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        return sdk_stream(
            lambda: encoded(request, lambda: self._params(spec, request)),
            self._client.messages.with_streaming_response.create,
            AnthropicStreamParser(),
            anthropic,
        )

    def _params(self, spec: ModelSpec, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": spec.remote_name,
            "max_tokens": request.max_output_tokens,
            "messages": [_message(t) for t in request.turns],
            "stream": True,
        }
        if request.system:
            params["system"] = request.system
        # API version 2026-10-21 (what SDK 2.x sends) refuses temperature, top_p and top_k
        # with HTTP 400 and the SDK has dropped them, so a chat's sampling settings apply to
        # OpenAI-compatible models only.
        if request.tools:
            # Calls in the history need the tools defined even when the model must answer.
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
            params["tool_choice"] = {"type": request.tool_choice}
        if request.response_schema is not None:
            params["output_config"] = {
                "format": {"type": "json_schema", "schema": request.response_schema.schema}
            }
        return params


_TOOL_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def _tool_id(call_id: str) -> str:
    """Anthropic's ids allow [a-zA-Z0-9_-]; ids of calls made by other servers may not."""
    return _TOOL_ID_UNSAFE.sub("_", call_id) or "toolu_unnamed"


def _message(turn: Turn) -> dict[str, Any]:
    # Tool results must come first in their user message.
    content: list[dict[str, Any]] = [
        {
            "type": "tool_result",
            "tool_use_id": _tool_id(r.call_id),
            "content": r.content or "(empty)",
            "is_error": r.is_error,
        }
        for r in turn.tool_results
    ]
    for part in turn.parts:
        if isinstance(part, ImagePart):
            data = base64.b64encode(part.data).decode("ascii")
            source = {"type": "base64", "media_type": part.media_type, "data": data}
            content.append({"type": "image", "source": source})
        elif isinstance(part, DocumentPart):
            data = base64.b64encode(part.data).decode("ascii")
            source = {"type": "base64", "media_type": part.media_type, "data": data}
            content.append({"type": "document", "source": source, "title": part.name})
        elif isinstance(part, ToolCallPart):
            arguments = part.parsed() or {}
            content.append(
                {"type": "tool_use", "id": _tool_id(part.id), "name": part.name, "input": arguments}
            )
        elif isinstance(part, TextPart) and part.text:  # empty text blocks are refused
            content.append({"type": "text", "text": part.text})
    return {"role": turn.role, "content": content}
