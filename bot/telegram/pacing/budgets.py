"""Budgets: token buckets, sliding windows, and the per-chat state that holds them."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

EPSILON = 1e-9  # float slack, so a sleep of exactly the computed wait is enough


@dataclass
class TokenBucket:
    """``capacity`` tokens, one more every ``interval`` seconds."""

    capacity: float
    interval: float
    tokens: float
    stamp: float

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) / self.interval)
            self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 - EPSILON else (1 - self.tokens) * self.interval

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity - EPSILON


@dataclass
class SlidingWindow:
    """At most ``count`` events in any ``span`` seconds."""

    count: int
    span: float
    events: deque[float] = field(default_factory=deque)

    def wait(self, now: float, reserve: int = 0) -> float:
        """Seconds until one more event fits with `reserve` slots left over (0 when it does)."""
        while self.events and self.events[0] <= now - self.span + EPSILON:
            self.events.popleft()
        allowed = max(self.count - reserve, 1)
        if len(self.events) < allowed:
            return 0.0
        return self.events[len(self.events) - allowed] + self.span - now

    def take(self, now: float) -> None:
        self.events.append(now)

    def empty(self, now: float) -> bool:
        self.wait(now)
        return not self.events


@dataclass
class ChatState:
    """One chat's budgets, 429 block and queue of waiting final calls."""

    messages: TokenBucket
    drafts: TokenBucket
    group: SlidingWindow | None  # groups, supergroups and channels (chat_id < 0)
    last_used: float
    blocked_until: float = 0.0
    # Final calls waiting for their turn, FIFO; drafts apart so they never delay messages.
    message_queue: deque[asyncio.Event] = field(default_factory=deque)
    draft_queue: deque[asyncio.Event] = field(default_factory=deque)
    active: int = 0  # calls inside the pacer that hold this state

    @property
    def finals_waiting(self) -> bool:
        return bool(self.message_queue or self.draft_queue)


@dataclass(frozen=True)
class Limits:
    """Pacing limits after the jitter margin is applied."""

    chat_interval: float
    chat_burst: int
    draft_interval: float
    draft_burst: int
    group_count: int
    group_span: float


class ChatTable:
    """Per-chat state by chat id; idle chats are evicted so memory follows active chats."""

    def __init__(self, limits: Limits, idle_ttl: float, now: float) -> None:
        self._limits = limits
        self._idle_ttl = idle_ttl
        self._chats: dict[int, ChatState] = {}
        self._last_sweep = now

    def __len__(self) -> int:
        return len(self._chats)

    def get(self, chat_id: int) -> ChatState | None:
        return self._chats.get(chat_id)

    def state(self, chat_id: int, now: float) -> ChatState:
        """The chat's state, created with full budgets on first use."""
        chat = self._chats.get(chat_id)
        if chat is None:
            lim = self._limits
            chat = ChatState(
                messages=TokenBucket(lim.chat_burst, lim.chat_interval, lim.chat_burst, now),
                drafts=TokenBucket(lim.draft_burst, lim.draft_interval, lim.draft_burst, now),
                group=SlidingWindow(lim.group_count, lim.group_span) if chat_id < 0 else None,
                last_used=now,
            )
            self._chats[chat_id] = chat
        return chat

    def sweep(self, now: float) -> None:
        """Forget idle chats, at most once per ``idle_ttl`` (amortized O(1) per call)."""
        if now - self._last_sweep < self._idle_ttl:
            return
        self._last_sweep = now
        idle = [chat_id for chat_id, chat in self._chats.items() if self._idle(chat, now)]
        for chat_id in idle:
            del self._chats[chat_id]
        if idle:
            logger.debug("pacer evicted %d idle chats, %d left", len(idle), len(self._chats))

    def _idle(self, chat: ChatState, now: float) -> bool:
        return (
            chat.active == 0
            and not chat.finals_waiting
            and now >= chat.blocked_until
            and now - chat.last_used >= self._idle_ttl
            and chat.messages.full(now)
            and chat.drafts.full(now)
            and (chat.group is None or chat.group.empty(now))
        )
