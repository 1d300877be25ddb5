"""The port every model sits behind."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

from bot.llm.spec import ModelSpec
from bot.llm.types import ChatRequest, StreamEvent


class ChatModel(Protocol):
    """Streams an answer as events: text deltas, then usage and a finish reason.

    Implementations raise `LLMError` for every provider failure.
    """

    @property
    def spec(self) -> ModelSpec: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...


class ProviderClient(Protocol):
    """One provider endpoint, shared by the models configured on it."""

    def stream(
        self, spec: ModelSpec, request: ChatRequest
    ) -> AsyncGenerator[StreamEvent, None]: ...

    async def close(self) -> None: ...
