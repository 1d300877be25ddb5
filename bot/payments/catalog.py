"""The plans of this deployment, and which limit applies to which model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.payments.config import (
    DEFAULT_LIMIT_KEY,
    Limit,
    MoneyConfig,
    PlanConfig,
    QuotasConfig,
)
from bot.payments.currencies import to_minor

GROUP_PREFIX = "group:"
ACTION_PREFIX = "action:"
AUDIO_BUCKET = "audio"  # its usage rows count seconds of audio in `tokens`


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    config: PlanConfig
    default_locale: str
    money: int | None = None  # the price in money, in the currency's smallest units
    currency: str | None = None  # of `money`

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def price(self) -> int:
        """In Stars (0: sold for money only)."""
        return self.config.price_stars

    @property
    def in_stars(self) -> bool:
        return self.config.price_stars > 0

    @property
    def days(self) -> int:
        return self.config.period_days

    @property
    def is_subscription(self) -> bool:
        return self.config.kind == "subscription"

    def title(self, locale: str) -> str:
        return localized(self.config.title, locale, self.default_locale)

    def description(self, locale: str) -> str:
        return localized(self.config.description, locale, self.default_locale)


@dataclass(frozen=True, slots=True)
class AppliedLimit:
    """The limit that counts a model's answers, and the counter (bucket) it uses."""

    bucket: str
    limit: Limit
    models: tuple[str, ...]  # the models sharing the counter


def localized(texts: Mapping[str, str], locale: str, default_locale: str) -> str:
    return texts.get(locale) or texts.get(default_locale) or next(iter(texts.values()), "")


class Catalog:
    def __init__(
        self,
        plans: Mapping[str, PlanConfig],
        quotas: QuotasConfig,
        default_locale: str,
        money: MoneyConfig | None = None,
    ) -> None:
        self.default_locale = default_locale
        self.money = money
        self._plans = {pid: _plan(pid, cfg, default_locale, money) for pid, cfg in plans.items()}
        self._groups = {model: group for group, ms in quotas.groups.items() for model in ms}
        self._members = {group: tuple(ms) for group, ms in quotas.groups.items()}
        self.auto_fallback_model = quotas.auto_fallback_model

    @property
    def enabled(self) -> bool:
        """No plans configured: nobody is limited and nothing is sold."""
        return bool(self._plans)

    @property
    def free(self) -> Plan | None:
        return next((p for p in self._plans.values() if p.kind == "free"), None)

    @property
    def paid(self) -> list[Plan]:
        """Plans for sale, cheapest first."""
        return sorted((p for p in self._plans.values() if p.kind != "free"), key=_rank)

    def dearer_than(self, plan: Plan) -> list[Plan]:
        """Plans for sale ranked above `plan`: what a reached limit offers."""
        return [p for p in self.paid if _rank(p) > _rank(plan)]

    def get(self, plan_id: str) -> Plan | None:
        return self._plans.get(plan_id)

    def for_sale(self, plan_id: str) -> Plan | None:
        """The paid plan of that id (None for the free plan or an unknown id)."""
        plan = self._plans.get(plan_id)
        return plan if plan is not None and plan.kind != "free" else None

    def best(self, plan_ids: Iterable[str]) -> Plan | None:
        """The plan a user is on: the dearest of those they hold, else the free plan."""
        held = [self._plans[p] for p in plan_ids if p in self._plans]
        return max(held, key=_rank) if held else self.free

    def limit_for(self, plan: Plan, model_id: str) -> AppliedLimit | None:
        limits = plan.config.limits
        if model_id in limits:
            return AppliedLimit(model_id, limits[model_id], (model_id,))
        group = self._groups.get(model_id)
        if group is not None and group in limits:
            return AppliedLimit(GROUP_PREFIX + group, limits[group], self._members[group])
        if DEFAULT_LIMIT_KEY in limits:
            return AppliedLimit(model_id, limits[DEFAULT_LIMIT_KEY], (model_id,))
        return None

    @staticmethod
    def action_limit(plan: Plan, action: str) -> AppliedLimit | None:
        """A costly action's limit, counted like answers on a counter of its own."""
        limit = plan.config.actions.get(action)
        if limit is None:
            return None
        as_answers = Limit(messages=limit.count, window_hours=limit.window_hours)
        return AppliedLimit(ACTION_PREFIX + action, as_answers, ())


def audio_limit(plan: Plan) -> AppliedLimit | None:
    """Minutes of audio, counted in seconds (as tokens) on a counter of their own."""
    limit = plan.config.audio
    if limit is None:
        return None
    seconds = Limit(tokens=round(limit.minutes * 60), window_hours=limit.window_hours)
    return AppliedLimit(AUDIO_BUCKET, seconds, ())


def _plan(plan_id: str, config: PlanConfig, locale: str, money: MoneyConfig | None) -> Plan:
    if money is None or config.price_money is None:
        return Plan(plan_id, config, locale)
    return Plan(
        plan_id, config, locale, to_minor(config.price_money, money.currency), money.currency
    )


def _rank(plan: Plan) -> tuple[int, int, int]:
    return plan.price, plan.money or 0, plan.days
