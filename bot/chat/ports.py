"""What the chat service needs from the outside world, as protocols it owns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button under a notice: its label and the callback data it sends."""

    text: str
    data: str


class AnswerView(Protocol):
    """Where an answer is shown while it is produced and once it is complete.

    The Telegram implementation lives in `bot.telegram`; tests may use their own.
    """

    async def start(self) -> None:
        """Show that an answer is on its way (typing, a draft, a placeholder)."""

    async def update(self, text: str) -> None:
        """The answer so far (Markdown). Implementations may skip or merge updates."""

    async def finish(self, markdown: str, answer_id: int | None = None) -> list[int]:
        """Deliver the complete answer; returns the ids of the messages it occupies.

        `answer_id` identifies the stored answer (for feedback buttons under it).
        """

    async def notice(self, text: str, buttons: Sequence[Button] = ()) -> list[int]:
        """Deliver a short plain-text notice (errors, warnings, limits), with buttons under
        it (one per row)."""

    async def photo(self, data: bytes, caption: str = "") -> int:
        """Send a picture made during the answer (a generated image); returns its id."""

    async def close(self) -> None:
        """Stop any progress display. Safe to call more than once."""


class AnswerViews(Protocol):
    """Makes the view for one answer; `generation_id` identifies it for Stop controls."""

    def __call__(self, generation_id: int) -> AnswerView: ...


class Translate(Protocol):
    locale: str  # the interface language the texts are in

    def __call__(self, key: str, **args: object) -> str: ...
