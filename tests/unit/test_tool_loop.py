"""The tool loop of one answer: the model calls tools, they run (at once, each with its
timeout, every failure an error result), the model is asked again, up to the step cap; the
user sees what runs and can stop it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

import pytest
from pydantic import Field

from bot.chat.generations import Generation, Generations
from bot.chat.limits import TurnLimits
from bot.chat.ports import Button, Journal, Part
from bot.chat.tooling import AnswerToolContext, TurnTools, offered_tools
from bot.chat.turn import Outcome, stream_answer
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import (
    ChatRequest,
    Finish,
    FinishReason,
    LLMError,
    LLMErrorKind,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Turn,
    Usage,
)
from bot.payments.catalog import Plan
from bot.payments.config import Limit
from bot.payments.quotas import QuotaExceededError
from bot.tools.base import Tool, ToolContext, ToolError, define_tool
from bot.tools.executor import TRUNCATED_NOTE, Toolbox, ToolLimits, run_calls
from tests.unit.payments_fixtures import plan

SPEC = ModelSpec(
    id="m",
    display_name="M",
    provider="p",
    remote_name="m",
    capabilities=ModelCapabilities(
        vision=False,
        tools=True,
        system_prompt=True,
        pdf_native=False,
        context_tokens=10_000,
        max_output_tokens=100,
    ),
)
QUESTION = ChatRequest(turns=(Turn.text("user", "otters?"),))
Reply = list[StreamEvent] | LLMError


class ScriptedModel:
    """Replays one scripted reply per request (the last one again when they run out)."""

    def __init__(self, *replies: Reply) -> None:
        self.spec = SPEC
        self.replies = replies
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, LLMError):
            raise reply
        for event in reply:
            yield event


class RecordingView:
    def __init__(self) -> None:
        self.updates: list[str] = []
        self.photos: list[tuple[bytes, str]] = []

    async def start(self) -> None:
        return None

    async def update(self, text: str) -> None:
        self.updates.append(text)

    async def settle(self) -> None:
        return None

    @property
    def visible(self) -> tuple[int, ...]:
        return ()

    async def record_visible(self, journal: Journal, recorded: Sequence[int] = ()) -> None:
        return None

    def final_parts(self, markdown: str, answer_id: int | None = None) -> list[Part]:
        return [{"op": "send", "text": markdown}]

    def notice_parts(self, text: str, buttons: Sequence[Button] = ()) -> list[Part]:
        return [{"op": "send", "text": text}]

    async def send(self, part: Part) -> list[int]:
        return [1]

    @property
    def paced_seconds(self) -> float:
        return 0.0

    async def photo(self, data: bytes, caption: str = "") -> int:
        self.photos.append((data, caption))
        return 100 + len(self.photos)

    async def close(self) -> None:
        return None


class KeyTranslate:
    locale = "en"

    def __call__(self, key: str, **args: object) -> str:
        return key


class StubLimits(TurnLimits):
    """Allows every action, or refuses each with `refusal`."""

    def __init__(self, refusal: QuotaExceededError | None = None) -> None:
        self.refusal = refusal
        self.charged: list[str] = []

    @asynccontextmanager
    async def charge(self, user_id: int | None, action: str) -> AsyncIterator[None]:
        if self.refusal is not None:
            raise self.refusal
        self.charged.append(action)
        yield


class Tools:
    """Fake tools; `gate` holds web_search until set, `started` says it runs."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()
        self.cancelled = False
        self.ran: list[str] = []

    async def web_search(
        self, ctx: ToolContext, query: Annotated[str, Field(description="Keywords.")]
    ) -> str:
        """Search the web."""
        self.ran.append(query)
        self.started.set()
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return f"results for {query}"

    async def fetch_url(self, ctx: ToolContext) -> str:
        """Read a page."""
        raise RuntimeError("boom")

    async def calculator(self, ctx: ToolContext) -> str:
        """Calculate."""
        raise ToolError("x")

    async def current_time(self, ctx: ToolContext) -> str:
        """Tell the time."""
        await asyncio.sleep(5)
        return "never"

    def all(self, timeout: float = 1) -> dict[str, Tool]:
        functions = (self.web_search, self.fetch_url, self.calculator, self.current_time)
        return {
            f.__name__: define_tool(
                f, name=f.__name__, status_key=f"status-{f.__name__}", timeout=timeout
            )
            for f in functions
        }


def call(call_id: str, name: str = "web_search", arguments: object = None) -> ToolCallPart:
    if arguments is None:
        arguments = {"query": "otters"}
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCallPart(call_id, name, args)


def turn_tools(
    tools: dict[str, Tool], view: RecordingView, *, max_steps: int = 3, max_calls: int = 8
) -> TurnTools:
    context = AnswerToolContext(chat_id=1, user_id=7, view=view, limits=StubLimits())
    return TurnTools(tools, context, ToolLimits(max_steps, max_calls, 1000), KeyTranslate())


async def answer(
    model: ScriptedModel, tools: TurnTools | None, view: RecordingView, generation: Generation
) -> Outcome:
    return await stream_answer(model, QUESTION, view, generation, tools)


def calling(*calls: ToolCallPart, text: str = "") -> list[StreamEvent]:
    said: list[StreamEvent] = [TextDelta(text)] if text else []
    return [*said, *calls, Usage(10, 5), Finish(FinishReason.TOOL_CALLS)]


def saying(text: str) -> list[StreamEvent]:
    return [TextDelta(text), Usage(30, 7), Finish(FinishReason.STOP)]


async def test_one_tool_step_then_the_answer() -> None:
    fakes, view = Tools(), RecordingView()
    tools = turn_tools(fakes.all(), view)
    first = call("c1")
    model = ScriptedModel(calling(first, text="Let me check."), saying("Mustelids."))
    outcome = await answer(model, tools, view, Generations().begin(1))

    result = ToolResultPart("c1", "web_search", "results for otters")
    assert fakes.ran == ["otters"]
    assert len(model.requests) == 2
    assert model.requests[0].tools == tools.specs
    sent = model.requests[1]
    assert sent.turns == (
        *QUESTION.turns,
        Turn("assistant", (TextPart("Let me check."), first)),
        Turn("user", (result,)),
    )
    assert sent.tool_choice == "auto"
    assert outcome.text == "Let me check.\n\nMustelids."
    assert outcome.parts == [TextPart("Let me check."), first, result, TextPart("\n\nMustelids.")]
    assert outcome.usage == Usage(40, 12)
    assert outcome.finish is FinishReason.STOP
    assert view.updates[-1] == "Let me check.\n\nMustelids."


async def test_the_last_step_forbids_more_calls_and_its_calls_do_not_run() -> None:
    fakes, view = Tools(), RecordingView()
    tools = turn_tools(fakes.all(), view, max_steps=2)
    model = ScriptedModel(calling(call("a")), calling(call("b")), calling(call("c")))
    outcome = await answer(model, tools, view, Generations().begin(1))

    assert [r.tool_choice for r in model.requests] == ["auto", "auto", "none"]
    assert model.requests[2].tools == tools.specs  # the history holds calls: still defined
    assert len(fakes.ran) == 2
    assert [p.id for p in outcome.steps if isinstance(p, ToolCallPart)] == ["a", "b"]


async def test_calls_of_one_step_run_at_once_and_results_keep_their_order() -> None:
    barrier = asyncio.Barrier(2)

    async def web_search(
        ctx: ToolContext, query: Annotated[str, Field(description="Keywords.")]
    ) -> str:
        """Search the web."""
        await barrier.wait()  # passes only when both calls are running
        if query == "first":
            await asyncio.sleep(0.05)  # finishes last
        return query

    tool = define_tool(web_search, name="web_search", status_key="s", timeout=1)
    view = RecordingView()
    tools = turn_tools({"web_search": tool}, view)
    calls = [call("1", arguments={"query": "first"}), call("2", arguments={"query": "second"})]
    results = await tools.run(calls)
    assert results == [
        ToolResultPart("1", "web_search", "first"),
        ToolResultPart("2", "web_search", "second"),
    ]


async def test_every_failure_is_an_error_result_and_the_answer_goes_on() -> None:
    fakes, view = Tools(), RecordingView()
    tools = turn_tools(fakes.all(timeout=0.05), view)
    calls = (
        call("1", "browse"),
        call("2", arguments="{oops"),
        call("3", arguments={}),
        call("4", "fetch_url", {}),
        call("5", "calculator", {}),
        call("6", "current_time", {}),
    )
    model = ScriptedModel(calling(*calls), saying("Sorry, nothing worked."))
    outcome = await answer(model, tools, view, Generations().begin(1))

    results = model.requests[1].turns[-1].tool_results
    assert [r.call_id for r in results] == ["1", "2", "3", "4", "5", "6"]
    assert all(r.is_error for r in results)
    wording = [r.content for r in results]
    assert wording[0].startswith("there is no tool named 'browse' (available: web_search,")
    assert wording[1] == "the arguments are not a JSON object ('{oops'); call again with valid JSON"
    assert wording[2].startswith("invalid arguments (query: ")
    assert wording[3] == "the tool failed unexpectedly (RuntimeError)"
    assert wording[4] == "x"
    assert wording[5] == "timed out after 0.05 s; try something simpler"
    assert outcome.text == "Sorry, nothing worked."
    assert outcome.error is None


async def test_calls_over_the_per_step_cap_are_not_run_and_long_results_are_cut() -> None:
    fakes, view = Tools(), RecordingView()
    context = AnswerToolContext(chat_id=1, user_id=7, view=view, limits=StubLimits())
    calls = [call(str(i), arguments={"query": f"q{i}" * 10}) for i in range(3)]
    results = await run_calls(calls, fakes.all(), context, ToolLimits(3, 2, 12))

    assert fakes.ran == ["q0" * 10, "q1" * 10]
    assert results[0] == ToolResultPart(
        "0", "web_search", "results for " + TRUNCATED_NOTE.format(limit=12)
    )
    assert results[2] == ToolResultPart(
        "2", "web_search", "not run: at most 2 calls per step", is_error=True
    )


@pytest.mark.parametrize(
    ("calls", "status"),
    [
        ([call("1")], "status-web_search"),
        (
            [call("1"), call("2", "current_time", {}), call("3")],
            "status-web_search · status-current_time",
        ),
        ([call("1", "browse")], "tool-status-other"),
    ],
)
async def test_the_user_sees_what_runs(calls: list[ToolCallPart], status: str) -> None:
    fakes, view = Tools(), RecordingView()
    fakes.gate.clear()
    tools = turn_tools(fakes.all(timeout=0.5), view)
    model = ScriptedModel(calling(*calls, text="Let me check."), saying("Done."))
    task = asyncio.create_task(answer(model, tools, view, Generations().begin(1)))
    if calls[0].name == "web_search":
        await asyncio.wait_for(fakes.started.wait(), 1)
        assert view.updates[-1] == f"Let me check.\n\n_{status}_"
    fakes.gate.set()
    outcome = await asyncio.wait_for(task, 6)
    assert f"Let me check.\n\n_{status}_" in view.updates
    assert view.updates[-1] == outcome.text == "Let me check.\n\nDone."


async def test_stop_during_a_tool_run_keeps_only_completed_steps() -> None:
    fakes, view = Tools(), RecordingView()
    fakes.gate.clear()
    tools = turn_tools(fakes.all(), view)
    model = ScriptedModel(
        calling(call("a", "calculator", {}), text="One."),
        calling(call("b"), text="Two."),
        saying("never asked"),
    )
    generations = Generations()
    generation = generations.begin(5)
    task = asyncio.create_task(answer(model, tools, view, generation))
    await asyncio.wait_for(fakes.started.wait(), 1)
    assert generations.stop(5)
    outcome = await asyncio.wait_for(task, 1)

    assert outcome.stopped
    assert fakes.cancelled
    assert len(model.requests) == 2
    called = {p.id for p in outcome.parts if isinstance(p, ToolCallPart)}
    answered = {p.call_id for p in outcome.parts if isinstance(p, ToolResultPart)}
    assert called == answered == {"a"}
    assert outcome.text == "One.\n\nTwo."  # what the user saw stays


async def test_a_model_failure_after_a_step_keeps_the_step() -> None:
    fakes, view = Tools(), RecordingView()
    tools = turn_tools(fakes.all(), view)
    error = LLMError(LLMErrorKind.UNAVAILABLE, "down")
    model = ScriptedModel(calling(call("a"), text="Looking."), error)
    outcome = await answer(model, tools, view, Generations().begin(1))

    assert outcome.error is error
    assert outcome.steps == [
        TextPart("Looking."),
        call("a"),
        ToolResultPart("a", "web_search", "results for otters"),
    ]
    assert outcome.status.value == "interrupted"  # the text so far is kept


def test_offered_tools_follow_the_chat_the_model_and_the_restrictions() -> None:
    toolbox = Toolbox(list(Tools().all().values()), ToolLimits(3, 4, 1000))

    def offered(
        box: Toolbox | None = toolbox,
        *,
        enabled: bool = True,
        model_can: bool = True,
        restrictions: tuple[frozenset[str] | None, ...] = (),
    ) -> set[str]:
        return set(
            offered_tools(box, enabled=enabled, model_can=model_can, restrictions=restrictions)
        )

    assert offered(None) == set()
    assert offered(enabled=False) == set()
    assert offered(model_can=False) == set()
    everything = {"web_search", "fetch_url", "calculator", "current_time"}
    assert offered(restrictions=(None, None)) == everything
    route = frozenset({"web_search", "fetch_url"})
    character = frozenset({"fetch_url", "calculator"})
    assert offered(restrictions=(route, None)) == route
    assert offered(restrictions=(route, character)) == {"fetch_url"}
    assert offered(restrictions=(frozenset(), None)) == set()


def refusal(resets_at: datetime | None) -> QuotaExceededError:
    free = Plan(id="free", config=plan("free"), default_locale="en")
    return QuotaExceededError(free, "image", Limit(messages=0), resets_at, "messages")


async def test_a_reached_plan_limit_tells_the_model_when_it_resets() -> None:
    view = RecordingView()
    reset = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    context = AnswerToolContext(1, 7, view, StubLimits(refusal(reset)))
    with pytest.raises(ToolError) as info:
        async with context.charge("image"):
            pytest.fail("the block must not run")
    assert "no more image until 2030-01-02 03:04 UTC" in str(info.value)

    context = AnswerToolContext(1, 7, view, StubLimits(refusal(None)))
    with pytest.raises(ToolError, match="does not include image"):
        async with context.charge("image"):
            pytest.fail("the block must not run")


async def test_an_allowed_action_runs_and_photos_are_kept() -> None:
    view, limits = RecordingView(), StubLimits()
    context = AnswerToolContext(1, 7, view, limits)
    async with context.charge("image"):
        await context.send_photo(b"png", "a cat")
    assert limits.charged == ["image"]
    assert view.photos == [(b"png", "a cat")]
    assert context.photo_ids == [101]


async def test_results_share_the_room_the_request_kept_and_then_the_model_must_answer() -> None:
    fakes, view = Tools(), RecordingView()
    context = AnswerToolContext(chat_id=1, user_id=7, view=view, limits=StubLimits())
    tools = TurnTools(fakes.all(), context, ToolLimits(5, 8, 12_000), KeyTranslate())
    reserved = tools.reserve_tokens(context_tokens=8000)  # a quarter: 2000 tokens, 6000 chars
    assert 2000 < reserved < 2300  # and the definitions
    long_query = "x" * 3500
    model = ScriptedModel(
        calling(call("a", arguments={"query": long_query}), call("b", arguments={"query": "y"})),
        saying("Done."),
    )
    outcome = await answer(model, tools, view, Generations().begin(1))

    first, second = (p for p in outcome.steps if isinstance(p, ToolResultPart))
    # Two calls share the 6000 characters: each is cut at 3000.
    assert first.content == ("results for " + long_query)[:3000] + TRUNCATED_NOTE.format(limit=3000)
    assert second.content == "results for y"
    # Less than the minimum is left after that step: the next request forbids more calls.
    assert [r.tool_choice for r in model.requests] == ["auto", "none"]
    assert outcome.text == "Done."
