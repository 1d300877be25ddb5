"""Telegram's flood limits, opt-in: per chat, per group and overall message rates."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .errors import too_many_requests

COUNTED = frozenset(
    {"sendmessage", "sendrichmessage", "sendphoto", "senddocument", "editmessagetext"}
)
DRAFTS = frozenset({"sendmessagedraft"})


@dataclass
class _Bucket:
    """Token bucket: ``capacity`` tokens, refilled at ``rate`` per second."""

    capacity: float
    rate: float
    tokens: float = -1.0
    stamp: float = 0.0

    def wait_time(self, now: float) -> float:
        if self.tokens < 0:
            self.tokens, self.stamp = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class _Window:
    """At most ``count`` events in any ``span`` seconds."""

    count: int
    span: float
    events: deque[float] = field(default_factory=deque)

    def wait_time(self, now: float) -> float:
        while self.events and self.events[0] <= now - self.span:
            self.events.popleft()
        return 0.0 if len(self.events) < self.count else self.events[0] + self.span - now

    def take(self, now: float) -> None:
        self.events.append(now)


@dataclass
class RateLimits:
    """Per chat ~1 msg/s (burst 3), 20 msgs/min per group, 30 msgs/s overall; drafts 4/s."""

    enforce: bool = False
    chat_burst: float = 3.0
    chat_rate: float = 1.0
    group_per_minute: int = 20
    global_per_second: int = 30
    draft_burst: float = 2.0
    draft_rate: float = 4.0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    _chats: dict[int, _Bucket] = field(default_factory=dict)
    _drafts: dict[int, _Bucket] = field(default_factory=dict)
    _groups: dict[int, _Window] = field(default_factory=dict)
    _global: _Window | None = None

    def check(self, method: str, chat_id: int | None, is_group: bool) -> None:
        """Raise 429 when the call would exceed a limit; otherwise count it."""
        if not self.enforce or chat_id is None or method not in COUNTED | DRAFTS:
            return
        now = time.monotonic()
        if method in DRAFTS:
            bucket = self._drafts.setdefault(chat_id, _Bucket(self.draft_burst, self.draft_rate))
            self._settle(method, chat_id, now, [bucket.wait_time(now)])
            bucket.take()
            return
        chat = self._chats.setdefault(chat_id, _Bucket(self.chat_burst, self.chat_rate))
        overall = self._global or _Window(self.global_per_second, 1.0)
        self._global = overall
        group = self._groups.setdefault(chat_id, _Window(self.group_per_minute, 60.0))
        waits = [chat.wait_time(now), overall.wait_time(now)]
        if is_group:
            waits.append(group.wait_time(now))
        self._settle(method, chat_id, now, waits)
        chat.take()
        overall.take(now)
        if is_group:
            group.take(now)

    def _settle(self, method: str, chat_id: int, now: float, waits: list[float]) -> None:
        wait = max(waits)
        if wait <= 0:
            return
        retry_after = max(1, math.ceil(wait))
        self.rejections.append(
            {"method": method, "chat_id": chat_id, "retry_after": retry_after, "at": now}
        )
        raise too_many_requests(retry_after)

    def reset(self) -> None:
        self._chats.clear()
        self._drafts.clear()
        self._groups.clear()
        self._global = None
        self.rejections.clear()
