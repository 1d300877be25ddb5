"""Final calls that survive Telegram's bad moments: 5xx, time-outs and network errors.

A request middleware outside the pacer (each attempt is paced again). A final call (any call
not marked droppable by ``Pacer.droppable``) that fails with a server error, a network error
or a time-out, or with a 429 the pacer gave up on, is tried again after a capped exponential
backoff with full jitter, until its retry budget is spent; then the last error is raised.

Budgets: sends and edits (what the user reads) get ``deadline`` seconds (10 minutes by
default); other calls a short ``short_deadline``; ``retry_for(seconds)`` sets the budget of
the calls made inside it (a group's final edit tries briefly, then becomes a new message).
Progress updates (droppable calls), typing indicators and ``getUpdates`` are never retried
here: the first are optional, the last has its own loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import Response, TelegramMethod, TelegramType

from .pacer import is_droppable
from .routes import COUNTED_METHODS

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)

_budget: ContextVar[float | None] = ContextVar("telegram_retry_budget", default=None)
NOT_RETRIED = frozenset(
    {"getupdates", "sendchataction", "sendmessagedraft", "sendrichmessagedraft"}
)
TRANSIENT = (TelegramServerError, TelegramNetworkError, TelegramRetryAfter)


@contextmanager
def retry_for(seconds: float) -> Iterator[None]:
    """Final calls made inside are retried for at most ``seconds`` (0: tried once)."""
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    token = _budget.set(seconds)
    try:
        yield
    finally:
        _budget.reset(token)


def is_transient(exc: BaseException) -> bool:
    """An error that another attempt may not meet (not a refusal of the call itself)."""
    return isinstance(exc, TRANSIENT) and not isinstance(exc, TelegramEntityTooLarge)


class DeliveryRetry(BaseRequestMiddleware):
    def __init__(
        self,
        *,
        deadline: float = 600.0,
        short_deadline: float = 10.0,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._deadline = deadline
        self._short = short_deadline
        self._base = base_delay
        self._max = max_delay
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self.retries = 0  # attempts made again, for operators and tests

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__.lower()
        if name in NOT_RETRIED or is_droppable():
            return await make_request(bot, method)
        budget = _budget.get()
        if budget is None:
            budget = self._deadline if name in COUNTED_METHODS else self._short
        deadline = self._clock() + budget
        attempt = 0
        while True:
            try:
                return await make_request(bot, method)
            except TRANSIENT as exc:
                if not is_transient(exc):
                    raise
                attempt += 1
                delay = self._delay(exc, attempt)
                if self._clock() + delay > deadline:
                    raise
                self.retries += 1
                log = logger.warning if attempt == 1 or attempt % 10 == 0 else logger.info
                log(
                    "%s failed (%s: %s); attempt %d in %.1f s",
                    method.__api_method__,
                    type(exc).__name__,
                    exc,
                    attempt + 1,
                    delay,
                )
                await self._sleep(delay)

    def _delay(self, exc: Exception, attempt: int) -> float:
        if isinstance(exc, TelegramRetryAfter):  # the pacer gave up waiting: wait it out here
            return float(exc.retry_after)
        ceiling = min(self._max, self._base * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + self._jitter() / 2)
