"""Sending a broadcast: every pending recipient once, at a steady share of Telegram's global
budget, each recipient's outcome recorded as it happens, so a restart resumes where it was.

Workers take recipients (by user id) from the database in batches; a limiter spaces the sends
at `rate` per second (the configured share of the global 30/s, so chats keep flowing; every
call still goes through the pacer). Each outcome is committed right after its send: a crash
can repeat only the sends in flight. A recipient who blocked the bot is marked inactive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Protocol

from bot.broadcasts.content import BroadcastContent
from bot.observability.metrics import BROADCAST_SENDS
from bot.storage.database import Database
from bot.storage.dto import Broadcast, BroadcastState, Recipient, RecipientState
from bot.storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

BATCH = 500
MAX_WORKERS = 32


class RecipientBlockedError(Exception):
    """The user blocked the bot (403)."""


class RecipientFailedError(Exception):
    """Telegram refused the message for this user, or kept failing past the retry budget."""


class Sender(Protocol):
    async def send(self, recipient: Recipient, content: BroadcastContent) -> int:
        """The message id; raises RecipientBlockedError or RecipientFailedError."""


class Progress(Protocol):
    async def update(self, broadcast: Broadcast, counts: dict[RecipientState, int]) -> None: ...

    async def finished(
        self, broadcast: Broadcast, counts: dict[RecipientState, int], seconds: float
    ) -> None: ...

    async def crashed(self, broadcast: Broadcast) -> None:
        """The broadcast stopped on an error (logged); it resumes at the next start."""


class Limiter:
    """At most `rate` sends a second, evenly spaced."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep

    async def wait(self) -> None:
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


@dataclass(frozen=True, slots=True)
class Pace:
    rate: float  # sends per second
    progress_interval: float  # seconds between progress updates

    @property
    def workers(self) -> int:
        """Enough sends in flight to keep the rate with ~0.5 s round trips."""
        return max(1, min(MAX_WORKERS, math.ceil(self.rate / 2)))


Guard = Callable[[int], AbstractAsyncContextManager[bool]]
"""Whether this process may send a broadcast now (with [redis], another may be sending it);
held while it does."""


class BroadcastRunner:
    def __init__(
        self,
        db: Database,
        sender: Sender,
        progress: Progress,
        pace: Pace,
        guard: Guard | None = None,
    ) -> None:
        """`guard`: with several processes, a broadcast is sent by one at a time."""
        self._db = db
        self._sender = sender
        self._progress = progress
        self._pace = pace
        self._guard = guard
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._notices: set[asyncio.Task[None]] = set()

    def start(self, broadcast: Broadcast) -> None:
        if broadcast.id in self._tasks:
            return
        task = asyncio.create_task(self._guarded(broadcast), name=f"broadcast:{broadcast.id}")
        self._tasks[broadcast.id] = task
        task.add_done_callback(lambda done: self._ended(broadcast, done))

    def _ended(self, broadcast: Broadcast, task: asyncio.Task[None]) -> None:
        """A broadcast's task is over: finished, stopped, or crashed (said, not swallowed:
        its pending recipients wait for the next start, and the operator is told so)."""
        self._tasks.pop(broadcast.id, None)
        if task.cancelled() or task.exception() is None:
            return
        logger.error(
            "broadcast %s: stopped by an error; its pending recipients get it at the next start",
            broadcast.id,
            exc_info=task.exception(),
        )
        notice = asyncio.create_task(self._tell_crashed(broadcast))
        self._notices.add(notice)
        notice.add_done_callback(self._notices.discard)

    async def _tell_crashed(self, broadcast: Broadcast) -> None:
        try:
            await self._progress.crashed(broadcast)
        except Exception:  # the log above already says what matters
            logger.exception("broadcast %s: the operator was not told of the error", broadcast.id)

    async def resume(self) -> int:
        """Broadcasts a stopped process left unfinished go on (their pending recipients).
        With a guard, only those no other process is sending; called again and again, it
        takes up those of a process that died."""
        unfinished = await self._db.read(lambda uow: uow.broadcasts.sending())
        for broadcast in unfinished:
            if broadcast.id not in self._tasks and self._guard is None:
                logger.info("broadcast %s: resumed", broadcast.id)
            self.start(broadcast)
        return len(unfinished)

    async def _guarded(self, broadcast: Broadcast) -> None:
        if self._guard is None:
            await self._run(broadcast)
            return
        async with self._guard(broadcast.id) as mine:
            if mine:
                logger.info("broadcast %s: sending from this process", broadcast.id)
                await self._run(broadcast)

    async def wait(self, broadcast_id: int) -> None:
        task = self._tasks.get(broadcast_id)
        if task is not None:
            await asyncio.shield(task)

    async def stop(self) -> None:
        """Stop sending (a shutdown): pending recipients stay pending for the next start."""
        tasks = [*self._tasks.values(), *self._notices]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, broadcast: Broadcast) -> None:
        content = BroadcastContent.from_json(broadcast.content)
        limiter = Limiter(self._pace.rate)
        queue: asyncio.Queue[Recipient | None] = asyncio.Queue(maxsize=2 * self._pace.workers)
        started = time.monotonic()
        workers = [
            asyncio.create_task(self._worker(broadcast.id, content, queue, limiter))
            for _ in range(self._pace.workers)
        ]
        reporter = asyncio.create_task(self._report(broadcast))
        try:
            await self._feed(broadcast.id, queue)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        finally:
            for task in (*workers, reporter):
                task.cancel()
            await asyncio.gather(*workers, reporter, return_exceptions=True)

        def finish(uow: UnitOfWork) -> dict[RecipientState, int]:
            uow.broadcasts.finish(broadcast.id, BroadcastState.DONE, datetime.now(UTC))
            return uow.broadcasts.counts(broadcast.id)

        counts = await self._db.write(finish)
        logger.info("broadcast %s: done %s", broadcast.id, dict(counts))
        await self._progress.finished(broadcast, counts, time.monotonic() - started)

    async def _feed(self, broadcast_id: int, queue: asyncio.Queue[Recipient | None]) -> None:
        after = 0
        while True:
            batch = await self._db.read(partial(_pending, broadcast_id, after))
            if not batch:
                return
            for recipient in batch:
                await queue.put(recipient)
            after = batch[-1].user_id

    async def _worker(
        self,
        broadcast_id: int,
        content: BroadcastContent,
        queue: asyncio.Queue[Recipient | None],
        limiter: Limiter,
    ) -> None:
        while (recipient := await queue.get()) is not None:
            await limiter.wait()
            message_id, error = None, None
            try:
                message_id = await self._sender.send(recipient, content)
                state = RecipientState.SENT
            except RecipientBlockedError as exc:
                state, error = RecipientState.BLOCKED, str(exc)
            except RecipientFailedError as exc:
                state, error = RecipientState.FAILED, str(exc)
                logger.warning(
                    "broadcast %s: user %s failed: %s", broadcast_id, recipient.user_id, exc
                )
            await self._record(broadcast_id, recipient.user_id, state, message_id, error)

    async def _record(
        self,
        broadcast_id: int,
        user_id: int,
        state: RecipientState,
        message_id: int | None,
        error: str | None,
    ) -> None:

        def record(uow: UnitOfWork) -> None:
            uow.broadcasts.record(broadcast_id, user_id, state, message_id, error)
            if state is RecipientState.BLOCKED:
                uow.users.set_blocked(user_id, datetime.now(UTC))

        await self._db.write(record)
        BROADCAST_SENDS.labels(state.value).inc()

    async def _report(self, broadcast: Broadcast) -> None:
        last: dict[RecipientState, int] = {}
        while True:
            await asyncio.sleep(self._pace.progress_interval)
            counts = await self._db.read(lambda uow: uow.broadcasts.counts(broadcast.id))
            if counts != last:
                last = counts
                try:
                    await self._progress.update(broadcast, counts)
                except Exception:  # progress is cosmetic; the report at the end is not
                    logger.exception("broadcast %s: progress not shown", broadcast.id)


def _pending(broadcast_id: int, after: int, uow: UnitOfWork) -> list[Recipient]:
    return uow.broadcasts.pending(broadcast_id, after, BATCH)
