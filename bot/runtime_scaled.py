"""Running one process of a scaled-out bot (with `[redis]`; see docs/scaling.md).

A worker takes partitions of the update queue; taking one over, it first finishes what the
partition's earlier owner left (answers cut short, deferred updates), then handles the
updates it never acknowledged. An ingress takes updates in: the webhook endpoint, or, in
polling mode, the poller of whichever process holds the poller lease. `python -m bot run`
with `[redis]` is both; `python -m bot worker` and `python -m bot ingress` are one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiohttp import web

from bot.bootstrap import Application
from bot.chat.lifecycle import Lifecycle
from bot.config import Settings
from bot.middlewares.ordering import REDELIVERED_KEY, is_control_update
from bot.queue.ingress import LeasedPoller, QueueWebhook, health
from bot.queue.partitions import chat_of, partition_of, partition_of_chat
from bot.queue.scaled import Scaled
from bot.queue.streams import Entry
from bot.queue.worker import PartitionWorker, TakeOver
from bot.telegram.intake import LostUpdate, replay_inbox
from bot.telegram.updates import parse

logger = logging.getLogger(__name__)


async def serve(app: Application, scaled: Scaled, *, ingress: bool, lost: LostUpdate) -> None:
    """Until the process stops; then the work in flight is drained and partitions given back."""
    worker = PartitionWorker(
        scaled.redis,
        scaled.queue,
        scaled.config.key_prefix,
        lease_seconds=scaled.config.lease_seconds,
        dispatch=_dispatcher(app),
        take_over=_take_over(app, scaled, lost),
        is_control=_is_control(app),
    )
    logger.info("worker %s: taking partitions of %d", worker.id, scaled.queue.partitions)
    feeding: asyncio.Task[None] | None = None
    if ingress:
        feeding = asyncio.create_task(
            _ingress(
                app.settings,
                app.bot,
                scaled,
                app.lifecycle,
                app.dispatcher.resolve_used_update_types(),
                worker.id,
            ),
            name="ingress",
        )
        feeding.add_done_callback(_stop_when_failed(app.lifecycle))
    resuming = asyncio.create_task(_resume_broadcasts(app, scaled), name="broadcasts")
    try:
        await worker.run(app.lifecycle.wait_stopping)
    finally:
        for task in (feeding, resuming):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):  # logged
                    await task
        await app.intake.drain(app.settings.reliability.shutdown_grace_seconds)
        await worker.release()


async def serve_ingress(
    settings: Settings, bot: Bot, scaled: Scaled, lifecycle: Lifecycle, allowed: list[str]
) -> None:
    """An ingress alone (`python -m bot ingress`): no worker, no models, no database."""
    await _ingress(settings, bot, scaled, lifecycle, allowed, secrets.token_hex(6))


async def _ingress(
    settings: Settings,
    bot: Bot,
    scaled: Scaled,
    lifecycle: Lifecycle,
    allowed: list[str],
    owner: str,
) -> None:
    """`owner`: who holds the poller lease in polling mode (logged, a worker's id)."""
    if settings.telegram.mode == "webhook":
        await _webhook(settings, bot, scaled, lifecycle, allowed)
        return
    poller = LeasedPoller(
        bot,
        scaled.queue,
        scaled.poller_lease(owner),
        allowed,
        lease_seconds=scaled.config.lease_seconds,
    )
    running = asyncio.create_task(poller.run(), name="poller")
    try:
        await lifecycle.wait_stopping()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def _webhook(
    settings: Settings, bot: Bot, scaled: Scaled, lifecycle: Lifecycle, allowed: list[str]
) -> None:
    cfg = settings.telegram
    if settings.webhook_secret is None:  # replicas must share it: one cannot make it up
        raise ValueError("TELEGRAM_WEBHOOK_SECRET must be set for webhook ingress with [redis]")
    secret = settings.webhook_secret.get_secret_value()
    web_app = web.Application()
    endpoint = QueueWebhook(scaled.queue, secret, lambda: lifecycle.stopping)
    web_app.router.add_post(cfg.webhook_path, endpoint.__call__)
    web_app.router.add_get("/healthz", health(scaled.queue))
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, cfg.webhook_host, cfg.webhook_port).start()
    try:
        await bot.set_webhook(
            cfg.webhook_url or "",
            secret_token=secret,
            max_connections=cfg.webhook_max_connections,
            allowed_updates=allowed,
        )
        logger.info(
            "webhook ingress on %s:%s%s", cfg.webhook_host, cfg.webhook_port, cfg.webhook_path
        )
        await lifecycle.wait_stopping()
    finally:
        await runner.cleanup()


def _stop_when_failed(lifecycle: Lifecycle) -> Callable[[asyncio.Task[None]], None]:
    """Updates no longer come in (a rejected token, a port in use): the process stops, so
    that its supervisor sees it and restarts it, rather than running as a worker alone."""

    def check(task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        logger.error("ingress stopped: %s", task.exception(), exc_info=task.exception())
        lifecycle.stop()

    return check


async def _resume_broadcasts(app: Application, scaled: Scaled) -> None:
    """Broadcasts being sent: each by the process that holds its lease; one whose process died
    is taken up by another once its lease lapses."""
    while True:
        try:
            await app.broadcasts.resume()
        except Exception:
            logger.exception("broadcasts could not be checked; again later")
        await asyncio.sleep(scaled.config.lease_seconds)


def _dispatcher(app: Application) -> Callable[[Entry], asyncio.Task[Any] | None]:
    def dispatch(entry: Entry) -> asyncio.Task[Any] | None:
        if entry.raw is None:
            return None
        update = parse(entry.raw, app.bot)
        if update is None:
            return None
        return app.intake.dispatch(update, entry.raw, **{REDELIVERED_KEY: entry.redelivered})

    return dispatch


def _is_control(app: Application) -> Callable[[Entry], bool]:
    """Stop (and payments): handled even by a worker that drains the entry's partition."""

    def control(entry: Entry) -> bool:
        update = parse(entry.raw, app.bot) if entry.raw is not None else None
        return update is not None and is_control_update(update)

    return control


def _take_over(app: Application, scaled: Scaled, lost: LostUpdate) -> TakeOver:
    partitions = scaled.queue.partitions

    async def take_over(partition: int) -> list[asyncio.Task[Any]]:
        def ours(chat_id: int) -> bool:
            return partition_of_chat(chat_id, partitions) == partition

        def ours_raw(raw: dict[str, Any]) -> bool:
            return chat_of(raw) is not None and partition_of(raw, partitions) == partition

        recovering = await app.recovery.start(app.locks, only=ours)
        app.intake.track(*recovering)
        window = timedelta(seconds=app.settings.reliability.recovery_window_seconds)
        replaying = await replay_inbox(app.db, app.bot, app.intake, window, lost, only=ours_raw)
        return [*recovering, *replaying]

    return take_over
