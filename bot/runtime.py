"""Running the bot: finish what the last run left, take updates (polling or webhook), and
stop gracefully on SIGTERM or SIGINT.

At start, answers a stopped or crashed process left unfinished are finished first (each
holding its chat's lock), then updates received but never handled are taken up, then new
updates are let in. On a signal the bot stops taking updates, lets answers in flight finish
for `reliability.shutdown_grace_seconds`, tells the users of the rest that it is restarting
(their answers are finished at the next start), and closes its connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiogram.exceptions import TelegramAPIError
from aiohttp import web

from bot.bootstrap import Application, admin_announcer
from bot.chat.lifecycle import Lifecycle
from bot.config import Settings
from bot.heap import freeze_long_lived
from bot.looplag import DEFAULT_REPORT_SECONDS, LoopLag
from bot.moderation.setup import watch as watch_topics
from bot.storage.dto import PendingUpdate
from bot.telegram.commands import register_commands
from bot.telegram.intake import Poller, WebhookEndpoint, replay_inbox

logger = logging.getLogger(__name__)


async def run(app: Application, *, ingress: bool = True) -> None:
    """Until SIGTERM or SIGINT; the application is closed whatever happens. With [redis],
    a worker of the update queue, and its ingress too unless `ingress` is False."""
    _stop_on_signals(app.lifecycle.stop)
    reliability = app.settings.reliability
    watcher: asyncio.Task[None] | None = None
    topics: asyncio.Task[None] | None = None
    lag = asyncio.create_task(LoopLag().run(_lag_report_seconds()), name="loop-lag")
    try:
        if app.observability is not None:
            await app.observability.start()  # /healthz answers while the bot starts
        await register_commands(app.bot, app.i18n, app.settings.admins)
        me = await app.bot.me()
        logger.info("bot @%s starting in %s mode", me.username, app.settings.telegram.mode)
        if app.settings.characters.watch:
            notify = _admin_notifier(app)
            watcher = asyncio.create_task(app.characters.watch(notify), name="characters")
        if app.moderator is not None and app.settings.moderation.watch:
            watching = watch_topics(app.moderator, app.settings, app.models, _topic_notifier(app))
            topics = asyncio.create_task(watching, name="moderation")
        freeze_long_lived("the start", collect=True)
        if app.scaled is not None:  # recovery comes with each partition taken over
            from bot.runtime_scaled import serve

            await serve(app, app.scaled, ingress=ingress, lost=_lost_notice(app))
            return
        app.intake.track(*await app.recovery.start(app.locks))
        window = timedelta(seconds=reliability.recovery_window_seconds)
        await replay_inbox(app.db, app.bot, app.intake, window, _lost_notice(app))
        await app.broadcasts.resume()
        if app.settings.telegram.mode == "webhook":
            await _serve_webhook(app)
        else:
            await _poll(app)
    finally:
        app.lifecycle.stop()
        await app.broadcasts.stop()  # pending recipients are sent to after the restart
        await app.intake.drain(reliability.shutdown_grace_seconds)
        for task in (watcher, topics, lag):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await app.aclose()
        if app.observability is not None:
            await app.observability.stop()
        logger.info("stopped")


async def _poll(app: Application) -> None:
    # A webhook left from an earlier webhook deployment would make polling fail (409).
    await app.bot.delete_webhook(drop_pending_updates=False)
    allowed = app.dispatcher.resolve_used_update_types()
    logger.info("polling for updates (%s)", ", ".join(allowed))
    await Poller(app.bot, app.intake, app.db, allowed).run(app.lifecycle)


async def _serve_webhook(app: Application) -> None:
    cfg = app.settings.telegram
    secret = (
        app.settings.webhook_secret.get_secret_value()
        if app.settings.webhook_secret
        else secrets.token_urlsafe(32)
    )
    web_app = web.Application()
    web_app.router.add_post(
        cfg.webhook_path, WebhookEndpoint(app.bot, app.intake, app.lifecycle, secret)
    )
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, cfg.webhook_host, cfg.webhook_port).start()
    try:
        await app.bot.set_webhook(
            cfg.webhook_url or "",  # Settings require it in webhook mode
            secret_token=secret,
            max_connections=cfg.webhook_max_connections,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
        )
        logger.info(
            "webhook server on %s:%s%s", cfg.webhook_host, cfg.webhook_port, cfg.webhook_path
        )
        await app.lifecycle.wait_stopping()
        # Requests in flight wait for their answers; new ones are answered 503 meanwhile.
        await app.intake.drain(app.settings.reliability.shutdown_grace_seconds)
    finally:
        await runner.cleanup()


async def run_ingress(settings: Settings) -> None:
    """`python -m bot ingress`: updates into the queue until SIGTERM or SIGINT."""
    from bot.bootstrap import build_ingress
    from bot.runtime_scaled import serve_ingress

    lifecycle = Lifecycle()
    _stop_on_signals(lifecycle.stop)
    ingress = build_ingress(settings)
    try:
        logger.info("ingress starting in %s mode", settings.telegram.mode)
        await serve_ingress(
            settings, ingress.bot, ingress.scaled, lifecycle, ingress.allowed_updates
        )
    finally:
        await ingress.aclose()
        logger.info("stopped")


def _lag_report_seconds() -> float:
    value = os.environ.get("BOT_LOOP_LAG_SECONDS", "")
    try:
        return float(value) if value else DEFAULT_REPORT_SECONDS
    except ValueError:
        logger.warning("BOT_LOOP_LAG_SECONDS=%r is not a number of seconds; using 60", value)
        return DEFAULT_REPORT_SECONDS


def _stop_on_signals(stop: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):

        def handler(sig: signal.Signals = sig) -> None:
            logger.info("%s received: stopping", sig.name)
            stop()

        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, handler)


def _lost_notice(app: Application) -> Callable[[PendingUpdate], Awaitable[None]]:
    """A message received too long before the restart to answer now: say so."""

    async def notify(pending: PendingUpdate) -> None:
        message = pending.raw.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            return
        user = message.get("from") if isinstance(message.get("from"), dict) else {}
        locale = app.i18n.resolve(None, user.get("language_code") if user else None)
        t = app.i18n.translator(locale)
        asked = pending.received_at.strftime("%H:%M UTC")
        try:
            await app.bot.send_message(
                message["chat"]["id"],
                t("answer-lost", time=asked),
                reply_to_message_id=message.get("message_id"),
                allow_sending_without_reply=True,
            )
        except TelegramAPIError as exc:
            logger.warning("update %s: could not say it was missed: %s", pending.update_id, exc)

    return notify


def _admin_notifier(app: Application) -> Callable[[str], Awaitable[None]]:
    """Tells every operator (the `admins` of the configuration) about a broken file."""
    announce = admin_announcer(app)

    async def notify(problem: str) -> None:
        await announce("character-file-error", error=problem)

    return notify


def _topic_notifier(app: Application) -> Callable[[str], Awaitable[None]]:
    """Tells every operator about a broken topic file (the previous topics stay in service)."""
    announce = admin_announcer(app)

    async def notify(problem: str) -> None:
        await announce("moderation-file-error", error=problem)

    return notify
