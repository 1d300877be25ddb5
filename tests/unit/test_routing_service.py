"""What a turn gets from routing: the route's instructions always (unless off), and on `auto`
the route's first preferred model that can serve the message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.llm.registry import ModelRegistry
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import ChatRequest, StreamEvent, TextDelta
from bot.routing.calibration import Calibration
from bot.routing.classifier import load_or_train
from bot.routing.router import Router, Stage
from bot.routing.routes import load_routes
from bot.routing.service import RoutingService
from bot.storage.dto import Chat

ROUTES = Path(__file__).parents[2] / "routes"


class Model:
    def __init__(self, model_id: str, *, vision: bool = False) -> None:
        caps = ModelCapabilities(vision, False, True, False, 8000, 500)
        self._spec = ModelSpec(model_id, model_id.title(), "p", model_id, caps)

    @property
    def spec(self) -> ModelSpec:
        return self._spec

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        yield TextDelta("unused")


@pytest.fixture(scope="module")
def router() -> Router:
    book = load_routes(ROUTES)
    return Router(book, load_or_train(book, None), Calibration.load(ROUTES / "calibration.json"))


def service(router: Router | None, **overrides: list[str]) -> RoutingService:
    models = [Model("small"), Model("coder"), Model("seer", vision=True)]
    registry = ModelRegistry({m.spec.id: m for m in models}, [])
    routing = RoutingService(
        registry,
        default_model="small",
        fallback_model="small",
        preferred_overrides=overrides or {"code": ["coder", "small"], "chat": ["small"]},
        followup_window_seconds=60,
    )
    if router is not None:
        routing.install(router)
    return routing


def chat(model: str | None = None, *, routing: bool = True, group: bool = False) -> Chat:
    kind = "supergroup" if group else "private"
    return Chat(1, kind, None, model, None, None, None, None, None, routing_enabled=routing)


async def test_auto_takes_the_routes_first_preferred_model(router: Router) -> None:
    plan = await service(router).plan(chat("auto"), "how do I undo the last git commit")
    assert plan.decision is not None
    assert (plan.decision.route, plan.model.spec.id, plan.auto) == ("code", "coder", True)
    assert plan.instructions == router.book["code"].instructions


async def test_a_fixed_model_keeps_its_model_but_gets_the_instructions(router: Router) -> None:
    plan = await service(router).plan(chat("small"), "how do I undo the last git commit")
    assert (plan.model.spec.id, plan.auto) == ("small", False)
    assert plan.instructions == router.book["code"].instructions


async def test_images_need_a_model_that_sees_even_when_the_route_prefers_another(
    router: Router,
) -> None:
    plan = await service(router).plan(chat("auto"), "what is this?", frozenset({"vision"}))
    assert plan.model.spec.id == "seer"  # neither preferred nor fallback can see
    assert [s.id for s in service(router).models_with({"vision"})] == ["seer"]


async def test_a_chat_with_routing_off_gets_no_decision(router: Router) -> None:
    plan = await service(router).plan(chat("auto", routing=False), "solve 2x + 6 = 14")
    assert (plan.decision, plan.instructions, plan.model.spec.id) == (None, None, "small")


async def test_the_previous_route_is_the_prior_for_a_short_follow_up(router: Router) -> None:
    routing = service(router)
    await routing.plan(chat("auto"), "how do I undo the last git commit")
    follow_up = await routing.plan(chat("auto"), "and in Rust?")
    assert follow_up.decision is not None
    assert (follow_up.decision.stage, follow_up.decision.route) == (Stage.PRIOR, "code")


def test_unknown_preferred_models_are_reported(router: Router) -> None:
    routing = service(router, code=["coder", "gpt-9"])
    assert routing.unknown_preferred_models()["code"] == ["gpt-9"]
    assert "math" in routing.unknown_preferred_models()  # the shipped ids are not configured


async def test_before_the_router_is_ready_turns_are_not_routed() -> None:
    plan = await service(None).plan(chat("auto"), "solve 2x + 6 = 14")
    assert (plan.decision, plan.model.spec.id) == (None, "small")


async def test_in_groups_each_member_has_their_own_previous_route(router: Router) -> None:
    routing = service(router)
    group = chat("auto", group=True)
    await routing.plan(group, "how do I undo the last git commit", user_id=10)
    mine = await routing.plan(group, "and in Rust?", user_id=10)
    theirs = await routing.plan(group, "and in Rust?", user_id=20)
    assert mine.decision is not None
    assert theirs.decision is not None
    assert mine.decision.stage is Stage.PRIOR
    assert theirs.decision.stage is not Stage.PRIOR


async def test_a_retry_keeps_the_route_it_was_given(router: Router) -> None:
    plan = await service(router).plan(chat("auto"), "the usual question", route="code")
    assert plan.decision is not None
    assert (plan.decision.route, plan.model.spec.id) == ("code", "coder")


def test_the_model_reported_for_a_chat_follows_its_routing_switch(router: Router) -> None:
    routing = service(router)
    assert routing.model_for(chat("auto"), "code", frozenset()).spec.id == "coder"
    assert routing.model_for(chat("auto", routing=False), "code", frozenset()).spec.id == "small"
    assert routing.model_for(chat("small"), "code", frozenset()).spec.id == "small"
