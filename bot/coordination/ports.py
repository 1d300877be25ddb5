"""The coordination interface (see the package doc)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiogram.fsm.storage.base import BaseStorage

StopHandler = Callable[[int, int | None], bool]
"""Stops this process's answer in a chat (only the given generation, when one is given);
True when it was running here."""


@dataclass(frozen=True, slots=True)
class Invalidation:
    """Something changed that other processes may hold a copy of."""

    records: frozenset[tuple[str, int]] = field(default_factory=frozenset)
    """Chat and user records (see `bot.storage.cache.RecordCache`)."""
    characters: bool = False
    """The character files changed (an edit from Telegram)."""
    everything: bool = False
    """Changes may have been missed (the subscription was lost for a while): drop every copy."""


InvalidationHandler = Callable[[Invalidation], Awaitable[None]]


class SharedBudgets(Protocol):
    """Telegram's flood limits across processes, on top of each process's pacer."""

    async def take(self, chat_id: int | None) -> float:
        """Spend one counted send of the global budget and of the chat's (when given); or,
        spending nothing, say how many seconds to wait first (a 429 block, empty buckets)."""

    async def block(self, chat_id: int | None, seconds: float) -> None:
        """Telegram answered 429: hold the chat (every chat when None) for `seconds`."""


class Coordination(Protocol):
    @property
    def fsm_storage(self) -> BaseStorage:
        """Where aiogram keeps conversation states (a form's next step)."""

    @property
    def budgets(self) -> SharedBudgets | None:
        """Budgets shared with other processes; None: the pacer alone keeps the limits."""

    def serve_stops(self, handler: StopHandler) -> None:
        """Who ends this process's answers when a Stop is pressed (here or elsewhere)."""

    def serve_invalidations(self, handler: InvalidationHandler) -> None:
        """Who drops this process's stale copies when another process changes something."""

    async def start(self) -> None:
        """Begin listening to the other processes."""

    async def stop_answer(self, chat_id: int, generation_id: int | None = None) -> bool:
        """Stop the chat's answer in whichever process generates it; True if one was."""

    def invalidate(self, change: Invalidation) -> None:
        """Tell the other processes (not this one) of a committed change; never waits."""

    async def close(self) -> None: ...
