"""Stream one answer from a model into a view, stoppable, and say how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from bot.chat.generations import Generation
from bot.chat.ports import AnswerView
from bot.llm.base import ChatModel
from bot.llm.types import (
    ChatRequest,
    Finish,
    FinishReason,
    LLMError,
    LLMErrorKind,
    TextDelta,
    Usage,
)
from bot.storage.dto import MessageStatus

logger = logging.getLogger(__name__)

ERROR_KEYS = {kind: f"error-{kind.value.replace('_', '-')}" for kind in LLMErrorKind}


@dataclass(slots=True)
class Outcome:
    text: str = ""
    usage: Usage | None = None
    error: LLMError | None = None
    finish: FinishReason | None = None
    stopped: bool = False

    @property
    def status(self) -> MessageStatus:
        if self.error is None and not self.stopped:
            return MessageStatus.COMPLETE
        return MessageStatus.INTERRUPTED if self.text else MessageStatus.FAILED


async def stream_answer(
    model: ChatModel, request: ChatRequest, view: AnswerView, generation: Generation
) -> Outcome:
    """Run the model until it finishes, fails, or the user presses Stop."""
    outcome = Outcome()
    consumer = asyncio.create_task(_consume(model, request, view, outcome))
    stop = asyncio.create_task(generation.stopped.wait())
    try:
        await asyncio.wait({consumer, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not consumer.done():
            outcome.stopped = generation.is_stopped
            consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    if generation.is_stopped:
        outcome.stopped = True
    return outcome


async def _consume(
    model: ChatModel, request: ChatRequest, view: AnswerView, outcome: Outcome
) -> None:
    try:
        async for event in model.stream(request):
            if isinstance(event, TextDelta):
                outcome.text += event.text
                await view.update(outcome.text)
            elif isinstance(event, Usage):
                outcome.usage = event
            elif isinstance(event, Finish):
                outcome.finish = event.reason
    except LLMError as exc:
        logger.warning("model %s failed: %s", model.spec.id, exc)
        outcome.error = exc
