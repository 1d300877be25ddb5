"""Updates in: long polling with an inbox, the webhook endpoint, and the work in flight.

Polling stores each batch of updates (raw JSON) before the offset moves past them, so an
update survives a crash between Telegram handing it over and its effects being committed;
the webhook answers Telegram only once an update is handled (503 while the bot is stopping,
so that Telegram delivers it again later). An update that cannot be parsed is logged once
and skipped. `Intake` runs each update as a task and lets a shutdown wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.types import Update
from aiohttp import web

from bot.chat.lifecycle import Lifecycle
from bot.middlewares.dedupe import KNOWN_KEY
from bot.storage.database import Database
from bot.storage.dto import PendingUpdate, UpdateMark
from bot.storage.uow import UnitOfWork
from bot.telegram.updates import RAW_KEY, GetRawUpdates, fingerprint, parse

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_TIMEOUT_SECONDS = 25
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
# After the grace period, answers cut short tell their users this long.
CANCEL_SECONDS = 8.0
LostUpdate = Callable[[PendingUpdate], Awaitable[None]]


class Intake:
    """Runs each update (and each resumed answer) as a task; `drain` waits for them."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._tasks: set[asyncio.Task[Any]] = set()

    def dispatch(self, update: Update, raw: dict[str, Any], **known: Any) -> asyncio.Task[None]:
        """`raw`: the update's JSON as it arrived; `known`: what the ingress already knows of
        its record (see DedupeMiddleware)."""
        feeding = self._feed(update, {RAW_KEY: raw, **known})
        task = asyncio.create_task(feeding, name=f"update:{update.update_id}")
        self.track(task)
        return task

    def track(self, *tasks: asyncio.Task[Any]) -> None:
        for task in tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def drain(self, grace: float) -> None:
        """Let the work in flight finish for `grace` seconds; then cancel it (answers cut
        short tell their users and are finished at the next start)."""
        if not self._tasks:
            return
        logger.info("waiting up to %s s for %d updates in flight", grace, len(self._tasks))
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        if not pending:
            return
        logger.warning(
            "%d updates not handled in time: cut short, resumed at the next start", len(pending)
        )
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=CANCEL_SECONDS)

    async def _feed(self, update: Update, data: dict[str, Any]) -> None:
        try:
            await self._dispatcher.feed_update(self._bot, update, **data)
        except Exception:  # the errors router handles what handlers raise; this is a backstop
            logger.exception("update %s failed outside its handlers", update.update_id)


class Poller:
    """The one `getUpdates` loop: inbox first, then the dispatcher."""

    def __init__(
        self,
        bot: Bot,
        intake: Intake,
        db: Database,
        allowed_updates: list[str],
        *,
        poll_timeout: int = POLL_TIMEOUT_SECONDS,
    ) -> None:
        self._bot = bot
        self._intake = intake
        self._db = db
        self._allowed = allowed_updates
        self._poll_timeout = poll_timeout

    async def run(self, lifecycle: Lifecycle) -> None:
        """Until the bot stops; a rejected token ends it (TelegramUnauthorizedError)."""
        poll = asyncio.create_task(self._loop(), name="polling")
        stopping = asyncio.create_task(lifecycle.wait_stopping())
        try:
            await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (poll, stopping):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopping
            with contextlib.suppress(asyncio.CancelledError):
                await poll  # raises what ended polling (a rejected token)

    async def _loop(self) -> None:
        offset: int | None = None
        delay = FIRST_BACKOFF_SECONDS
        request_timeout = int((self._bot.session.timeout or 60) + self._poll_timeout)
        method = GetRawUpdates(timeout=self._poll_timeout, allowed_updates=self._allowed)
        while True:
            method.offset = offset
            try:
                batch = await self._bot(method, request_timeout=request_timeout)
            except TelegramUnauthorizedError:
                raise
            except Exception as exc:  # Telegram or the network is down: try again later
                logger.warning(
                    "getUpdates failed (%s: %s); again in %.0f s", type(exc).__name__, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            delay = FIRST_BACKOFF_SECONDS
            if batch:
                received = await self._receive(batch)
                offset = max(int(raw.get("update_id", 0)) for raw in batch) + 1
                for update, raw, known in received:
                    self._intake.dispatch(update, raw, **{KNOWN_KEY: known})

    async def _receive(
        self, batch: list[dict[str, Any]]
    ) -> list[tuple[Update, dict[str, Any], tuple[str, str | None] | None]]:
        """Parse and store the batch before the offset confirms it to Telegram; with each
        update, what its record said before (a redelivery is known already)."""
        parsed: list[tuple[Update, dict[str, Any], UpdateMark]] = []
        skipped: list[UpdateMark] = []
        for raw in batch:
            update = parse(raw, self._bot)
            if update is None:
                if isinstance(raw.get("update_id"), int):
                    skipped.append(UpdateMark(raw["update_id"]))
                continue
            parsed.append((update, raw, UpdateMark(update.update_id, fingerprint(raw))))

        def receive(uow: UnitOfWork) -> dict[int, tuple[str, str | None]]:
            known = uow.updates.known([mark.update_id for _, _, mark in parsed])
            uow.updates.receive([(mark, raw) for _, raw, mark in parsed])
            uow.updates.mark(skipped)
            return known

        known = await self._db.write(receive)
        return [(update, raw, known.get(update.update_id)) for update, raw, _ in parsed]


async def replay_inbox(
    db: Database,
    bot: Bot,
    intake: Intake,
    window: timedelta,
    lost: LostUpdate,
    only: Callable[[dict[str, Any]], bool] | None = None,
) -> list[asyncio.Task[None]]:
    """Updates received before a stop whose effects were never committed: handled now (in
    order, behind the answers being recovered); older than `window`, the user is told.
    `only`: which of them (by raw update) to take up; default all. Returns their tasks."""
    pending = await db.read(lambda uow: uow.updates.pending())
    if only is not None:
        pending = [item for item in pending if only(item.raw)]
    now = datetime.now(UTC)
    late: list[UpdateMark] = []
    started: list[asyncio.Task[None]] = []
    for item in pending:
        update = parse(item.raw, bot)
        if update is None or now - item.received_at > window:
            late.append(UpdateMark(item.update_id))
            if update is not None:
                await lost(item)
            continue
        started.append(intake.dispatch(update, item.raw))
    if late:
        await db.write(lambda uow: uow.updates.mark(late))
    if started:
        logger.info("took up %d updates received before the restart", len(started))
    return started


class WebhookEndpoint:
    """Telegram's webhook calls: answered once the update is handled."""

    def __init__(self, bot: Bot, intake: Intake, lifecycle: Lifecycle, secret: str) -> None:
        self._bot = bot
        self._intake = intake
        self._lifecycle = lifecycle
        self._secret = secret

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return web.Response(status=401)
        if self._lifecycle.stopping:
            return web.Response(status=503, text="restarting")  # Telegram tries again later
        try:
            raw = await request.json()
        except ValueError:
            logger.warning("webhook: a request body that is not JSON was skipped")
            return web.Response()
        update = parse(raw, self._bot)
        if update is None:
            return web.Response()  # logged; answering 200 keeps Telegram from resending it
        task = self._intake.dispatch(update, raw)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                raise  # this request is cut (the server is closing): Telegram sends it again
        if task.cancelled():  # cut off by the shutdown before it was stored
            return web.Response(status=503, text="restarting")
        return web.Response()
