"""The LLM judge: a cheap model names the route when the local classifier is unsure.

Its output is constrained to the route ids (plus "unsure") by a JSON schema; it gets a short
timeout and no retries beyond the model's own, and any failure simply means "no verdict".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.llm.base import ChatModel
from bot.routing.routes import MAX_ROUTED_CHARS, RouteBook
from bot.textclass.judge import StructuredChoice

UNSURE = "unsure"


@dataclass(frozen=True, slots=True)
class Verdict:
    route: str | None  # None: unsure, failed or timed out
    seconds: float
    failure: str | None = None  # "timeout", "error", "unparsable", "unsure"


class LLMJudge:
    def __init__(self, model: ChatModel, book: RouteBook, timeout: float) -> None:
        self.model = model
        self._choice = StructuredChoice(
            model,
            name="route",
            field="route",
            options=[*book.ids, UNSURE],
            system=_instructions(book),
            timeout=timeout,
        )

    async def judge(self, text: str, previous: str | None = None) -> Verdict:
        message = text[:MAX_ROUTED_CHARS]
        if previous is not None:
            message = f"(previous message's route: {previous})\n{message}"
        choice = await self._choice.choose(message)
        if choice.option == UNSURE:
            return Verdict(None, choice.seconds, UNSURE)
        return Verdict(choice.option, choice.seconds, choice.failure)

    def parse(self, answer: str) -> str | None:
        """The route id in the judge's answer: JSON as asked, or a bare id from lax servers."""
        return self._choice.parse(answer)


def _instructions(book: RouteBook) -> str:
    lines = [
        "You classify one message sent to a chat assistant into exactly one route.",
        'Answer with JSON only: {"route": "<id>"}. Routes:',
    ]
    for route in book.routes.values():
        lines.append(f"- {route.id}: {route.description['en']}")
    lines.append(
        f"Use {book.default} for anything that fits no other route. Use {UNSURE} only if the "
        "message is truly ambiguous. The message may be in any language."
    )
    return "\n".join(lines)
