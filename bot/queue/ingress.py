"""Updates into the queue: the webhook endpoint (any number of replicas) and the leased poller.

The webhook answers Telegram 200 only once Redis has the update (503 when Redis cannot be
reached, so Telegram delivers it again later). Polling runs in one process at a time, the
holder of the poller lease; `getUpdates`' offset moves past a batch only once Redis has
every update of it, and a poller that loses its lease stops at once, so two never poll
together for long. Each update goes to its chat's partition (see `bot.queue.partitions`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramUnauthorizedError
from aiohttp import web
from redis.exceptions import RedisError

from bot.queue.leases import Lease, check_every
from bot.queue.streams import UpdateQueue
from bot.telegram.intake import SECRET_HEADER
from bot.telegram.updates import GetRawUpdates

logger = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0


class QueueWebhook:
    """Telegram's webhook calls: answered once the update is in Redis."""

    def __init__(self, queue: UpdateQueue, secret: str, stopping: Callable[[], bool]) -> None:
        self._queue = queue
        self._secret = secret
        self._stopping = stopping

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return web.Response(status=401)
        if self._stopping():
            return web.Response(status=503, text="restarting")
        try:
            raw = await request.json()
        except ValueError:
            logger.warning("webhook: a request body that is not JSON was skipped")
            return web.Response()
        if not isinstance(raw, dict):
            logger.warning("webhook: a request body that is not an update was skipped")
            return web.Response()
        try:
            await self._queue.append(raw)
        except (RedisError, OSError) as exc:
            logger.warning("update %s not queued (Redis: %s): 503", raw.get("update_id"), exc)
            return web.Response(status=503, text="queue unavailable")
        return web.Response()


def health(queue: UpdateQueue) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """GET /healthz: 200 while Redis answers (a load balancer's check)."""

    async def check(request: web.Request) -> web.StreamResponse:
        try:
            await queue.depth()
        except (RedisError, OSError) as exc:
            return web.Response(status=503, text=f"redis: {exc}")
        return web.Response(text="ok")

    return check


class LeasedPoller:
    """`getUpdates` in the one process that holds the poller lease."""

    def __init__(
        self,
        bot: Bot,
        queue: UpdateQueue,
        lease: Lease,
        allowed_updates: list[str],
        *,
        lease_seconds: float,
    ) -> None:
        self._bot = bot
        self._queue = queue
        self._lease = lease
        self._allowed = allowed_updates
        self._lease_seconds = lease_seconds
        # A long poll must end well before the lease would lapse unrenewed.
        self._poll_timeout = max(1, min(25, int(lease_seconds / 3)))

    async def run(self) -> None:
        """Until cancelled: wait for the lease, poll while holding it."""
        while True:
            try:
                held = await self._lease.acquire()
            except (RedisError, OSError) as exc:
                logger.warning("poller lease: Redis unreachable (%s)", exc)
                held = False
            if held:
                logger.info("polling: %s holds the poller lease", self._lease.owner)
                try:
                    await self._poll()
                finally:
                    with contextlib.suppress(RedisError, OSError):
                        await self._lease.release()
            await asyncio.sleep(check_every(self._lease_seconds))

    async def _poll(self) -> None:
        """While the lease is held; returns when it is lost."""
        await self._bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        delay = FIRST_BACKOFF_SECONDS
        request_timeout = int((self._bot.session.timeout or 60) + self._poll_timeout)
        method = GetRawUpdates(timeout=self._poll_timeout, allowed_updates=self._allowed)
        while True:
            try:
                if not await self._lease.renew():
                    logger.warning("polling: the poller lease was lost; another process polls")
                    return
            except (RedisError, OSError) as exc:
                logger.warning("polling paused: Redis unreachable (%s)", exc)
                return
            method.offset = offset
            try:
                batch: list[dict[str, Any]] = await self._bot(
                    method, request_timeout=request_timeout
                )
            except TelegramUnauthorizedError:
                raise
            except Exception as exc:  # Telegram or the network is down: try again later
                logger.warning("getUpdates failed (%s: %s)", type(exc).__name__, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            delay = FIRST_BACKOFF_SECONDS
            try:
                for raw in batch:
                    await self._queue.append(raw)
            except (RedisError, OSError) as exc:  # the offset stays: fetched again later
                logger.warning("polling paused: updates not queued (Redis: %s)", exc)
                return
            if batch:
                offset = max(int(raw.get("update_id", 0)) for raw in batch) + 1
