"""OpenAI Chat Completions: OpenAI itself, vLLM, OpenRouter, Ollama, llama.cpp."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from typing import Any, Literal

import openai

from bot.llm.providers.encoding import encoded
from bot.llm.providers.openai_stream import OpenAIStreamParser
from bot.llm.providers.streaming import sdk_stream
from bot.llm.spec import ModelSpec
from bot.llm.types import (
    ChatRequest,
    DocumentPart,
    ImagePart,
    StreamEvent,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Turn,
)

MaxTokensParam = Literal["max_tokens", "max_completion_tokens"]


class OpenAICompatibleClient:
    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        connect_timeout: float,
        read_timeout: float,
        max_tokens_param: MaxTokensParam = "max_completion_tokens",
    ) -> None:
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            # Self-hosted servers without --api-key accept any value; the SDK insists on one.
            api_key=api_key or "no-key",
            timeout=openai.Timeout(read_timeout, connect=connect_timeout),
            max_retries=0,  # retries are ours: only before the first token, with our backoff
        )
        self._max_tokens_param = max_tokens_param

    async def close(self) -> None:
        await self._client.close()

    def stream(self, spec: ModelSpec, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        return sdk_stream(
            lambda: encoded(request, lambda: self._params(spec, request)),
            self._client.chat.completions.with_streaming_response.create,
            OpenAIStreamParser(),
            openai,
        )

    def _params(self, spec: ModelSpec, request: ChatRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        for turn in request.turns:
            messages.extend(_messages(turn))
        params: dict[str, Any] = {
            "model": spec.remote_name,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            self._max_tokens_param: request.max_output_tokens,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.top_p is not None:
            params["top_p"] = request.top_p
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                }
                for tool in request.tools
            ]
            params["tool_choice"] = request.tool_choice
        if request.response_schema is not None:
            # vLLM serves the same field through its structured-outputs backend.
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.response_schema.name,
                    "schema": request.response_schema.schema,
                    "strict": True,
                },
            }
        return params


def _messages(turn: Turn) -> list[dict[str, Any]]:
    """One turn as Chat Completions messages: tool results become `tool` messages (before
    the rest of the user turn); an assistant turn's calls go in its `tool_calls`."""
    results = [
        {"role": "tool", "tool_call_id": r.call_id, "content": _result_text(r)}
        for r in turn.tool_results
    ]
    rest = Turn(turn.role, tuple(p for p in turn.parts if not isinstance(p, ToolResultPart)))
    calls = turn.tool_calls
    if not calls:
        return [*results, _message(rest)] if rest.parts else results
    text = Turn(turn.role, tuple(p for p in rest.parts if not isinstance(p, ToolCallPart)))
    message: dict[str, Any] = {"role": "assistant", "content": text.plain_text or None}
    message["tool_calls"] = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json},
        }
        for call in calls
    ]
    return [*results, message]


def _result_text(result: ToolResultPart) -> str:
    # Chat Completions has no error flag for tool messages: the text says it.
    return f"Error: {result.content}" if result.is_error else result.content


def _message(turn: Turn) -> dict[str, Any]:
    if turn.is_plain:
        return {"role": turn.role, "content": turn.plain_text}
    content: list[dict[str, Any]] = []
    for part in turn.parts:
        if isinstance(part, ImagePart):
            url = f"data:{part.media_type};base64,{base64.b64encode(part.data).decode('ascii')}"
            content.append({"type": "image_url", "image_url": {"url": url}})
        elif isinstance(part, DocumentPart):  # OpenAI's file input; a PDF as a data URL
            data = f"data:{part.media_type};base64,{base64.b64encode(part.data).decode('ascii')}"
            content.append({"type": "file", "file": {"filename": part.name, "file_data": data}})
        elif isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
    return {"role": turn.role, "content": content}
