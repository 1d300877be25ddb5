"""Show the latest value at most once per interval; values in between are merged away.

`stop()` waits for an update in flight to finish instead of cancelling it, so a message that
was sent is never forgotten (and never sent twice by the final delivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class Ticker:
    def __init__(
        self, interval: float, show: Callable[[str], Awaitable[None]], first_delay: float = 0.0
    ) -> None:
        self._interval = interval
        self._first_delay = first_delay
        self._show = show
        self._latest: str | None = None
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="answer-ticker")

    def push(self, value: str) -> None:
        self._latest = value
        self._wake.set()

    async def stop(self) -> None:
        self._closing.set()
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            await task

    async def _run(self) -> None:
        shown: str | None = None
        if self._first_delay and await self._closed_within(self._first_delay):
            return
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._closing.is_set():
                return
            value = self._latest
            if value is not None and value != shown:
                try:
                    await self._show(value)
                    shown = value
                except Exception as exc:  # an intermediate update is optional: skip it
                    logger.debug("intermediate update skipped: %s", exc)
            if await self._closed_within(self._interval):
                return

    async def _closed_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        return self._closing.is_set()
