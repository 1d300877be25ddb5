"""How late the event loop runs what is due: the bot's own slowness, in milliseconds.

A task sleeps `interval` seconds again and again and notes how much later than asked it woke
up. Everything the bot does shares that loop: when a handler, a parser or a database call
hogs it, every chat waits. A summary is logged every `report_seconds` (operators see it in the
log; the benchmark reads it); `BOT_LOOP_LAG_SECONDS` sets that period.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

logger = logging.getLogger(__name__)

DEFAULT_REPORT_SECONDS = 60.0


class LoopLag:
    def __init__(self, *, interval: float = 0.05, window: int = 20_000) -> None:
        self._interval = interval
        self._lags: deque[float] = deque(maxlen=window)

    async def run(self, report_seconds: float = DEFAULT_REPORT_SECONDS) -> None:
        """Measure until cancelled; log a summary every `report_seconds`."""
        next_report = time.monotonic() + report_seconds
        while True:
            asked = time.monotonic() + self._interval
            await asyncio.sleep(self._interval)
            now = time.monotonic()
            self._lags.append(max(0.0, now - asked))
            if now >= next_report:
                self.report()
                self._lags.clear()
                next_report = now + report_seconds

    def report(self) -> None:
        if not self._lags:
            return
        ordered = sorted(self._lags)
        logger.info(
            "event loop lag: p50=%.1f ms p99=%.1f ms max=%.1f ms (%d samples)",
            1000 * _percentile(ordered, 0.50),
            1000 * _percentile(ordered, 0.99),
            1000 * ordered[-1],
            len(ordered),
        )


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
