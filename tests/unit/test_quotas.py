"""Which limit applies to which model (the catalogue), and quotas counted on real SQLite: answers
are reserved before the model is called, settled after, and refused past the plan's limit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.payments.catalog import Catalog, localized
from bot.payments.config import ActionLimit, Limit, QuotasConfig
from bot.payments.quotas import QuotaExceededError, QuotaService, Reservation
from bot.storage.database import Database
from tests.unit.payments_fixtures import (
    FakeClock,
    plan,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
USER = 1001
OTHER_USER = 2002
GROUPS = QuotasConfig(groups={"premium": ["gpt-4o", "claude"]})


def catalog(
    free: dict[str, Limit] | None = None,
    *,
    plus: dict[str, Limit] | None = None,
    actions: dict[str, ActionLimit] | None = None,
    plus_actions: dict[str, ActionLimit] | None = None,
) -> Catalog:
    plans = {
        "free": plan("free", limits=free, actions=actions),
        "plus": plan("pass", price=100, days=7, limits=plus, actions=plus_actions),
    }
    return Catalog(plans, GROUPS, "en")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


async def exceeded(quotas: QuotaService, user_id: int, model_id: str) -> QuotaExceededError:
    with pytest.raises(QuotaExceededError) as info:
        await quotas.reserve(user_id, model_id)
    return info.value


async def reserve(quotas: QuotaService, user_id: int, model_id: str) -> Reservation:
    reservation = await quotas.reserve(user_id, model_id)
    assert reservation is not None
    return reservation


async def give_plan(
    db: Database, user_id: int, plan_id: str, until: datetime, now: datetime
) -> None:
    seconds = int((until - now).total_seconds())
    await db.write(lambda uow: uow.entitlements.extend(user_id, plan_id, seconds=seconds, now=now))


# The catalogue


def test_the_user_is_on_the_dearest_plan_held_else_free() -> None:
    plans = {
        "free": plan("free"),
        "week": plan("pass", price=50, days=7),
        "month": plan("subscription", price=250),
        "day": plan("pass", price=10, days=1),
    }
    cat = Catalog(plans, QuotasConfig(), "en")

    def best(*held: str) -> str | None:
        found = cat.best(held)
        return found.id if found else None

    assert best() == "free"
    assert best("week") == "week"
    assert best("day", "month", "week") == "month"
    assert best("gone") == "free"  # a plan removed from the configuration no longer counts
    assert best("gone", "day") == "day"


def test_plans_for_sale_are_listed_cheapest_first_without_the_free_plan() -> None:
    plans = {
        "free": plan("free"),
        "year": plan("pass", price=1000, days=365),
        "week": plan("pass", price=50, days=7),
        "month": plan("subscription", price=250),
    }

    assert [p.id for p in Catalog(plans, QuotasConfig(), "en").paid] == ["week", "month", "year"]


def test_a_model_limit_beats_its_group_which_beats_star() -> None:
    own, shared, default = Limit(messages=1), Limit(messages=2), Limit(tokens=3)
    cat = catalog({"gpt-4o": own, "premium": shared, "*": default})
    free = cat.free
    assert free is not None

    by_model = cat.limit_for(free, "gpt-4o")
    by_group = cat.limit_for(free, "claude")
    by_star = cat.limit_for(free, "llama")

    assert by_model is not None
    assert (by_model.bucket, by_model.limit, by_model.models) == ("gpt-4o", own, ("gpt-4o",))
    assert by_group is not None
    assert (by_group.bucket, by_group.limit) == ("group:premium", shared)
    assert by_group.models == ("gpt-4o", "claude")
    assert by_star is not None
    assert (by_star.bucket, by_star.limit, by_star.models) == ("llama", default, ("llama",))


def test_a_grouped_model_falls_to_star_when_its_group_has_no_limit() -> None:
    cat = catalog({"*": Limit(messages=4)})
    free = cat.free
    assert free is not None

    applied = cat.limit_for(free, "claude")

    assert applied is not None
    assert applied.bucket == "claude"  # its own counter, not the group's


def test_a_model_without_any_limit_is_unlimited() -> None:
    cat = catalog({"gpt-4o": Limit(messages=1)})
    free = cat.free
    assert free is not None

    assert cat.limit_for(free, "llama") is None
    assert cat.limit_for(free, "claude") is None


def test_titles_fall_back_to_the_default_locale() -> None:
    week = plan(
        "pass",
        price=50,
        days=7,
        title={"en": "Week", "ru": "Неделя"},
        description={"en": "Seven days"},
    )
    cat = Catalog({"free": plan("free"), "week": week}, QuotasConfig(), "en")
    found = cat.get("week")
    assert found is not None

    assert found.title("ru") == "Неделя"
    assert found.title("de") == "Week"
    assert found.description("ru") == "Seven days"
    assert localized({"ru": "Неделя"}, "de", "en") == "Неделя"  # anything beats nothing
    assert localized({}, "de", "en") == ""


# Counting answers


async def test_three_messages_then_refused_until_the_first_leaves_the_window(
    db: Database, clock: FakeClock
) -> None:
    quotas = QuotaService(db, catalog({"gpt-4o": Limit(messages=3)}), clock)

    for _ in range(3):
        await reserve(quotas, USER, "gpt-4o")
        clock.advance(timedelta(hours=1))
    refused = await exceeded(quotas, USER, "gpt-4o")

    assert refused.kind == "messages"
    assert refused.resets_at == T0 + DAY
    assert refused.subject == "gpt-4o"
    assert refused.plan.id == "free"
    _, [status] = await quotas.status(USER, ["gpt-4o"])
    assert status.messages_used == 3  # the refusal counted nothing

    clock.now = T0 + DAY - timedelta(seconds=1)
    await exceeded(quotas, USER, "gpt-4o")
    clock.now = T0 + DAY  # the first answer no longer counts: exactly one is free again
    await reserve(quotas, USER, "gpt-4o")
    refused = await exceeded(quotas, USER, "gpt-4o")
    assert refused.resets_at == T0 + timedelta(hours=1) + DAY


async def test_a_released_reservation_does_not_count(db: Database, clock: FakeClock) -> None:
    quotas = QuotaService(db, catalog({"gpt-4o": Limit(messages=1)}), clock)

    failed = await reserve(quotas, USER, "gpt-4o")
    await quotas.settle(failed, 0, counted=False)  # the model call failed
    delivered = await reserve(quotas, USER, "gpt-4o")
    await quotas.settle(delivered, 120, counted=True)

    await exceeded(quotas, USER, "gpt-4o")


async def test_settled_tokens_add_up_to_the_token_limit(db: Database, clock: FakeClock) -> None:
    quotas = QuotaService(db, catalog({"gpt-4o": Limit(tokens=1000)}), clock)

    async def answer(tokens: int) -> None:
        await quotas.settle(await reserve(quotas, USER, "gpt-4o"), tokens, counted=True)

    await answer(100)
    clock.advance(timedelta(hours=1))
    await answer(200)
    clock.advance(timedelta(hours=1))
    await answer(599)
    await answer(0)  # 899 so far: still below the limit
    await answer(101)  # 1000 (700 of it at T0 + 2 h): the limit is reached
    clock.advance(timedelta(hours=1))
    refused = await exceeded(quotas, USER, "gpt-4o")

    assert refused.kind == "tokens"
    assert refused.resets_at == T0 + DAY  # 900 once the first answer leaves the window

    clock.now = T0 + DAY
    await answer(300)  # 200 + 700 + 300 = 1200
    refused = await exceeded(quotas, USER, "gpt-4o")
    # Without the 200 it is still 1000; below the limit only once the 700 leaves too.
    assert refused.resets_at == T0 + timedelta(hours=2) + DAY


async def test_both_limits_apply_and_either_refuses(db: Database, clock: FakeClock) -> None:
    quotas = QuotaService(db, catalog({"gpt-4o": Limit(messages=5, tokens=100)}), clock)

    await quotas.settle(await reserve(quotas, USER, "gpt-4o"), 100, counted=True)

    assert (await exceeded(quotas, USER, "gpt-4o")).kind == "tokens"


@pytest.mark.parametrize(
    ("limit", "kind"), [(Limit(messages=0), "messages"), (Limit(tokens=0), "tokens")]
)
async def test_a_limit_of_zero_refuses_without_a_reset(
    db: Database, clock: FakeClock, limit: Limit, kind: str
) -> None:
    quotas = QuotaService(db, catalog({"gpt-4o": limit}), clock)

    refused = await exceeded(quotas, USER, "gpt-4o")

    assert refused.kind == kind
    assert refused.resets_at is None


async def test_a_model_without_a_limit_is_not_counted(db: Database, clock: FakeClock) -> None:
    quotas = QuotaService(db, catalog({"gpt-4o": Limit(messages=1)}), clock)

    assert [await quotas.reserve(USER, "llama") for _ in range(5)] == [None] * 5
    _, statuses = await quotas.status(USER, ["llama"])
    assert statuses == []


async def test_members_of_a_group_share_one_counter(db: Database, clock: FakeClock) -> None:
    limits = {"premium": Limit(messages=2), "llama": Limit(messages=1)}
    quotas = QuotaService(db, catalog(limits), clock)

    first = await reserve(quotas, USER, "gpt-4o")
    second = await reserve(quotas, USER, "claude")

    assert first.bucket == second.bucket == "group:premium"
    assert (await exceeded(quotas, USER, "gpt-4o")).subject == "gpt-4o"
    assert (await exceeded(quotas, USER, "claude")).subject == "claude"
    await reserve(quotas, USER, "llama")  # outside the group: its own limit


async def test_star_counts_each_model_on_its_own(db: Database, clock: FakeClock) -> None:
    quotas = QuotaService(db, catalog({"*": Limit(messages=1)}), clock)

    llama = await reserve(quotas, USER, "llama")
    mistral = await reserve(quotas, USER, "mistral")
    claude = await reserve(quotas, USER, "claude")  # premium has no limit: "*" applies

    assert (llama.bucket, mistral.bucket, claude.bucket) == ("llama", "mistral", "claude")
    for model_id in ("llama", "mistral", "claude"):
        await exceeded(quotas, USER, model_id)


async def test_a_paid_plan_gives_its_limits_until_it_expires(
    db: Database, clock: FakeClock
) -> None:
    cat = catalog({"gpt-4o": Limit(messages=3)}, plus={"gpt-4o": Limit(messages=10)})
    quotas = QuotaService(db, cat, clock)
    expiry = T0 + timedelta(days=7)
    await give_plan(db, USER, "plus", expiry, T0)

    assert (plan_now := await quotas.plan_of(USER)) is not None
    assert plan_now.id == "plus"
    clock.now = expiry - timedelta(hours=5)
    for _ in range(5):  # more than the free plan allows
        await reserve(quotas, USER, "gpt-4o")
        clock.advance(timedelta(hours=1))

    assert clock.now == expiry
    assert (plan_now := await quotas.plan_of(USER)) is not None
    assert plan_now.id == "free"
    refused = await exceeded(quotas, USER, "gpt-4o")
    assert refused.plan.id == "free"
    # 5 counted against a limit of 3: below it again once the third oldest leaves the window.
    assert refused.resets_at == expiry - timedelta(hours=3) + DAY


async def test_a_paid_plan_without_a_limit_for_a_model_is_unlimited(
    db: Database, clock: FakeClock
) -> None:
    cat = catalog({"*": Limit(messages=1)}, plus={"premium": Limit(messages=100)})
    quotas = QuotaService(db, cat, clock)
    await give_plan(db, USER, "plus", T0 + timedelta(days=7), T0)

    assert await quotas.reserve(USER, "llama") is None
    assert (await reserve(quotas, USER, "claude")).bucket == "group:premium"


async def test_limits_are_per_user(db: Database, clock: FakeClock) -> None:
    cat = catalog({"gpt-4o": Limit(messages=1)}, plus={"gpt-4o": Limit(messages=5)})
    quotas = QuotaService(db, cat, clock)
    await give_plan(db, OTHER_USER, "plus", T0 + timedelta(days=7), T0)

    await reserve(quotas, USER, "gpt-4o")
    await exceeded(quotas, USER, "gpt-4o")

    await reserve(quotas, OTHER_USER, "gpt-4o")  # neither the use nor the refusal is shared
    assert (other := await quotas.plan_of(OTHER_USER)) is not None
    assert other.id == "plus"
    assert (mine := await quotas.plan_of(USER)) is not None
    assert mine.id == "free"  # nor the paid plan


async def test_actions_are_counted_apart_from_answers(db: Database, clock: FakeClock) -> None:
    cat = catalog({"gpt-4o": Limit(messages=2)}, actions={"generate_image": ActionLimit(count=1)})
    quotas = QuotaService(db, cat, clock)

    action = await quotas.reserve_action(USER, "generate_image")
    assert action is not None
    assert action.bucket == "action:generate_image"
    with pytest.raises(QuotaExceededError) as info:
        await quotas.reserve_action(USER, "generate_image")
    assert info.value.subject == "generate_image"
    assert info.value.resets_at == T0 + DAY

    await reserve(quotas, USER, "gpt-4o")  # the image did not use up an answer
    await reserve(quotas, USER, "gpt-4o")
    await exceeded(quotas, USER, "gpt-4o")
    assert await quotas.reserve_action(USER, "search_web") is None  # not limited


async def test_status_reports_used_and_left_per_counter(db: Database, clock: FakeClock) -> None:
    limits = {"llama": Limit(messages=3, tokens=1000), "premium": Limit(messages=10)}
    quotas = QuotaService(db, catalog(limits), clock)
    await quotas.settle(await reserve(quotas, USER, "llama"), 50, counted=True)
    clock.advance(timedelta(hours=2))
    await quotas.settle(await reserve(quotas, USER, "llama"), 70, counted=True)
    await reserve(quotas, USER, "claude")
    clock.advance(timedelta(hours=1))

    current, statuses = await quotas.status(USER, ["llama", "claude", "mistral"])

    assert current is not None
    assert current.id == "free"
    by_models = {s.models: s for s in statuses}
    assert set(by_models) == {("llama",), ("claude",)}  # mistral is unlimited: not listed
    own = by_models[("llama",)]
    assert (own.messages_used, own.messages_left) == (2, 1)
    assert (own.tokens_used, own.tokens_left) == (120, 880)
    assert own.resets_at == T0 + DAY
    group = by_models[("claude",)]  # only the group members asked about
    assert (group.messages_used, group.messages_left, group.tokens_left) == (1, 9, None)
    assert group.resets_at == T0 + timedelta(hours=2) + DAY


async def test_status_lists_a_model_only_under_the_counter_it_uses(
    db: Database, clock: FakeClock
) -> None:
    limits = {"gpt-4o": Limit(messages=3), "premium": Limit(messages=10)}
    quotas = QuotaService(db, catalog(limits), clock)

    _, statuses = await quotas.status(USER, ["gpt-4o", "claude"])

    assert sorted(s.models for s in statuses) == [("claude",), ("gpt-4o",)]


@pytest.mark.parametrize("kind", ["messages", "tokens"])
async def test_status_and_refusal_agree_on_when_the_next_answer_frees_up(
    db: Database, clock: FakeClock, kind: str
) -> None:
    if kind == "messages":  # five answers on a paid plan, then back on the free plan's 3
        free, spent = Limit(messages=3), [0, 0, 0, 0, 0]
    else:
        free, spent = Limit(tokens=1000), [100, 200, 800]
    cat = catalog({"gpt-4o": free}, plus={"gpt-4o": Limit(messages=10, tokens=10_000)})
    quotas = QuotaService(db, cat, clock)
    await give_plan(db, USER, "plus", T0 + timedelta(hours=len(spent)), T0)
    for tokens in spent:
        await quotas.settle(await reserve(quotas, USER, "gpt-4o"), tokens, counted=True)
        clock.advance(timedelta(hours=1))

    refused = await exceeded(quotas, USER, "gpt-4o")
    _, [status] = await quotas.status(USER, ["gpt-4o"])

    assert 0 in (status.messages_left, status.tokens_left)  # /limits shows when more frees up
    assert status.resets_at == refused.resets_at


async def test_status_of_an_unused_limit_has_no_reset(db: Database, clock: FakeClock) -> None:
    quotas = QuotaService(db, catalog({"premium": Limit(messages=2)}), clock)

    _, [status] = await quotas.status(USER, ["gpt-4o", "claude"])

    assert status.models == ("gpt-4o", "claude")
    assert (status.messages_used, status.messages_left, status.resets_at) == (0, 2, None)


async def test_parallel_messages_cannot_pass_the_limit_together(
    db: Database, clock: FakeClock
) -> None:
    quotas = QuotaService(db, catalog({"gpt-4o": Limit(messages=5)}), clock)
    await reserve(quotas, USER, "gpt-4o")
    await reserve(quotas, USER, "gpt-4o")  # 3 left

    results = await asyncio.gather(
        *(quotas.reserve(USER, "gpt-4o") for _ in range(10)), return_exceptions=True
    )

    assert sum(isinstance(r, Reservation) for r in results) == 3
    assert sum(isinstance(r, QuotaExceededError) for r in results) == 7
    _, [status] = await quotas.status(USER, ["gpt-4o"])
    assert status.messages_used == 5


async def test_without_plans_nobody_is_limited(db: Database, clock: FakeClock) -> None:
    quotas = QuotaService(db, Catalog({}, GROUPS, "en"), clock)

    assert not quotas.enabled
    assert await quotas.reserve(USER, "gpt-4o") is None
    assert await quotas.reserve_action(USER, "generate_image") is None
    assert await quotas.plan_of(USER) is None
    assert await quotas.status(USER, ["gpt-4o"]) == (None, [])


async def test_prune_removes_only_usage_older_than_asked(db: Database, clock: FakeClock) -> None:
    quotas = QuotaService(db, catalog({"gpt-4o": Limit(messages=2)}), clock)
    await reserve(quotas, USER, "gpt-4o")
    clock.advance(timedelta(days=10))
    await reserve(quotas, USER, "gpt-4o")

    assert await quotas.prune(timedelta(days=5)) == 1
    _, [status] = await quotas.status(USER, ["gpt-4o"])
    assert status.messages_used == 1
