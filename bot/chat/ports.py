"""What the chat service needs from the outside world, as protocols it owns."""

from __future__ import annotations

from typing import Protocol


class AnswerView(Protocol):
    """Where an answer is shown while it is produced and once it is complete.

    The Telegram implementation lives in `bot.telegram`; tests may use their own.
    """

    async def start(self) -> None:
        """Show that an answer is on its way (typing, a draft, a placeholder)."""

    async def update(self, text: str) -> None:
        """The answer so far (Markdown). Implementations may skip or merge updates."""

    async def finish(self, markdown: str) -> list[int]:
        """Deliver the complete answer; returns the ids of the messages it occupies."""

    async def notice(self, text: str) -> list[int]:
        """Deliver a short plain-text notice (errors, warnings)."""

    async def close(self) -> None:
        """Stop any progress display. Safe to call more than once."""


class Translate(Protocol):
    def __call__(self, key: str, **args: object) -> str: ...
