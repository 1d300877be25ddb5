"""OpenAI Chat Completions: OpenAI itself, vLLM, OpenRouter, Ollama, llama.cpp."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from typing import Any, Literal

import openai

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
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
}

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

    async def stream(
        self, spec: ModelSpec, request: ChatRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        params = await encoded(request, lambda: self._params(spec, request))
        try:
            stream = await self._client.chat.completions.create(**params)
            async for chunk in stream:
                for event in _events(chunk):
                    yield event
        except Exception as exc:
            raise map_sdk_error(exc, openai) from exc

    def _params(self, spec: ModelSpec, request: ChatRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.extend(_message(turn) for turn in request.turns)
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
        else:
            content.append({"type": "text", "text": part.text})
    return {"role": turn.role, "content": content}


def _events(chunk: Any) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for choice in chunk.choices or ():
        text = getattr(choice.delta, "content", None)
        if text:
            events.append(TextDelta(text))
        if choice.finish_reason:
            events.append(Finish(_FINISH.get(choice.finish_reason, FinishReason.OTHER)))
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        events.append(Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0))
    return events
