"""Retries with backoff on 429/5xx/connection errors, but only before the first event.

Once text has reached the user, a retry would repeat it; a failure then is reported as is.
Timeouts are not retried: a provider that hung once is likely overloaded, and the user is
better served by a prompt error than by waiting out the timeout several times.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from bot.llm.adapt import adapt_request
from bot.llm.base import ProviderClient
from bot.llm.spec import ModelSpec
from bot.llm.types import ChatRequest, LLMError, LLMErrorKind, StreamEvent

logger = logging.getLogger(__name__)

MAX_RETRY_WAIT_SECONDS = 30.0


class ResilientModel:
    """A configured model: its spec, its provider, and the retry policy."""

    def __init__(
        self, spec: ModelSpec, provider: ProviderClient, *, max_retries: int, backoff: float
    ) -> None:
        self._spec = spec
        self._provider = provider
        self._max_retries = max_retries
        self._backoff = backoff

    @property
    def spec(self) -> ModelSpec:
        return self._spec

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        stream, first = await self._open(adapt_request(request, self._spec.capabilities))
        try:
            yield first
            async for event in stream:
                yield event
        finally:
            await stream.aclose()

    async def _open(
        self, request: ChatRequest
    ) -> tuple[AsyncGenerator[StreamEvent, None], StreamEvent]:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_retries + 1),
            retry=retry_if_exception(lambda e: isinstance(e, LLMError) and e.retryable),
            wait=self._wait,
            before_sleep=self._log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                stream = self._provider.stream(self._spec, request)
                try:
                    first = await anext(stream)
                except StopAsyncIteration:
                    raise LLMError(LLMErrorKind.UNAVAILABLE, "empty response") from None
                except BaseException:
                    await stream.aclose()
                    raise
                return stream, first
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = self._backoff * 2 ** (state.attempt_number - 1)
        hinted = exc.retry_after if isinstance(exc, LLMError) and exc.retry_after else 0.0
        return float(min(max(backoff, hinted), MAX_RETRY_WAIT_SECONDS))

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.warning(
            "model %s: attempt %d failed (%s); retrying", self._spec.id, state.attempt_number, exc
        )
