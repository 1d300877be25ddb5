"""The pacer middleware: final calls wait their turn, droppable ones give way (see package doc)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import Response, TelegramMethod, TelegramType

from .budgets import EPSILON, ChatState, ChatTable, Limits, SlidingWindow
from .routes import Kind, Route, route_of

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.coordination.ports import SharedBudgets

logger = logging.getLogger(__name__)

# Set by ``Pacer.droppable``; flows through ``await bot.send_...(...)`` into the middleware.
_max_wait: ContextVar[float | None] = ContextVar("pacer_droppable_max_wait", default=None)
# Set by ``Pacer.droppable(abandon=...)``: a droppable call still waiting for its budget when
# this event is set is dropped at once (its answer is ready: the update is moot).
_abandon: ContextVar[asyncio.Event | None] = ContextVar("pacer_droppable_abandon", default=None)
# Set by ``held_back``: the seconds final calls made inside waited for their budgets.
_held: ContextVar[list[float] | None] = ContextVar("pacer_held_back", default=None)


@contextmanager
def held_back() -> Iterator[list[float]]:
    """Collect how long the final calls made inside waited for Telegram's limits (the
    benchmark tells that apart from the bot's own time)."""
    waits: list[float] = []
    token = _held.set(waits)
    try:
        yield waits
    finally:
        _held.reset(token)


# Droppable edits in a group leave this many of its per-minute slots to final messages, so a
# long answer's progress edits can never make its final message wait for the window.
GROUP_FINAL_RESERVE = 4

Next = NextRequestMiddlewareType[TelegramType]


def is_droppable() -> bool:
    """Whether the current call was marked droppable (``Pacer.droppable``)."""
    return _max_wait.get() is not None


class PacingDropped(Exception):
    """A droppable call was not sent (no budget in time, a final call waiting, or a 429)."""

    def __init__(self, method: str, chat_id: int | str | None, reason: str) -> None:
        super().__init__(f"{method} for chat {chat_id} dropped: {reason}")
        self.method = method
        self.chat_id = chat_id
        self.reason = reason


@dataclass
class PacerStats:
    """Counters for operators and benchmarks."""

    sent: int = 0  # counted sends and drafts that Telegram accepted
    dropped: int = 0  # droppable calls not sent
    retry_after_received: int = 0  # 429s seen, on any method
    waited_seconds_total: float = 0.0  # time calls spent held by the pacer
    actions_skipped: int = 0  # sendChatAction calls answered without a call during a block


class Pacer(BaseRequestMiddleware):
    """Request middleware that keeps every Bot API call under Telegram's flood limits."""

    def __init__(
        self,
        *,
        chat_rate: float = 1.0,
        chat_burst: int = 3,
        group_per_minute: int = 20,
        global_per_second: int = 30,
        draft_rate: float = 4.0,
        draft_burst: int = 2,
        margin: float = 0.1,
        max_attempts: int = 5,
        idle_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared: SharedBudgets | None = None,
    ) -> None:
        """`shared`: budgets other processes spend too (Redis); a counted send then waits
        for them as well, after this pacer's own, and a 429 is told to them."""
        if min(chat_rate, draft_rate) <= 0 or min(chat_burst, draft_burst) < 1:
            raise ValueError("rates must be positive and bursts at least 1")
        if min(group_per_minute, global_per_second, max_attempts) < 1 or margin < 0:
            raise ValueError("limits and max_attempts must be at least 1, margin >= 0")
        limits = Limits(
            # The margin is relative for the chat budget: 10 % of one second at Telegram's
            # 1 message/s, and no cap of 10 a second on a bot whose limits were raised.
            chat_interval=(1 / chat_rate) * (1 + margin),
            chat_burst=chat_burst,
            draft_interval=1 / draft_rate + margin,
            draft_burst=draft_burst,
            group_count=group_per_minute,
            group_span=60.0 + margin,
        )
        self._clock = clock
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._chats = ChatTable(limits, idle_ttl, clock())
        self._global = SlidingWindow(global_per_second, 1.0 + margin)
        self._global_blocked_until = 0.0
        # Final counted sends waiting for the global budget (and only for it), in order.
        self._global_queue: deque[asyncio.Event] = deque()
        self._shared = shared
        self._blocking: set[asyncio.Task[None]] = set()
        self.stats = PacerStats()

    @contextmanager
    def droppable(
        self, max_wait: float = 0.0, abandon: asyncio.Event | None = None
    ) -> Iterator[None]:
        """Mark the calls made inside as droppable: wait at most ``max_wait`` s, else drop;
        drop at once when ``abandon`` is set while they wait (a request already sent is not
        recalled)."""
        if max_wait < 0:
            raise ValueError("max_wait must be >= 0")
        token = _max_wait.set(max_wait)
        abandon_token = _abandon.set(abandon)
        try:
            yield
        finally:
            _abandon.reset(abandon_token)
            _max_wait.reset(token)

    @property
    def tracked_chats(self) -> int:
        """How many chats have pacing state in memory."""
        return len(self._chats)

    async def __call__(
        self, make_request: Next[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        route = route_of(method)
        if route.kind is Kind.FREE:
            return await self._free(make_request, bot, method, route)
        if route.kind is Kind.ACTION:
            return await self._action(make_request, bot, method, route)
        max_wait = _max_wait.get()
        now = self._clock()
        self._chats.sweep(now)
        chat = self._chats.state(route.chat_id, now) if route.chat_id is not None else None
        if chat is not None:
            chat.active += 1
        try:
            if max_wait is None:
                return await self._final(make_request, bot, method, route, chat)
            return await self._droppable(make_request, bot, method, route, chat, max_wait)
        finally:
            if chat is not None:
                chat.active -= 1
                chat.last_used = self._clock()

    # --- the four paths --------------------------------------------------------------------

    async def _free(
        self,
        make_request: Next[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        route: Route,
    ) -> Response[TelegramType]:
        if route.target is not None:  # a call about a chat waits out that chat's block
            start = self._clock()
            while (wait := self._block_wait(route, self._clock())) > 0:
                await self._sleep(wait)
            self.stats.waited_seconds_total += self._clock() - start
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            self._on_retry_after(route, exc)
            raise

    async def _action(
        self,
        make_request: Next[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        route: Route,
    ) -> Response[TelegramType]:
        # aiogram's session returns the middleware's value as the method's result: True here.
        skipped = cast("Response[TelegramType]", True)
        if self._block_wait(route, self._clock()) > 0:
            self.stats.actions_skipped += 1
            return skipped
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            self._on_retry_after(route, exc)
            self.stats.actions_skipped += 1
            return skipped

    async def _final(
        self,
        make_request: Next[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        route: Route,
        chat: ChatState | None,
    ) -> Response[TelegramType]:
        attempt = 1
        while True:
            waited = await self._timed(self._acquire_final(route, chat, retry=attempt > 1))
            held = _held.get()
            if held is not None:
                held.append(waited)
            try:
                result = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self._on_retry_after(route, exc)
                if attempt >= self._max_attempts:
                    raise
                attempt += 1
                continue
            self.stats.sent += 1
            return result

    async def _droppable(
        self,
        make_request: Next[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        route: Route,
        chat: ChatState | None,
        max_wait: float,
    ) -> Response[TelegramType]:
        await self._timed(self._acquire_droppable(route, chat, max_wait))
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter as exc:
            self._on_retry_after(route, exc)
            self.stats.dropped += 1
            raise PacingDropped(route.name, route.target, "429 from Telegram") from exc
        self.stats.sent += 1
        return result

    # --- waiting for a slot ----------------------------------------------------------------

    async def _acquire_final(self, route: Route, chat: ChatState | None, *, retry: bool) -> None:
        """Wait for this call's turn in its chat's FIFO, then for its budgets; spend them.

        Counted sends that only wait for the global budget queue for it in arrival order
        (one FIFO across chats), so a chat's final message never waits far longer than
        another's: the global budget is fair."""
        ticket = asyncio.Event()
        queue = None
        if chat is not None:
            queue = chat.draft_queue if route.kind is Kind.DRAFT else chat.message_queue
        if queue is not None:
            # A retry goes first: it was already at the head when Telegram pushed back.
            (queue.appendleft if retry else queue.append)(ticket)
        fair = self._global_queue
        try:
            while True:
                if queue is not None and queue[0] is not ticket:
                    ticket.clear()
                    await ticket.wait()
                    continue
                now = self._clock()
                chat_wait, global_wait = self._waits(route, chat, now)
                if chat_wait > 0:  # not this chat's moment yet: no place in the global queue
                    self._leave(fair, ticket)
                    await self._sleep(chat_wait)
                    continue
                if route.kind is Kind.MESSAGE:
                    if ticket not in fair:
                        (fair.appendleft if retry else fair.append)(ticket)
                    if fair[0] is not ticket:
                        ticket.clear()
                        await ticket.wait()
                        continue
                if global_wait <= 0:
                    shared_wait = await self._take_shared(route)
                    if shared_wait > 0:
                        await self._sleep(shared_wait)
                        continue
                    self._spend(route, chat, self._clock())
                    return
                await self._sleep(global_wait)
        finally:
            self._leave(fair, ticket)
            if queue is not None:
                self._leave(queue, ticket)

    @staticmethod
    def _leave(queue: deque[asyncio.Event], ticket: asyncio.Event) -> None:
        """Out of `queue`, waking whoever is at its head now."""
        if ticket in queue:
            queue.remove(ticket)
            if queue:
                queue[0].set()

    async def _acquire_droppable(
        self, route: Route, chat: ChatState | None, max_wait: float
    ) -> None:
        """Spend the budgets within ``max_wait`` seconds, or raise `PacingDropped`."""
        deadline = self._clock() + max_wait
        abandon = _abandon.get()
        while True:
            if abandon is not None and abandon.is_set():
                raise self._drop(route, "its answer is ready")
            if chat is not None and chat.finals_waiting:
                raise self._drop(route, "a final call for the chat is waiting")
            if route.kind is Kind.MESSAGE and self._global_queue:
                raise self._drop(route, "a final call is waiting for the global budget")
            now = self._clock()
            wait = max(self._waits(route, chat, now, reserve=GROUP_FINAL_RESERVE))
            if wait <= 0:
                wait = await self._take_shared(route)
                now = self._clock()
            if wait <= 0:
                self._spend(route, chat, now)
                return
            if now + wait > deadline + EPSILON:
                raise self._drop(route, f"no budget for {wait:.2f} s")
            await self._sleep_unless(abandon, wait)

    async def _sleep_unless(self, abandon: asyncio.Event | None, seconds: float) -> None:
        """Sleep, cut short when ``abandon`` is set."""
        if abandon is None:
            await self._sleep(seconds)
            return
        sleeping = asyncio.ensure_future(self._sleep(seconds))
        abandoned = asyncio.ensure_future(abandon.wait())
        try:
            await asyncio.wait((sleeping, abandoned), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (sleeping, abandoned):
                waiter.cancel()

    def _waits(
        self, route: Route, chat: ChatState | None, now: float, reserve: int = 0
    ) -> tuple[float, float]:
        """Seconds until the chat's budgets, and the global ones, allow this call.

        `reserve` group slots must stay free (droppable calls leave room for final ones).
        """
        global_wait = self._global_blocked_until - now
        if route.kind is Kind.MESSAGE:
            global_wait = max(global_wait, self._global.wait(now))
        chat_wait = 0.0
        if chat is not None:
            chat_wait = chat.blocked_until - now
            if route.kind is Kind.MESSAGE:
                chat_wait = max(chat_wait, chat.messages.wait(now))
                if chat.group is not None:
                    chat_wait = max(chat_wait, chat.group.wait(now, reserve))
            else:
                chat_wait = max(chat_wait, chat.drafts.wait(now))
        return max(chat_wait, 0.0), max(global_wait, 0.0)

    def _spend(self, route: Route, chat: ChatState | None, now: float) -> None:
        if route.kind is Kind.MESSAGE:
            self._global.take(now)
        if chat is None:
            return
        chat.last_used = now
        if route.kind is Kind.DRAFT:
            chat.drafts.take(now)
            return
        chat.messages.take(now)
        if chat.group is not None:
            chat.group.take(now)

    async def _take_shared(self, route: Route) -> float:
        """Spend the shared budgets of a counted send (0), or the seconds to wait for them."""
        if self._shared is None or route.kind is not Kind.MESSAGE:
            return 0.0
        return await self._shared.take(route.chat_id)

    def _block_wait(self, route: Route, now: float) -> float:
        """Seconds left of a 429 block that covers this call (0 when none)."""
        wait = self._global_blocked_until - now
        chat = self._chats.get(route.chat_id) if route.chat_id is not None else None
        if chat is not None:
            wait = max(wait, chat.blocked_until - now)
        return max(wait, 0.0)

    async def _timed(self, waiting: Awaitable[None]) -> float:
        start = self._clock()
        try:
            await waiting
        finally:
            waited = self._clock() - start
            self.stats.waited_seconds_total += waited
        return waited

    def _drop(self, route: Route, reason: str) -> PacingDropped:
        self.stats.dropped += 1
        logger.debug("dropped %s for chat %s: %s", route.name, route.target, reason)
        return PacingDropped(route.name, route.target, reason)

    def _on_retry_after(self, route: Route, exc: TelegramRetryAfter) -> None:
        """Block the call's chat (every chat when it had none) for ``retry_after`` seconds."""
        now = self._clock()
        until = now + max(exc.retry_after, 0)
        self.stats.retry_after_received += 1
        if route.chat_id is None:
            self._global_blocked_until = max(self._global_blocked_until, until)
            scope = "all chats"
        else:
            chat = self._chats.state(route.chat_id, now)
            chat.blocked_until = max(chat.blocked_until, until)
            chat.last_used = now
            scope = f"chat {route.chat_id}"
        if self._shared is not None:  # other processes hold back too
            task = asyncio.create_task(self._shared.block(route.chat_id, exc.retry_after))
            self._blocking.add(task)
            task.add_done_callback(self._blocking.discard)
        logger.warning(
            "429 from Telegram on %s: %s blocked for %s s", route.name, scope, exc.retry_after
        )
