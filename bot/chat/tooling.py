"""A turn's tools: which are offered, what the user sees while they run, and what a running
tool may do in the chat (send a picture, count a costly action against the plan)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

from bot.chat.attachments import LoadedAttachments
from bot.chat.context import (
    CHARS_PER_TOKEN,
    ContextTooLongError,
    Sampling,
    build_request,
    estimate_tokens,
)
from bot.chat.limits import TurnLimits
from bot.chat.ports import AnswerView, Translate
from bot.chat.records import TurnContext
from bot.llm.spec import ModelSpec
from bot.llm.types import ChatRequest, ToolCallPart, ToolResultPart, ToolSpec
from bot.payments.quotas import QuotaExceededError
from bot.storage.dto import Chat
from bot.tools.base import Tool, ToolError
from bot.tools.executor import Toolbox, ToolLimits, run_calls
from bot.tools.names import matches


@dataclass(slots=True)
class AnswerToolContext:
    """The `ToolContext` of one answer."""

    chat_id: int
    user_id: int | None
    view: AnswerView
    limits: TurnLimits
    photo_ids: list[int] = field(default_factory=list)

    async def send_photo(self, data: bytes, caption: str) -> None:
        self.photo_ids.append(await self.view.photo(data, caption))

    @contextlib.asynccontextmanager
    async def charge(self, action: str) -> AsyncIterator[None]:
        try:
            async with self.limits.charge(self.user_id, action):
                yield
        except QuotaExceededError as exc:
            if exc.resets_at is None:
                raise ToolError(f"the user's plan does not include {action}") from None
            at = exc.resets_at.strftime("%Y-%m-%d %H:%M UTC")
            raise ToolError(
                f"the user's plan allows no more {action} until {at}; tell the user so "
                "(/subscribe shows the plans)"
            ) from None


TOOL_SHARE = 0.25
"""At most this share of the model's context window is kept for one answer's tool results."""
MIN_RESULT_CHARS = 1000
"""Below this much room left for results, the model is asked to answer without more calls."""


@dataclass(slots=True)
class ResultBudget:
    chars: int | None = None  # None: not limited (the request kept no room: tests, tools)


@dataclass(frozen=True, slots=True)
class TurnTools:
    """The tools one answer may call and how to run them, within the room the request keeps
    for their results (`reserve_tokens`)."""

    tools: Mapping[str, Tool]
    context: AnswerToolContext
    limits: ToolLimits
    t: Translate
    budget: ResultBudget = field(default_factory=ResultBudget)

    def reserve_tokens(self, context_tokens: int) -> int:
        """Tokens the request keeps free: the tool definitions plus room for the results,
        which the steps then share (see `run`)."""
        definitions = estimate_tokens(json.dumps([asdict(spec) for spec in self.specs]))
        most = self.limits.max_steps * self.limits.max_result_chars // CHARS_PER_TOKEN
        results = min(int(context_tokens * TOOL_SHARE), most)
        self.budget.chars = results * CHARS_PER_TOKEN
        return definitions + results

    @property
    def exhausted(self) -> bool:
        """No room left for another step's results: the model must answer now."""
        return self.budget.chars is not None and self.budget.chars < MIN_RESULT_CHARS

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(tool.spec for tool in self.tools.values())

    @property
    def max_steps(self) -> int:
        return self.limits.max_steps

    def status(self, calls: Sequence[ToolCallPart]) -> str:
        """What the user sees while the calls run: one short line per kind of tool (per
        server for MCP tools)."""
        keys = dict.fromkeys(
            (self.tools[c.name].status_key, self.tools[c.name].status_args)
            if c.name in self.tools
            else ("tool-status-other", ())
            for c in calls
        )
        return " · ".join(self.t(key, **dict(args)) for key, args in keys)

    async def run(self, calls: Sequence[ToolCallPart]) -> list[ToolResultPart]:
        """The calls' results, each cut to its share of the room left."""
        limits, left = self.limits, self.budget.chars
        if left is not None:
            share = max(left // max(len(calls), 1), MIN_RESULT_CHARS // 2)
            limits = replace(limits, max_result_chars=min(limits.max_result_chars, share))
        results = await run_calls(calls, self.tools, self.context, limits)
        if left is not None:
            used = sum(len(r.content) for r in results) + sum(len(c.arguments) for c in calls)
            self.budget.chars = left - used
        return results


def offered_tools(
    toolbox: Toolbox | None,
    *,
    enabled: bool,
    model_can: bool,
    restrictions: Collection[Collection[str] | None],
    denials: Collection[Collection[str]] = (),
) -> dict[str, Tool]:
    """The configured tools available now, unless the chat turned them off or the model
    cannot call tools; each restriction (the route's, the character's `tools`) narrows the
    set when given, each denial (their `deny_tools`) removes what it names. References are
    built-in names, `server.tool` or `server.*`."""
    if toolbox is None or not enabled or not model_can:
        return {}
    tools = toolbox.select()
    for allowed in restrictions:
        if allowed is not None:
            tools = {name: tool for name, tool in tools.items() if _named(allowed, tool)}
    for denied in denials:
        tools = {name: tool for name, tool in tools.items() if not _named(denied, tool)}
    return tools


def _named(references: Collection[str], tool: Tool) -> bool:
    return any(matches(ref, tool.display_name, tool.server) for ref in references)


def request_with_tools(
    chat: Chat,
    spec: ModelSpec,
    system: str,
    context: TurnContext,
    loaded: LoadedAttachments,
    tools: TurnTools | None,
) -> tuple[ChatRequest, TurnTools | None]:
    """The request, keeping room for the tools' definitions and results; without tools when
    the message fits only without that room."""
    sampling = Sampling(chat.temperature, chat.top_p, chat.max_output_tokens)
    if tools is not None:
        reserve = tools.reserve_tokens(spec.capabilities.context_tokens)
        with contextlib.suppress(ContextTooLongError):
            request = build_request(
                spec,
                system,
                context.history,
                sampling,
                attachments=loaded.attachments,
                reserve_tokens=reserve,
            )
            return request, tools
    request = build_request(spec, system, context.history, sampling, attachments=loaded.attachments)
    return request, None
