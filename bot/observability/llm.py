"""Times every model stream: a ChatModel that wraps another (installed in the composition
root around each configured model), so no provider code changes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from bot.llm.base import ChatModel
from bot.llm.spec import ModelSpec
from bot.llm.types import ChatRequest, LLMError, StreamEvent, TextDelta, Usage
from bot.observability.metrics import LLM_DURATION, LLM_ERRORS, LLM_FIRST_TOKEN, LLM_TOKENS


class MeteredModel:
    def __init__(self, inner: ChatModel) -> None:
        self._inner = inner
        model = inner.spec.id
        self._first = LLM_FIRST_TOKEN.labels(model)
        self._duration = LLM_DURATION.labels(model)
        self._tokens_in = LLM_TOKENS.labels(model, "in")
        self._tokens_out = LLM_TOKENS.labels(model, "out")

    @property
    def spec(self) -> ModelSpec:
        return self._inner.spec

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        start = time.perf_counter()
        first = True
        try:
            async for event in self._inner.stream(request):
                if first and isinstance(event, TextDelta):
                    self._first.observe(time.perf_counter() - start)
                    first = False
                elif isinstance(event, Usage):
                    self._tokens_in.inc(event.input_tokens)
                    self._tokens_out.inc(event.output_tokens)
                yield event
        except LLMError as exc:
            LLM_ERRORS.labels(self.spec.id, exc.kind.value).inc()
            raise
        finally:
            self._duration.observe(time.perf_counter() - start)
