"""Run one step's tool calls: all at once, each with its timeout, every failure as a result.

Whatever goes wrong with a call (an unknown tool, arguments that are not JSON or do not fit
the schema, a tool that raises or takes too long), the model gets an error result it can read
and the turn goes on. Only a cancellation (the user pressed Stop) ends the step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.llm.types import ToolCallPart, ToolResultPart
from bot.tools.base import Tool, ToolContext, ToolError

logger = logging.getLogger(__name__)

TRUNCATED_NOTE = "\n[... cut: the result was longer than {limit} characters]"


@dataclass(frozen=True, slots=True)
class ToolLimits:
    max_steps: int
    max_calls_per_step: int
    max_result_chars: int


@dataclass(frozen=True, slots=True)
class ToolGroup:
    """The tools of one MCP server, as people see them (/tools, `tools list`)."""

    server: str
    description: Mapping[str, str]  # by locale; "" for a locale without one
    available: bool
    tools: tuple[Tool, ...] = ()
    problem: str = ""  # why it is unavailable
    transport: str = ""  # "stdio" or "http"

    def describe(self, locale: str) -> str:
        return self.description.get(locale) or self.description.get("en") or ""


class ToolSource(Protocol):
    """Tools that come and go while the bot runs (MCP servers)."""

    def tools(self) -> Sequence[Tool]:
        """The tools available now (those of servers that are up)."""

    def groups(self) -> Sequence[ToolGroup]:
        """Every configured server, available or not."""


class Toolbox:
    """The tools this bot offers: the configured built-in ones, then those of its sources
    that are available now, by the name models call them."""

    def __init__(
        self, tools: Sequence[Tool], limits: ToolLimits, sources: Sequence[ToolSource] = ()
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._sources = tuple(sources)
        self.limits = limits

    @property
    def builtin(self) -> tuple[str, ...]:
        return tuple(self._tools)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.select())

    def groups(self) -> list[ToolGroup]:
        return [group for source in self._sources for group in source.groups()]

    def select(self, allowed: Collection[str] | None = None) -> dict[str, Tool]:
        """The tools a turn may offer: all, or those `allowed` (by the names models use)."""
        tools = dict(self._tools)
        for source in self._sources:
            tools.update((tool.name, tool) for tool in source.tools() if tool.name not in tools)
        if allowed is None:
            return tools
        return {name: tool for name, tool in tools.items() if name in allowed}


async def run_calls(
    calls: Sequence[ToolCallPart],
    tools: Mapping[str, Tool],
    ctx: ToolContext,
    limits: ToolLimits,
) -> list[ToolResultPart]:
    """One result per call, in the calls' order; the calls run concurrently."""
    allowed = calls[: limits.max_calls_per_step]
    results = list(
        await asyncio.gather(*(_run(call, tools, ctx, limits.max_result_chars) for call in allowed))
    )
    results += [
        _error(call, f"not run: at most {limits.max_calls_per_step} calls per step")
        for call in calls[limits.max_calls_per_step :]
    ]
    return results


async def _run(
    call: ToolCallPart, tools: Mapping[str, Tool], ctx: ToolContext, max_chars: int
) -> ToolResultPart:
    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(tools) or "none"
        return _error(call, f"there is no tool named {call.name!r} (available: {available})")
    arguments = call.parsed()
    if arguments is None:
        shown = call.arguments[:200]
        return _error(
            call, f"the arguments are not a JSON object ({shown!r}); call again with valid JSON"
        )
    try:
        async with asyncio.timeout(tool.timeout):
            text = await tool.call(ctx, arguments)
    except ToolError as exc:
        return _error(call, _cut(str(exc), max_chars))
    except TimeoutError:
        logger.warning("tool %s timed out after %.0f s", call.name, tool.timeout)
        return _error(call, f"timed out after {tool.timeout:g} s; try something simpler")
    except Exception as exc:
        logger.exception("tool %s failed", call.name)
        return _error(call, f"the tool failed unexpectedly ({type(exc).__name__})")
    return ToolResultPart(call.id, call.name, _cut(text, max_chars))


def _cut(text: str, max_chars: int) -> str:
    if len(text) > max_chars:
        return text[:max_chars] + TRUNCATED_NOTE.format(limit=max_chars)
    return text


def _error(call: ToolCallPart, reason: str) -> ToolResultPart:
    return ToolResultPart(call.id, call.name, reason, is_error=True)
