"""/metrics (Prometheus text format), /healthz (the process is alive) and /readyz (it can
serve: the database answers, Telegram answered recently, it is not stopping) on
`[observability] metrics_host:metrics_port`.

The Telegram check costs nothing in steady state: every Bot API call's answer is noted by
`TelegramMetrics`; only when none came for `TELEGRAM_FRESH_SECONDS` is `getMe` called, at
most once per `TELEGRAM_PROBE_SECONDS`, and its result kept until the next probe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.observability.metrics import REGISTRY
from bot.observability.telegram import TelegramMetrics

logger = logging.getLogger(__name__)

TELEGRAM_FRESH_SECONDS = 120.0
TELEGRAM_PROBE_SECONDS = 60.0
CHECK_TIMEOUT_SECONDS = 3.0
Check = Callable[[], Awaitable[None]]


@dataclass
class TelegramReachability:
    """Whether Telegram answers, from the calls the bot makes anyway (else a cached getMe)."""

    calls: TelegramMetrics
    probe: Check
    clock: Callable[[], float] = time.monotonic
    _probed_at: float | None = None
    _probe_ok: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def __call__(self) -> None:
        now = self.clock()
        last = self.calls.last_answer
        if last is not None and now - last <= TELEGRAM_FRESH_SECONDS:
            failure = self.calls.last_failure
            if failure is None or failure <= last:
                return
        async with self._lock:
            if self._probed_at is None or self.clock() - self._probed_at >= TELEGRAM_PROBE_SECONDS:
                self._probed_at = self.clock()
                try:
                    await self.probe()
                    self._probe_ok = True
                except Exception as exc:  # any failure means "not reachable", said in /readyz
                    logger.warning("readiness: Telegram did not answer getMe: %s", exc)
                    self._probe_ok = False
        if not self._probe_ok:
            raise RuntimeError("Telegram did not answer")


class ObservabilityServer:
    def __init__(
        self,
        host: str,
        port: int,
        checks: dict[str, Check],
        stopping: Callable[[], bool],
    ) -> None:
        self._host = host
        self._port = port
        self._checks = checks
        self._stopping = stopping
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def start(self) -> None:
        """Serve; a port in use is logged, not fatal (the bot is what matters)."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            logger.error("metrics: cannot listen on %s:%s (%s)", self._host, self._port, exc)
            await runner.cleanup()
            return
        self._runner = runner
        self.port = int(runner.addresses[0][1]) if runner.addresses else self._port
        logger.info("metrics on http://%s:%s/metrics", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        results = dict(
            zip(self._checks, await asyncio.gather(*map(_run, self._checks.values())), strict=True)
        )
        if self._stopping():
            results["process"] = "stopping"
        ready = all(value == "ok" for value in results.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": results},
            status=200 if ready else 503,
        )


async def _run(check: Check) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await check()
    except Exception as exc:  # reported in the response, which is what /readyz is for
        return f"failed: {type(exc).__name__}: {exc}"[:200]
    return "ok"
