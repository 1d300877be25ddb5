"""Assemble a model request: system prompt, then as much recent history as the budget allows.

Token counts before a call can only be estimated; after a call the provider's own numbers are
stored and used for the assistant messages they describe. The estimate is deliberately
conservative (about 3 characters a token, plus per-message overhead) so a request does not
overflow a model's context window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.llm.spec import ModelSpec
from bot.llm.types import ChatRequest, ImagePart, Turn
from bot.storage.dto import Role, StoredMessage

CHARS_PER_TOKEN = 3
MESSAGE_OVERHEAD_TOKENS = 4
SAFETY_MARGIN = 0.05
IMAGE_TOKENS = 1600  # a high-detail image costs up to ~1.5k tokens on the common providers


class ContextTooLongError(Exception):
    """The newest message alone does not fit the model's context window."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the message does not fit a context of {limit} tokens")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Sampling:
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS


def message_tokens(message: StoredMessage) -> int:
    if message.role is Role.ASSISTANT and message.output_tokens:
        return message.output_tokens + MESSAGE_OVERHEAD_TOKENS
    return estimate_tokens(message.text)


def build_request(
    spec: ModelSpec,
    system: str | None,
    history: Sequence[StoredMessage],
    sampling: Sampling = Sampling(),
    *,
    images: Sequence[ImagePart] = (),
) -> ChatRequest:
    """`history` ends with the current user message; older turns are dropped first.

    `images` belong to the current message and are attached to the last user turn; older
    messages' images are not sent again (history keeps only references to them).
    """
    caps = spec.capabilities
    max_output = min(sampling.max_output_tokens or caps.max_output_tokens, caps.max_output_tokens)
    budget = int(caps.context_tokens * (1 - SAFETY_MARGIN)) - max_output
    budget -= estimate_tokens(system) if system else 0
    budget -= IMAGE_TOKENS * len(images)
    kept = _newest_within(history, budget, caps.context_tokens)
    turns = normalize_turns([Turn.text(m.role.value, m.text) for m in kept if m.text])
    if images and turns and turns[-1].role == "user":
        last = turns[-1]
        turns = (*turns[:-1], Turn("user", (*images, *last.parts)))
    return ChatRequest(
        turns=turns,
        system=system,
        max_output_tokens=max_output,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
    )


def _newest_within(
    history: Sequence[StoredMessage], budget: int, limit: int
) -> list[StoredMessage]:
    kept: list[StoredMessage] = []
    used = 0
    for message in reversed(history):
        cost = message_tokens(message)
        if used + cost > budget:
            if not kept:
                raise ContextTooLongError(limit)
            break
        kept.append(message)
        used += cost
    kept.reverse()
    return kept


def normalize_turns(turns: Sequence[Turn]) -> tuple[Turn, ...]:
    """Start with a user turn and alternate roles, merging neighbours of the same role.

    History can hold two user messages in a row (the answer between them failed); some
    providers refuse that, and all of them read a merged turn just as well.
    """
    merged: list[Turn] = []
    for turn in turns:
        if not merged and turn.role != "user":
            continue
        if merged and merged[-1].role == turn.role:
            combined = f"{merged[-1].plain_text}\n\n{turn.plain_text}"
            merged[-1] = Turn.text(turn.role, combined)
        else:
            merged.append(turn)
    return tuple(merged)
