"""The LLM judge: a cheap model names the route when the local classifier is unsure.

Its output is constrained to the route ids (plus "unsure") by a JSON schema; it gets a short
timeout and no retries beyond the model's own, and any failure simply means "no verdict".
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass

from bot.llm.base import ChatModel
from bot.llm.types import ChatRequest, LLMError, ResponseSchema, TextDelta, Turn
from bot.routing.routes import MAX_ROUTED_CHARS, RouteBook

logger = logging.getLogger(__name__)

UNSURE = "unsure"
_BARE_ID = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Verdict:
    route: str | None  # None: unsure, failed or timed out
    seconds: float
    failure: str | None = None  # "timeout", "error", "unparsable", "unsure"


class LLMJudge:
    def __init__(self, model: ChatModel, book: RouteBook, timeout: float) -> None:
        self.model = model
        self._book = book
        self._timeout = timeout
        self._system = _instructions(book)
        self._schema = ResponseSchema(
            name="route",
            schema={
                "type": "object",
                "properties": {"route": {"type": "string", "enum": [*book.ids, UNSURE]}},
                "required": ["route"],
                "additionalProperties": False,
            },
        )

    async def judge(self, text: str, previous: str | None = None) -> Verdict:
        started = time.perf_counter()
        message = text[:MAX_ROUTED_CHARS]
        if previous is not None:
            message = f"(previous message's route: {previous})\n{message}"
        request = ChatRequest(
            turns=(Turn.text("user", message),),
            system=self._system,
            max_output_tokens=30,
            temperature=0.0,
            response_schema=self._schema,
        )
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._collect(request)
        except TimeoutError:
            return Verdict(None, time.perf_counter() - started, "timeout")
        except LLMError as exc:
            logger.warning("routing judge %s failed: %s", self.model.spec.id, exc)
            return Verdict(None, time.perf_counter() - started, "error")
        route = self.parse(answer)
        elapsed = time.perf_counter() - started
        if route is None:
            return Verdict(None, elapsed, "unparsable")
        if route == UNSURE:
            return Verdict(None, elapsed, UNSURE)
        return Verdict(route, elapsed)

    def parse(self, answer: str) -> str | None:
        """The route id in the judge's answer: JSON as asked, or a bare id from lax servers."""
        answer = answer.strip()
        candidate: object = None
        try:
            data = json.loads(answer)
            candidate = data.get("route") if isinstance(data, dict) else data
        except ValueError:
            start, end = answer.find("{"), answer.rfind("}")
            if 0 <= start < end:
                try:
                    data = json.loads(answer[start : end + 1])
                    candidate = data.get("route") if isinstance(data, dict) else None
                except ValueError:
                    candidate = None
            elif _BARE_ID.fullmatch(answer.strip("`\"' .").lower()):
                candidate = answer.strip("`\"' .").lower()
        if isinstance(candidate, str) and (candidate in self._book or candidate == UNSURE):
            return candidate
        return None

    async def _collect(self, request: ChatRequest) -> str:
        pieces: list[str] = []
        async for event in self.model.stream(request):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
        return "".join(pieces)


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
