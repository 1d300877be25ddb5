"""Assemble a model request: system prompt, then as much recent history as the budget allows.

Token counts before a call can only be estimated; after a call the provider's own numbers are
stored and used for the assistant messages they describe. The estimate is deliberately
conservative (about 3 characters a token, plus per-message overhead) so a request does not
overflow a model's context window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.chat.transcript import answer_turns, has_tool_steps, tool_step_chars
from bot.llm.spec import ModelSpec
from bot.llm.types import ChatRequest, ImagePart, Part, TextPart, ToolResultPart, Turn
from bot.storage.dto import Role, StoredMessage

CHARS_PER_TOKEN = 3
MESSAGE_OVERHEAD_TOKENS = 4
SAFETY_MARGIN = 0.05
IMAGE_TOKENS = 1600  # a high-detail image costs up to ~1.5k tokens on the common providers
OMITTED_IMAGE_NOTE = "[The user sent an image here; it is no longer shown, to save space.]"


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


@dataclass(frozen=True, slots=True)
class Attachments:
    """What a request carries besides text, loaded and fitted for the model already."""

    images: Mapping[int, tuple[ImagePart, ...]] = field(default_factory=dict)  # by message id
    pinned: tuple[Part, ...] = ()  # the conversation's documents, before the first user turn
    pinned_tokens: int = 0


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS


def message_tokens(message: StoredMessage) -> int:
    if has_tool_steps(message.content):  # the results are input, not the answer's output
        return estimate_tokens(message.text) + tool_step_chars(message.content) // CHARS_PER_TOKEN
    if message.role is Role.ASSISTANT and message.output_tokens:
        return message.output_tokens + MESSAGE_OVERHEAD_TOKENS
    return estimate_tokens(message.text)


def build_request(
    spec: ModelSpec,
    system: str | None,
    history: Sequence[StoredMessage],
    sampling: Sampling = Sampling(),
    *,
    attachments: Attachments = Attachments(),
    reserve_tokens: int = 0,
) -> ChatRequest:
    """`history` ends with the current user message; older turns are dropped first.

    Images are sent for the messages `attachments.images` names; other messages that had
    images get a short note instead. Pinned documents always stay, ahead of the history.
    """
    caps = spec.capabilities
    max_output = min(sampling.max_output_tokens or caps.max_output_tokens, caps.max_output_tokens)
    budget = int(caps.context_tokens * (1 - SAFETY_MARGIN)) - max_output
    budget -= estimate_tokens(system) if system else 0
    budget -= attachments.pinned_tokens
    budget -= reserve_tokens  # room kept for tool definitions and results
    kept = _newest_within(history, budget, caps.context_tokens, attachments.images)
    turns = normalize_turns(
        [turn for m in kept if _has_content(m) for turn in _turns(m, attachments.images)]
    )
    if attachments.pinned and turns:
        first = turns[0]
        turns = (Turn(first.role, (*attachments.pinned, *first.parts)), *turns[1:])
    return ChatRequest(
        turns=turns,
        system=system,
        max_output_tokens=max_output,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
    )


def _has_content(message: StoredMessage) -> bool:
    return bool(message.text) or message.has_images or has_tool_steps(message.content)


def _turns(message: StoredMessage, images: Mapping[int, tuple[ImagePart, ...]]) -> list[Turn]:
    if message.role is Role.ASSISTANT and has_tool_steps(message.content):
        return answer_turns(message.content)
    return [_turn(message, images)]


def _turn(message: StoredMessage, images: Mapping[int, tuple[ImagePart, ...]]) -> Turn:
    role: Literal["user", "assistant"] = "user" if message.role is Role.USER else "assistant"
    shown = images.get(message.id, ())
    parts: list[Part] = list(shown)
    text = message.text
    if message.has_images and not shown:
        text = f"{OMITTED_IMAGE_NOTE}\n{text}" if text else OMITTED_IMAGE_NOTE
    if text:
        parts.append(TextPart(text))
    return Turn(role, tuple(parts))


def _newest_within(
    history: Sequence[StoredMessage],
    budget: int,
    limit: int,
    images: Mapping[int, tuple[ImagePart, ...]],
) -> list[StoredMessage]:
    kept: list[StoredMessage] = []
    used = 0
    for message in reversed(history):
        cost = message_tokens(message) + IMAGE_TOKENS * len(images.get(message.id, ()))
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
        if merged and turn.tool_results:
            turn = _answering(merged[-1], turn)
        elif turn.tool_results:  # its calls were cut off with the older history
            turn = Turn(turn.role, tuple(p for p in turn.parts if p not in turn.tool_results))
        if not turn.parts or (not merged and turn.role != "user"):
            continue
        if merged and merged[-1].role == turn.role:
            merged[-1] = _combined(merged[-1], turn)
        else:
            merged.append(turn)
    return tuple(merged)


def _answering(previous: Turn, turn: Turn) -> Turn:
    """Tool results only right after the calls they answer (both protocols insist)."""
    called = {call.id for call in previous.tool_calls} if previous.role == "assistant" else set()
    parts = tuple(p for p in turn.parts if not isinstance(p, ToolResultPart) or p.call_id in called)
    return Turn(turn.role, parts)


def _combined(first: Turn, second: Turn) -> Turn:
    if first.is_plain and second.is_plain:
        return Turn.text(first.role, f"{first.plain_text}\n\n{second.plain_text}")
    # A blank line between the two texts, inside a text part: some providers refuse a text
    # block that holds only whitespace.
    parts = list(second.parts)
    for index, part in enumerate(parts):
        if isinstance(part, TextPart):
            parts[index] = TextPart(f"\n\n{part.text}")
            break
    return Turn(first.role, (*first.parts, *parts))
