"""An LLM judge's question: pick one of a few options for a text, as structured output.

The answer is constrained by a JSON schema to `{field: option}`; the call gets a short timeout
and no retries beyond the model's own, and any failure simply means "no choice" with its
reason. Routing asks for a route, the content filter for a topic (or none).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.llm.base import ChatModel
from bot.llm.types import ChatRequest, LLMError, ResponseSchema, TextDelta, Turn

logger = logging.getLogger(__name__)

MAX_OUTPUT_TOKENS = 30


@dataclass(frozen=True, slots=True)
class Choice:
    option: str | None  # one of the options; None when the call failed
    seconds: float
    failure: str | None = None  # "timeout", "error", "unparsable"


class StructuredChoice:
    def __init__(
        self,
        model: ChatModel,
        *,
        name: str,  # the schema's name, and who asks in log lines ("route", "moderation")
        field: str,
        options: Sequence[str],
        system: str,
        timeout: float,
    ) -> None:
        self.model = model
        self._name = name
        self._field = field
        self._options = frozenset(options)
        self._system = system
        self._timeout = timeout
        self._schema = ResponseSchema(
            name=name,
            schema={
                "type": "object",
                "properties": {field: {"type": "string", "enum": list(options)}},
                "required": [field],
                "additionalProperties": False,
            },
        )

    async def choose(self, message: str) -> Choice:
        started = time.perf_counter()
        request = ChatRequest(
            turns=(Turn.text("user", message),),
            system=self._system,
            max_output_tokens=MAX_OUTPUT_TOKENS,
            temperature=0.0,
            response_schema=self._schema,
        )
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._collect(request)
        except TimeoutError:
            return Choice(None, time.perf_counter() - started, "timeout")
        except LLMError as exc:
            logger.warning("%s judge %s failed: %s", self._name, self.model.spec.id, exc)
            return Choice(None, time.perf_counter() - started, "error")
        option = self.parse(answer)
        return Choice(option, time.perf_counter() - started, None if option else "unparsable")

    def parse(self, answer: str) -> str | None:
        """The option in the answer: JSON as asked (also inside other text), or a bare option
        from lax servers."""
        answer = answer.strip()
        start, end = answer.find("{"), answer.rfind("}")
        candidate: object = None
        try:
            data = json.loads(answer[start : end + 1] if 0 <= start < end else answer)
            candidate = data.get(self._field) if isinstance(data, dict) else data
        except ValueError:
            candidate = answer.strip("`\"' .").lower()
        return candidate if isinstance(candidate, str) and candidate in self._options else None

    async def _collect(self, request: ChatRequest) -> str:
        pieces: list[str] = []
        async for event in self.model.stream(request):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
        return "".join(pieces)
