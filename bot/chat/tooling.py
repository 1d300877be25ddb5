"""A turn's tools: which are offered, what the user sees while they run, and what a running
tool may do in the chat (send a picture, count a costly action against the plan)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from bot.chat.limits import TurnLimits
from bot.chat.ports import AnswerView, Translate
from bot.llm.types import ToolCallPart, ToolResultPart, ToolSpec
from bot.payments.quotas import QuotaExceededError
from bot.tools.base import Tool, ToolError
from bot.tools.executor import Toolbox, ToolLimits, run_calls


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


@dataclass(frozen=True, slots=True)
class TurnTools:
    """The tools one answer may call and how to run them."""

    tools: Mapping[str, Tool]
    context: AnswerToolContext
    limits: ToolLimits
    t: Translate

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(tool.spec for tool in self.tools.values())

    @property
    def max_steps(self) -> int:
        return self.limits.max_steps

    def status(self, calls: Sequence[ToolCallPart]) -> str:
        """What the user sees while the calls run: one short line per kind of tool."""
        keys = dict.fromkeys(
            self.tools[c.name].status_key if c.name in self.tools else "tool-status-other"
            for c in calls
        )
        return " · ".join(self.t(key) for key in keys)

    async def run(self, calls: Sequence[ToolCallPart]) -> list[ToolResultPart]:
        return await run_calls(calls, self.tools, self.context, self.limits)


def offered_tools(
    toolbox: Toolbox | None,
    *,
    enabled: bool,
    model_can: bool,
    restrictions: Collection[Collection[str] | None],
) -> dict[str, Tool]:
    """The configured tools, unless the chat turned them off or the model cannot call tools;
    each restriction (the route's, the character's) narrows the set when given."""
    if toolbox is None or not enabled or not model_can:
        return {}
    tools = toolbox.select()
    for allowed in restrictions:
        if allowed is not None:
            tools = {name: tool for name, tool in tools.items() if name in allowed}
    return tools
