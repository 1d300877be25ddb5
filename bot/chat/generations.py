"""Answers being generated right now, so that a Stop control can end one.

Stop controls bypass the chat's ordering lock (they must reach a chat that is busy answering),
so this registry is the only state they touch.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

MAX_DRAFT_ID = 2**31 - 1


@dataclass(slots=True)
class Generation:
    chat_id: int
    id: int
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def is_stopped(self) -> bool:
        return self.stopped.is_set()


class Generations:
    def __init__(self) -> None:
        self._active: dict[int, Generation] = {}

    def begin(self, chat_id: int) -> Generation:
        """The id doubles as Telegram's draft id: non-zero and unique per answer."""
        generation = Generation(chat_id, secrets.randbelow(MAX_DRAFT_ID) + 1)
        self._active[chat_id] = generation
        return generation

    def end(self, generation: Generation) -> None:
        if self._active.get(generation.chat_id) is generation:
            del self._active[generation.chat_id]

    def stop(self, chat_id: int, generation_id: int | None = None) -> bool:
        """Stop the chat's current answer (if `generation_id` is given, only that one)."""
        generation = self._active.get(chat_id)
        if generation is None or (generation_id is not None and generation.id != generation_id):
            return False
        generation.stopped.set()
        return True

    def __len__(self) -> int:
        return len(self._active)
