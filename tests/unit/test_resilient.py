"""Retries happen before the first token only, honour Retry-After, and adapt the request."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

import pytest

from bot.llm.resilient import ResilientModel
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import (
    ChatRequest,
    LLMError,
    LLMErrorKind,
    StreamEvent,
    TextDelta,
    Turn,
)

SPEC = ModelSpec(
    id="m",
    display_name="M",
    provider="p",
    remote_name="m",
    capabilities=ModelCapabilities(
        vision=False,
        tools=False,
        system_prompt=False,
        pdf_native=False,
        context_tokens=1000,
        max_output_tokens=100,
    ),
)
REQUEST = ChatRequest(turns=(Turn.text("user", "hi"),), system="sys")


class FakeProvider:
    """Fails with the queued errors (before or after a first token), then answers."""

    def __init__(self, failures: list[tuple[LLMError, bool]]) -> None:
        self.failures = failures
        self.calls: list[ChatRequest] = []

    async def stream(
        self, spec: ModelSpec, request: ChatRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        self.calls.append(request)
        if self.failures:
            error, after_first = self.failures.pop(0)
            if after_first:
                yield TextDelta("partial ")
            raise error
        yield TextDelta("ok")

    async def close(self) -> None:
        return None


async def collect(model: ResilientModel) -> str:
    return "".join([e.text async for e in model.stream(REQUEST) if isinstance(e, TextDelta)])


async def test_retries_5xx_and_429_before_the_first_token() -> None:
    provider = FakeProvider(
        [
            (LLMError(LLMErrorKind.UNAVAILABLE, status=500), False),
            (LLMError(LLMErrorKind.RATE_LIMITED, status=429), False),
        ]
    )
    model = ResilientModel(SPEC, provider, max_retries=2, backoff=0.01)
    assert await collect(model) == "ok"
    assert len(provider.calls) == 3


async def test_gives_up_after_max_retries() -> None:
    provider = FakeProvider([(LLMError(LLMErrorKind.UNAVAILABLE), False)] * 3)
    model = ResilientModel(SPEC, provider, max_retries=1, backoff=0.01)
    with pytest.raises(LLMError) as info:
        await collect(model)
    assert info.value.kind is LLMErrorKind.UNAVAILABLE
    assert len(provider.calls) == 2


async def test_no_retry_once_text_was_streamed() -> None:
    provider = FakeProvider([(LLMError(LLMErrorKind.CONNECTION), True)])
    model = ResilientModel(SPEC, provider, max_retries=3, backoff=0.01)
    received: list[StreamEvent] = []

    async def consume() -> None:
        async for event in model.stream(REQUEST):
            received.append(event)

    with pytest.raises(LLMError):
        await consume()
    assert received == [TextDelta("partial ")]
    assert len(provider.calls) == 1


async def test_timeouts_and_rejections_are_not_retried() -> None:
    for kind in (LLMErrorKind.TIMEOUT, LLMErrorKind.REJECTED, LLMErrorKind.AUTH):
        provider = FakeProvider([(LLMError(kind), False)])
        with pytest.raises(LLMError):
            await collect(ResilientModel(SPEC, provider, max_retries=3, backoff=0.01))
        assert len(provider.calls) == 1


async def test_retry_after_hint_is_honoured() -> None:
    provider = FakeProvider([(LLMError(LLMErrorKind.RATE_LIMITED, retry_after=0.3), False)])
    model = ResilientModel(SPEC, provider, max_retries=1, backoff=0.01)
    started = time.monotonic()
    assert await collect(model) == "ok"
    assert time.monotonic() - started >= 0.3


async def test_request_is_adapted_to_capabilities() -> None:
    provider = FakeProvider([])
    await collect(ResilientModel(SPEC, provider, max_retries=0, backoff=0))
    [sent] = provider.calls
    assert sent.system is None  # merged: this model has no system role
    assert sent.turns[0].plain_text.startswith("sys")
