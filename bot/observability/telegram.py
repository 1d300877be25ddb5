"""Counts Bot API calls by method and outcome, and remembers when Telegram last answered
(for /readyz). A session middleware installed innermost, so each attempt counts once."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import Response, TelegramMethod, TelegramType

from bot.observability.metrics import TELEGRAM_429, TELEGRAM_CALLS

if TYPE_CHECKING:
    from aiogram import Bot


class TelegramMetrics(BaseRequestMiddleware):
    def __init__(self) -> None:
        self.last_answer: float | None = None  # monotonic time of Telegram's last answer
        self.last_failure: float | None = None  # ... of the last network error or 5xx

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter:
            TELEGRAM_429.labels(name).inc()
            self._answered(name, "429")
            raise
        except TelegramServerError:
            self._failed(name, "5xx")
            raise
        except TelegramNetworkError:
            self._failed(name, "network")
            raise
        except Exception:
            self._answered(name, "4xx")
            raise
        self._answered(name, "ok")
        return result

    def _answered(self, method: str, outcome: str) -> None:
        TELEGRAM_CALLS.labels(method, outcome).inc()
        self.last_answer = time.monotonic()

    def _failed(self, method: str, outcome: str) -> None:
        TELEGRAM_CALLS.labels(method, outcome).inc()
        self.last_failure = time.monotonic()
