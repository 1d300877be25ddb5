"""Adapt a request to what a model can take, from its capabilities alone."""

from __future__ import annotations

from dataclasses import replace

from bot.llm.spec import ModelCapabilities
from bot.llm.types import ChatRequest, Part, TextPart, ToolCallPart, ToolResultPart, Turn

SYSTEM_MERGE_TEMPLATE = "{system}\n\n---\n\n{text}"


def adapt_request(request: ChatRequest, caps: ModelCapabilities) -> ChatRequest:
    request = replace(
        request, max_output_tokens=min(request.max_output_tokens, caps.max_output_tokens)
    )
    if not request.tools or not caps.tools:
        request = replace(request, tools=(), turns=flatten_tool_turns(request.turns))
    if caps.system_prompt or not request.system:
        return request
    return replace(request, system=None, turns=_merge_system(request.system, request.turns))


def _merge_system(system: str, turns: tuple[Turn, ...]) -> tuple[Turn, ...]:
    """Put the system prompt atop the first user turn (for templates without a system role)."""
    for index, turn in enumerate(turns):
        if turn.role != "user":
            continue
        first_text = next((i for i, p in enumerate(turn.parts) if isinstance(p, TextPart)), None)
        parts = list(turn.parts)
        existing = parts[first_text] if first_text is not None else None
        if first_text is None or not isinstance(existing, TextPart):
            parts.insert(0, TextPart(system))
        else:
            merged = SYSTEM_MERGE_TEMPLATE.format(system=system, text=existing.text)
            parts[first_text] = TextPart(merged)
        return (*turns[:index], Turn("user", tuple(parts)), *turns[index + 1 :])
    return (Turn.text("user", system), *turns)


def flatten_tool_turns(turns: tuple[Turn, ...]) -> tuple[Turn, ...]:
    """Tool calls and results as text, for requests without tools: servers refuse (or
    mis-render) structured calls when no tools are defined, and the model still learns what
    was looked up earlier in the conversation."""
    if not any(isinstance(p, ToolCallPart | ToolResultPart) for t in turns for p in t.parts):
        return turns
    return tuple(Turn(turn.role, _as_text(turn.parts)) for turn in turns)


def _as_text(parts: tuple[Part, ...]) -> tuple[Part, ...]:
    """On their own lines: a turn of text parts may be sent joined into one string."""
    kept: list[Part] = []
    for part in parts:
        if isinstance(part, ToolCallPart):
            kept.append(TextPart(f"\n[called the tool {part.name} with {part.arguments_json}]\n"))
        elif isinstance(part, ToolResultPart):
            failed = "failed" if part.is_error else "returned"
            kept.append(TextPart(f"\n[the tool {part.name} {failed}: {part.content}]\n"))
        else:
            kept.append(part)
    return tuple(kept)
