"""What the streaming views share: settings, the pacer's drop policy, keyboards, translator,
and the life of a view (progress, the answer's messages, delivery of the final parts)."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.chat.ports import Button, Part, Translate
from bot.telegram.formatting import render_markdown, render_plain
from bot.telegram.outbox import PartSender
from bot.telegram.pacing import held_back
from bot.telegram.sender import MessageSender
from bot.telegram.views.final import AnswerMessages, Journal
from bot.telegram.views.ticker import Ticker

logger = logging.getLogger(__name__)


class DropPolicy(Protocol):
    """The pacer's marker for intermediate calls it may drop under pressure."""

    def droppable(
        self, max_wait: float = 0.0, abandon: asyncio.Event | None = None
    ) -> AbstractContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """From `[telegram]` in the config, where the defaults and their reasons live."""

    draft_interval: float
    edit_interval: float
    rich_messages: bool


class StopGeneration(CallbackData, prefix="stop"):
    generation: int


FeedbackMarkup = Callable[[int, Translate], InlineKeyboardMarkup]


@dataclass(frozen=True, slots=True)
class ViewContext:
    bot: Bot
    sender: MessageSender
    parts: PartSender
    pacing: DropPolicy
    settings: StreamSettings
    feedback_markup: FeedbackMarkup | None = None


def stop_markup(generation_id: int, t: Translate) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("button-stop"), callback_data=StopGeneration(generation=generation_id))
    return builder.as_markup()


def feedback_for(
    ctx: ViewContext, answer_id: int | None, t: Translate
) -> InlineKeyboardMarkup | None:
    if ctx.feedback_markup is None or answer_id is None:
        return None
    return ctx.feedback_markup(answer_id, t)


def buttons_markup(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """A notice's buttons, one per row (None without buttons)."""
    if not buttons:
        return None
    builder = InlineKeyboardBuilder()
    for button in buttons:
        builder.button(text=button.text, callback_data=button.data)
    builder.adjust(1)
    return builder.as_markup()


class AnswerViewBase(abc.ABC):
    """Progress on a ticker (subclasses show it), the answer's messages, final delivery."""

    def __init__(
        self,
        ctx: ViewContext,
        chat_id: int,
        reply_to: int | None,
        t: Translate,
        stale: Sequence[int],
        interval: float,
        first_delay: float = 0.0,
        hidden: bool = False,
    ) -> None:
        self._ctx = ctx
        self._hidden = hidden  # progress without the text (the content filter checks it first)
        self._chat_id = chat_id
        self._t = t
        self.messages = AnswerMessages(chat_id, reply_to, stale)
        self._ticker = Ticker(interval, self._show, first_delay=first_delay)
        self._tasks: set[asyncio.Task[None]] = set()
        self._settled = False
        # Set when the answer is ready: progress updates still waiting for a budget give up,
        # so the final message never waits behind a cosmetic one.
        self._ready = asyncio.Event()
        self.paced_seconds = 0.0  # what the final parts waited for Telegram's limits

    @property
    def visible(self) -> tuple[int, ...]:
        return tuple(self.messages.ids)

    async def record_visible(self, journal: Journal, recorded: Sequence[int] = ()) -> None:
        await self.messages.bind(journal, recorded)

    async def update(self, text: str) -> None:
        self._ticker.push(text)

    async def settle(self) -> None:
        """Stop showing progress; what was shown stays for the final parts to reuse."""
        if not self._settled:
            self._settled = True
            self._ready.set()
            await self._stop_progress()

    async def send(self, part: Part) -> list[int]:
        with held_back() as waits:
            try:
                return await self._ctx.parts(self._chat_id, part)
            finally:
                self.paced_seconds += sum(waits)

    async def photo(self, data: bytes, caption: str = "") -> int:
        return await self._ctx.sender.send_photo(
            self._chat_id, data, caption, reply_to=self.messages.question
        )

    async def close(self) -> None:
        try:
            await self.settle()
        except Exception as exc:  # closing must not hide how the answer ended
            logger.warning("chat %s: progress display did not stop cleanly: %s", self._chat_id, exc)

    @abc.abstractmethod
    async def start(self) -> None:
        """Show that an answer is on its way."""

    def final_parts(self, markdown: str, answer_id: int | None = None) -> list[Part]:
        """The complete answer as parts to send (see `bot.telegram.outbox`)."""
        markup = feedback_for(self._ctx, answer_id, self._t)
        return self.messages.parts(render_markdown(markdown) or render_plain(markdown), markup)

    def notice_parts(self, text: str, buttons: Sequence[Button] = ()) -> list[Part]:
        """A short plain-text notice as parts to send."""
        return self.messages.parts(render_plain(text), buttons_markup(buttons))

    def _progress(self, markdown: str) -> str:
        """What a hidden answer shows while it is written."""
        return self._t("answer-writing", words=len(markdown.split()))

    @abc.abstractmethod
    async def _show(self, markdown: str) -> None:
        """Show the answer so far (called by the ticker)."""

    @abc.abstractmethod
    async def _stop_progress(self) -> None:
        """Stop the progress display; wait for a call in flight."""

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_background(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
