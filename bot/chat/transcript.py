"""An answer with tool steps, stored as content blocks and replayed as model turns.

Stored blocks: `text`, `tool_call` (id, name, arguments as the model wrote them) and
`tool_result` (call_id, name, content, is_error), in the order they happened. Replayed, one
stored answer becomes alternating turns: assistant (text, calls), user (results), ...,
assistant (final text), which both protocols accept; requests without tools get them as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.llm.types import Part, TextPart, ToolCallPart, ToolResultPart, Turn


def answer_content(parts: Sequence[Part]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ToolCallPart):
            blocks.append(
                {"type": "tool_call", "id": part.id, "name": part.name, "arguments": part.arguments}
            )
        elif isinstance(part, ToolResultPart):
            blocks.append(
                {
                    "type": "tool_result",
                    "call_id": part.call_id,
                    "name": part.name,
                    "content": part.content,
                    "is_error": part.is_error,
                }
            )
    return blocks


def has_tool_steps(content: Sequence[dict[str, Any]]) -> bool:
    return any(block.get("type") in ("tool_call", "tool_result") for block in content)


def tool_step_chars(content: Sequence[dict[str, Any]]) -> int:
    """Characters of the calls and results (for the token estimate of the history)."""
    total = 0
    for block in content:
        if block.get("type") == "tool_call":
            total += len(str(block.get("name", ""))) + len(str(block.get("arguments", "")))
        elif block.get("type") == "tool_result":
            total += len(str(block.get("content", "")))
    return total


def answer_turns(content: Sequence[dict[str, Any]]) -> list[Turn]:
    """A stored answer's turns; calls whose results are missing are left out."""
    answered = {b.get("call_id") for b in content if b.get("type") == "tool_result"}
    turns: list[Turn] = []
    said: list[Part] = []  # the assistant's current turn
    results: list[Part] = []  # the results after it
    for block in content:
        kind = block.get("type")
        if kind == "tool_result":
            results.append(_result(block))
            continue
        if results:  # the assistant speaks again: close the step
            turns += [Turn("assistant", tuple(said)), Turn("user", tuple(results))]
            said, results = [], []
        if kind == "text" and str(block.get("text", "")).strip():
            said.append(TextPart(str(block["text"]).strip()))
        elif kind == "tool_call" and block.get("id") in answered:
            said.append(
                ToolCallPart(str(block["id"]), str(block["name"]), str(block.get("arguments", "")))
            )
    if results:
        turns += [Turn("assistant", tuple(said)), Turn("user", tuple(results))]
    elif said:
        turns.append(Turn("assistant", tuple(said)))
    return turns


def _result(block: dict[str, Any]) -> ToolResultPart:
    return ToolResultPart(
        call_id=str(block.get("call_id", "")),
        name=str(block.get("name", "")),
        content=str(block.get("content", "")),
        is_error=bool(block.get("is_error", False)),
    )
