"""Stream one answer from a model into a view, stoppable, and say how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.chat.generations import Generation
from bot.chat.ports import AnswerView
from bot.llm.base import ChatModel
from bot.llm.types import (
    ChatRequest,
    Finish,
    FinishReason,
    LLMError,
    LLMErrorKind,
    Part,
    TextDelta,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
    Turn,
    Usage,
)
from bot.storage.dto import MessageStatus

logger = logging.getLogger(__name__)

ERROR_KEYS = {kind: f"error-{kind.value.replace('_', '-')}" for kind in LLMErrorKind}


class ToolRunner(Protocol):
    """The tools of one answer (see `bot.chat.tooling.TurnTools`)."""

    @property
    def specs(self) -> tuple[ToolSpec, ...]: ...

    @property
    def max_steps(self) -> int: ...

    @property
    def exhausted(self) -> bool: ...

    def status(self, calls: Sequence[ToolCallPart]) -> str: ...

    async def run(self, calls: Sequence[ToolCallPart]) -> list[ToolResultPart]: ...


@dataclass(slots=True)
class Outcome:
    text: str = ""
    usage: Usage | None = None
    error: LLMError | None = None
    finish: FinishReason | None = None
    stopped: bool = False
    pictures: int = 0  # sent by tools during the answer
    moderated: str | None = None  # the refusal shown instead (the content filter blocked it)
    seconds: float | None = None  # from the start of generation to the final text
    steps: list[Part] = field(default_factory=list)
    """Completed tool steps in order: the text before the calls, the calls, their results.
    The text after the last step is the rest of `text`."""

    def add_usage(self, usage: Usage) -> None:
        """Every step of an answer is billed: the counts add up."""
        if self.usage is None:
            self.usage = usage
        else:
            self.usage = Usage(
                self.usage.input_tokens + usage.input_tokens,
                self.usage.output_tokens + usage.output_tokens,
            )

    @property
    def parts(self) -> list[Part]:
        """The whole answer: the tool steps, then the final text."""
        shown = sum(len(p.text) for p in self.steps if isinstance(p, TextPart))
        rest = self.text[shown:]
        return [*self.steps, TextPart(rest)] if rest else list(self.steps)

    @property
    def status(self) -> MessageStatus:
        if self.error is None and not self.stopped:
            return MessageStatus.COMPLETE
        return MessageStatus.INTERRUPTED if self.text else MessageStatus.FAILED


async def stream_answer(
    model: ChatModel,
    request: ChatRequest,
    view: AnswerView,
    generation: Generation,
    tools: ToolRunner | None = None,
) -> Outcome:
    """Run the model (and the tools it calls) until it finishes, fails, or the user presses
    Stop."""
    outcome = Outcome()
    consumer = asyncio.create_task(_consume(model, request, view, outcome, tools))
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
    model: ChatModel,
    request: ChatRequest,
    view: AnswerView,
    outcome: Outcome,
    tools: ToolRunner | None,
) -> None:
    """Steps: stream; if the model called tools, show what runs, run them all at once, and
    ask again with the results, up to the step cap (the last request forbids more calls)."""
    if tools is not None:
        request = dataclasses.replace(request, tools=tools.specs, tool_choice="auto")
    step = 0
    try:
        while True:
            start = len(outcome.text)
            calls = await _step(model, request, view, outcome, separate=step > 0)
            if tools is None or not calls or request.tool_choice == "none":
                return
            text = outcome.text[start:]
            status = tools.status(calls)
            await view.update(f"{outcome.text}\n\n_{status}_" if outcome.text else f"_{status}_")
            results = await tools.run(calls)
            outcome.steps += [TextPart(text)] if text else []
            outcome.steps += [*calls, *results]
            step += 1
            last = step >= tools.max_steps or tools.exhausted
            request = _continued(request, text, calls, results, last=last)
    except LLMError as exc:
        logger.warning("model %s failed: %s", model.spec.id, exc)
        outcome.error = exc


async def _step(
    model: ChatModel, request: ChatRequest, view: AnswerView, outcome: Outcome, *, separate: bool
) -> list[ToolCallPart]:
    """One model call: its text joins the answer (after a blank line when it follows a tool
    step); returns the tools it called."""
    calls: list[ToolCallPart] = []
    async for event in model.stream(request):
        if isinstance(event, TextDelta):
            if separate and outcome.text and not outcome.text.endswith("\n\n"):
                outcome.text += "\n\n"
            separate = False
            outcome.text += event.text
            await view.update(outcome.text)
        elif isinstance(event, ToolCallPart):
            calls.append(event)
        elif isinstance(event, Usage):
            outcome.add_usage(event)
        elif isinstance(event, Finish):
            outcome.finish = event.reason
    return calls


def _continued(
    request: ChatRequest,
    text: str,
    calls: Sequence[ToolCallPart],
    results: Sequence[ToolResultPart],
    *,
    last: bool,
) -> ChatRequest:
    said = (TextPart(text.strip()),) if text.strip() else ()
    turns = (*request.turns, Turn("assistant", (*said, *calls)), Turn("user", tuple(results)))
    return dataclasses.replace(request, turns=turns, tool_choice="none" if last else "auto")
