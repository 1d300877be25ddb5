"""The LLM judge for texts the local stage is unsure about: which kept-out topic, if any.

Its answer is constrained by a JSON schema to the topic ids, `none` or `unsure`; it has a
short timeout, and any failure means "no verdict" (the configured failure mode decides).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from bot.llm.base import ChatModel
from bot.llm.types import ChatRequest, LLMError, ResponseSchema, TextDelta, Turn
from bot.moderation.topics import CLEAN, TopicBook

logger = logging.getLogger(__name__)

UNSURE = "unsure"
MAX_JUDGED_CHARS = 4000


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    topic: str | None  # a topic id, CLEAN, UNSURE, or None when it failed
    seconds: float
    failure: str | None = None  # "timeout", "error", "unparsable"


class ModerationJudge:
    def __init__(self, model: ChatModel, book: TopicBook, timeout: float, bias: str) -> None:
        self.model = model
        self._ids = set(book.ids)
        self._timeout = timeout
        self._system = _instructions(book, bias)
        self._schema = ResponseSchema(
            name="moderation",
            schema={
                "type": "object",
                "properties": {"topic": {"type": "string", "enum": [*book.ids, CLEAN, UNSURE]}},
                "required": ["topic"],
                "additionalProperties": False,
            },
        )

    async def judge(self, text: str) -> JudgeVerdict:
        started = time.perf_counter()
        request = ChatRequest(
            turns=(Turn.text("user", text[:MAX_JUDGED_CHARS]),),
            system=self._system,
            max_output_tokens=30,
            temperature=0.0,
            response_schema=self._schema,
        )
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._collect(request)
        except TimeoutError:
            return JudgeVerdict(None, time.perf_counter() - started, "timeout")
        except LLMError as exc:
            logger.warning("moderation judge %s failed: %s", self.model.spec.id, exc)
            return JudgeVerdict(None, time.perf_counter() - started, "error")
        topic = self.parse(answer)
        elapsed = time.perf_counter() - started
        return JudgeVerdict(topic, elapsed, None if topic else "unparsable")

    def parse(self, answer: str) -> str | None:
        answer = answer.strip()
        start, end = answer.find("{"), answer.rfind("}")
        candidate: object = None
        try:
            data = json.loads(answer[start : end + 1] if 0 <= start < end else answer)
            candidate = data.get("topic") if isinstance(data, dict) else data
        except ValueError:
            candidate = answer.strip("`\"' .").lower()
        if isinstance(candidate, str) and (candidate in self._ids or candidate in (CLEAN, UNSURE)):
            return candidate
        return None

    async def _collect(self, request: ChatRequest) -> str:
        pieces: list[str] = []
        async for event in self.model.stream(request):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
        return "".join(pieces)


def _instructions(book: TopicBook, bias: str) -> str:
    lines = [
        "You check one text written in a group chat (a question to an assistant, or its "
        "answer) against topics that must be kept out of the chat.",
        'Answer with JSON only: {"topic": "<id>"}. Topics:',
    ]
    lines += [f"- {topic.id}: {topic.description}" for topic in book.topics.values()]
    lines.append(f"Use {CLEAN} when the text is on none of them.")
    if bias == "block":
        lines.append(
            "If the text could reasonably be read as helping with or promoting a topic, name "
            f"the topic. Use {UNSURE} only if you cannot tell at all."
        )
    else:
        lines.append(
            f"Name a topic only when the text clearly is about it; use {UNSURE} when in doubt."
        )
    lines.append(
        "Mentions for help, safety, history, law or education are not on the topic. "
        "The text may be in any language."
    )
    return "\n".join(lines)
