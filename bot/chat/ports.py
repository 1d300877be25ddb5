"""What the chat service needs from the outside world, as protocols it owns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button under a notice: its label and the callback data it sends."""

    text: str
    data: str


Part = dict[str, Any]
"""One final message of an answer as the view planned it (JSON, stored in the turn's outbox
before it is sent; opaque here)."""


class DeliveryError(Exception):
    """A part could not be delivered. `permanent` when Telegram refused it for good (the user
    blocked the bot, the chat is gone); otherwise a later attempt may succeed."""

    def __init__(self, detail: str, *, permanent: bool) -> None:
        super().__init__(detail)
        self.permanent = permanent


Journal = Callable[[Sequence[int]], Awaitable[None]]
"""Records the messages an answer shows while it is produced (the whole list each time)."""


class AnswerView(Protocol):
    """Where an answer is shown while it is produced and once it is complete.

    The Telegram implementation lives in `bot.telegram`; tests may use their own.
    """

    async def start(self) -> None:
        """Show that an answer is on its way (typing, a draft, a placeholder)."""

    async def update(self, text: str) -> None:
        """The answer so far (Markdown). Implementations may skip or merge updates."""

    async def settle(self) -> None:
        """Stop showing progress; messages shown while streaming stay (see `visible`)."""

    @property
    def visible(self) -> tuple[int, ...]:
        """Messages the answer shows so far (placeholders, parts sent while streaming)."""

    async def record_visible(self, journal: Journal, recorded: Sequence[int] = ()) -> None:
        """Record the visible messages with `journal` whenever they change (now, unless they
        are `recorded` already)."""

    def final_parts(self, markdown: str, answer_id: int | None = None) -> list[Part]:
        """The complete answer as the messages to send, after `settle`. `answer_id`
        identifies the stored answer (for feedback buttons under it)."""

    def notice_parts(self, text: str, buttons: Sequence[Button] = ()) -> list[Part]:
        """A short plain-text notice (errors, warnings, limits) as the messages to send, with
        buttons under it (one per row), after `settle`."""

    async def send(self, part: Part) -> list[int]:
        """Send one part; returns the ids of the messages it became. Raises DeliveryError."""

    @property
    def paced_seconds(self) -> float:
        """How long the parts sent so far waited for Telegram's rate limits."""

    async def photo(self, data: bytes, caption: str = "") -> int:
        """Send a picture made during the answer (a generated image); returns its id."""

    async def close(self) -> None:
        """Stop any progress display. Safe to call more than once."""


class AnswerViews(Protocol):
    """Makes the view for one answer; `generation_id` identifies it for Stop controls."""

    def __call__(self, generation_id: int) -> AnswerView: ...


@dataclass(frozen=True, slots=True)
class Screened:
    """What the content filter is told about a text it checks (for its record of blocks)."""

    subject: str  # "question" or "answer"
    chat_id: int
    user_id: int | None
    answer_id: int
    route: str | None
    model: str


class ContentFilter(Protocol):
    """Keeps answers (and, if configured, questions) on kept-out topics from chats where the
    filter applies. Implemented in `bot.moderation`."""

    @property
    def checks_questions(self) -> bool: ...

    def applies(self, chat_id: int, private: bool) -> bool:
        """Whether answers in this chat are checked (cheap: no model involved)."""

    async def refusal(self, text: str, about: Screened, t: Translate) -> str | None:
        """The short refusal to show instead of `text` when it is on a kept-out topic (the
        block is recorded for the operators, never the text); None when it may be shown."""


class Translate(Protocol):
    locale: str  # the interface language the texts are in

    def __call__(self, key: str, **args: object) -> str: ...
