"""The LLM judge for texts the local stage is unsure about: which kept-out topic, if any.

Its answer is constrained by a JSON schema to the topic ids, `none` or `unsure`; it has a
short timeout, and any failure means "no verdict" (the configured failure mode decides).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.llm.base import ChatModel
from bot.moderation.topics import CLEAN, TopicBook
from bot.textclass.judge import StructuredChoice

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
        self._choice = StructuredChoice(
            model,
            name="moderation",
            field="topic",
            options=[*book.ids, CLEAN, UNSURE],
            system=_instructions(book, bias),
            timeout=timeout,
        )

    async def judge(self, text: str) -> JudgeVerdict:
        choice = await self._choice.choose(text[:MAX_JUDGED_CHARS])
        return JudgeVerdict(choice.option, choice.seconds, choice.failure)


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
