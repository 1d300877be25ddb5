"""Per-chat ordering and paste merging.

`ChatLocks` gives each chat a FIFO lock: updates of one chat are handled one at a time, in the
order they started waiting, while other chats run concurrently.

`PasteMerger` handles Telegram splitting a long paste into several messages: when a message is
long enough to be such a part, its turn is deferred for a short window; further messages of the
same user in that chat join it. Anything else arriving for the chat first flushes the deferred
turn under the chat lock, so order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.chat.inputs import UserInput

logger = logging.getLogger(__name__)

TurnRunner = Callable[[UserInput], Awaitable[None]]
DROPPED_ALBUMS_KEPT = 1000


@dataclass(slots=True)
class _LockEntry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class ChatLocks:
    def __init__(self) -> None:
        self._entries: dict[int, _LockEntry] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        entry = self._entries.setdefault(chat_id, _LockEntry())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[chat_id]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def waiting(self) -> int:
        """Updates queued behind their chat's current one."""
        return sum(entry.users - 1 for entry in self._entries.values())


@dataclass(slots=True)
class _Pending:
    input: UserInput
    run: TurnRunner
    deadline: float
    window: float


class PasteMerger:
    def __init__(self, locks: ChatLocks, *, window: float, threshold: int) -> None:
        self._locks = locks
        self._window = window
        self._threshold = threshold
        self._pending: dict[int, _Pending] = {}
        self._dropped: OrderedDict[tuple[int, str], None] = OrderedDict()
        self._timers: set[asyncio.Task[None]] = set()

    def looks_split(self, text: str) -> bool:
        """Long enough to be one part of a paste that Telegram split."""
        return self._window > 0 and len(text) >= self._threshold

    def drop_album(self, chat_id: int, album_id: str) -> None:
        """The album was refused (its first photo was answered with the reason): its other
        photos are swallowed, so the user hears the reason once."""
        self._dropped[(chat_id, album_id)] = None
        while len(self._dropped) > DROPPED_ALBUMS_KEPT:
            self._dropped.popitem(last=False)

    def try_append(self, turn: UserInput) -> bool:
        """Join `turn` to a deferred turn it continues (the same user's paste, the same
        album), if there is one. Parts of a refused album are taken and dropped."""
        if turn.album_id is not None and (turn.chat_id, turn.album_id) in self._dropped:
            return True
        pending = self._pending.get(turn.chat_id)
        if pending is None or not pending.input.continues(turn):
            return False
        pending.input = pending.input.merged_with(turn)
        pending.deadline = time.monotonic() + pending.window
        return True

    def defer(self, turn: UserInput, run: TurnRunner, *, window: float | None = None) -> None:
        """Run `turn` once no further part has arrived for `window` seconds (default: the
        paste window)."""
        window = self._window if window is None else window
        pending = _Pending(turn, run, time.monotonic() + window, window)
        self._pending[turn.chat_id] = pending
        task = asyncio.create_task(self._fire(turn.chat_id, pending), name=f"paste:{turn.chat_id}")
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def flush(self, chat_id: int, user_id: int | None = None) -> None:
        """Run the chat's deferred turn now. Call with the chat's lock held.

        Another member's message does not cut a pending album short (in a group, chatter
        would otherwise split it); it is answered first, the album when it is complete."""
        pending = self._pending.get(chat_id)
        if pending is None:
            return
        if pending.input.album_id is not None and user_id not in (None, pending.input.user_id):
            return
        del self._pending[chat_id]
        await pending.run(pending.input)

    async def close(self) -> None:
        for task in list(self._timers):
            task.cancel()
        for task in list(self._timers):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _fire(self, chat_id: int, pending: _Pending) -> None:
        # Each appended part moves the deadline, so sleep until it stops moving.
        while (delay := pending.deadline - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
        async with self._locks.hold(chat_id):
            if self._pending.get(chat_id) is not pending:
                return  # another update of this chat flushed it first
            del self._pending[chat_id]
            try:
                await pending.run(pending.input)
            except Exception:
                logger.exception("chat %s: deferred turn failed", chat_id)
