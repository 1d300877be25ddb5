"""A turn's quota step: on `auto`, a configured fallback model answers when the routed model's
limit is reached (if it can do what the message needs); answers that delivered nothing do not
count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.chat.limits import TurnLimits
from bot.chat.ports import Button, Translate
from bot.chat.turn import Outcome
from bot.llm.registry import ModelRegistry
from bot.llm.types import Usage
from bot.payments.catalog import Catalog
from bot.payments.config import Limit, QuotasConfig
from bot.payments.quotas import QuotaExceededError, QuotaService, Reservation
from bot.routing.service import RoutingService, TurnPlan
from bot.storage.database import Database
from tests.unit.payments_fixtures import (
    FakeClock,
    migrated_database,
    migrated_template,
    plan,
)
from tests.unit.test_routing_service import Model

USER = 7


def _notice(exc: QuotaExceededError, t: Translate) -> tuple[str, list[Button]]:
    return exc.subject, []


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    template = await migrated_template(tmp_path)
    async with migrated_database(template, tmp_path) as database:
        yield database


def _limits(db: Database, fallback: str | None) -> tuple[TurnLimits, ModelRegistry, QuotaService]:
    models = [Model("big"), Model("cheap"), Model("seer", vision=True)]
    registry = ModelRegistry({m.spec.id: m for m in models}, [])
    routing = RoutingService(
        registry,
        default_model="big",
        fallback_model="big",
        preferred_overrides={},
        followup_window_seconds=60,
    )
    free = plan(
        "free",
        limits={"big": Limit(messages=1), "seer": Limit(messages=1), "cheap": Limit(messages=2)},
    )
    catalog = Catalog({"free": free}, QuotasConfig(auto_fallback_model=fallback), "en")
    clock = FakeClock(datetime(2026, 11, 23, 12, tzinfo=UTC))
    quotas = QuotaService(db, catalog, clock)
    return TurnLimits(quotas, routing, _notice, fallback_model=fallback), registry, quotas


def _plan(registry: ModelRegistry, model: str, *, auto: bool) -> TurnPlan:
    return TurnPlan(registry.get(model), None, None, auto, "hi")


async def _reserve(
    db: Database, limits: TurnLimits, plan: TurnPlan, needs: frozenset[str]
) -> tuple[TurnPlan, Reservation | None]:
    """What a turn does in the transaction that stores its question."""
    return await db.write(lambda uow: limits.reserve_in(uow, USER, plan, needs))


async def test_on_auto_the_fallback_answers_once_the_routed_model_is_used_up(db: Database) -> None:
    limits, registry, _ = _limits(db, "cheap")
    first, _ = await _reserve(db, limits, _plan(registry, "big", auto=True), frozenset())
    assert first.model.spec.id == "big"
    second, reservation = await _reserve(db, limits, _plan(registry, "big", auto=True), frozenset())
    assert second.model.spec.id == "cheap"
    assert reservation is not None
    third, _ = await _reserve(db, limits, _plan(registry, "big", auto=True), frozenset())
    assert third.model.spec.id == "cheap"
    with pytest.raises(QuotaExceededError) as refused:  # both used up: the routed model's limit
        await _reserve(db, limits, _plan(registry, "big", auto=True), frozenset())
    assert refused.value.subject == "big"


async def test_a_fixed_model_never_falls_back(db: Database) -> None:
    limits, registry, _ = _limits(db, "cheap")
    await _reserve(db, limits, _plan(registry, "big", auto=False), frozenset())
    with pytest.raises(QuotaExceededError):
        await _reserve(db, limits, _plan(registry, "big", auto=False), frozenset())


async def test_the_fallback_must_see_a_picture_that_needs_eyes(db: Database) -> None:
    limits, registry, _ = _limits(db, "cheap")
    vision = frozenset({"vision"})
    await _reserve(db, limits, _plan(registry, "seer", auto=True), vision)
    with pytest.raises(QuotaExceededError) as refused:
        await _reserve(db, limits, _plan(registry, "seer", auto=True), vision)
    assert refused.value.subject == "seer"


async def test_an_answer_that_delivered_nothing_does_not_count(db: Database) -> None:
    limits, registry, quotas = _limits(db, None)
    _, reservation = await _reserve(db, limits, _plan(registry, "big", auto=False), frozenset())
    # The model failed before any text.
    await db.write(lambda uow: limits.settle(uow, reservation, Outcome()))
    _, reservation = await _reserve(db, limits, _plan(registry, "big", auto=False), frozenset())
    await db.write(
        lambda uow: limits.settle(uow, reservation, Outcome(text="answer", usage=Usage(30, 12)))
    )
    _, statuses = await quotas.status(USER, ["big"])
    assert (statuses[0].messages_used, statuses[0].tokens_used) == (1, 42)
    with pytest.raises(QuotaExceededError):
        await _reserve(db, limits, _plan(registry, "big", auto=False), frozenset())
