"""The `[plans]`, `[quotas]` and `[payments]` tables of `config.toml`.

A plan is what a user is on: the free plan (everyone, always) or a paid one bought with
Telegram Stars, either as a pass (N days, passes stack) or as a monthly subscription. A plan
limits messages and tokens per model, per model group or per model by default (`"*"`) within
a rolling window, and costly actions (image generation) separately.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from bot.payments.currencies import exponent, to_minor

PLAN_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,23}$"
PlanId = Annotated[str, StringConstraints(pattern=PLAN_ID_PATTERN)]
"""Plan ids travel in callback data and invoice payloads, so they are short slugs."""

DEFAULT_LIMIT_KEY = "*"
SUBSCRIPTION_DAYS = 30  # Telegram's only subscription period (2592000 s)
MAX_STARS = 10_000  # the largest price of a Stars subscription


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Strict):
    """At most `messages` answers and/or `tokens` (input + output) per rolling window."""

    messages: int | None = Field(default=None, ge=0)
    tokens: int | None = Field(default=None, ge=0)
    window_hours: float = Field(default=24.0, gt=0, le=24 * 31)

    @model_validator(mode="after")
    def _limits_something(self) -> Limit:
        if self.messages is None and self.tokens is None:
            raise ValueError("a limit needs messages, tokens or both")
        return self


class ActionLimit(_Strict):
    count: int = Field(ge=0)
    window_hours: float = Field(default=24.0, gt=0, le=24 * 31)


class AudioLimit(_Strict):
    """At most `minutes` of voice messages, audio files and video notes per rolling window."""

    minutes: float = Field(ge=0)
    window_hours: float = Field(default=24.0, gt=0, le=24 * 31)


class PlanConfig(_Strict):
    # Per locale ("en", "ru"); the default locale's text is required, others fall back to it.
    title: dict[str, Annotated[str, StringConstraints(min_length=1, max_length=32)]] = Field(
        min_length=1
    )
    description: dict[str, Annotated[str, StringConstraints(min_length=1, max_length=255)]] = Field(
        default_factory=dict
    )
    kind: Literal["free", "pass", "subscription"] = "pass"
    price_stars: int = Field(default=0, ge=0, le=MAX_STARS)
    # The price in money, in [payments.money] currency, as written ("199.00"): a pass only
    # (Telegram renews subscriptions in Stars alone).
    price_money: Decimal | None = Field(default=None, gt=0)
    days: int | None = Field(default=None, ge=1, le=3650)  # passes; subscriptions are 30 days
    # Keys: a model id, a group of [quotas.groups], or "*" (each other model on its own).
    # A model with no limit (and no "*") is unlimited on this plan.
    limits: dict[str, Limit] = Field(default_factory=dict)
    actions: dict[str, ActionLimit] = Field(default_factory=dict)
    # Minutes of recordings transcribed (docs/voice.md); unset: unlimited on this plan.
    audio: AudioLimit | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PlanConfig:
        if self.kind == "free":
            if self.price_stars or self.days or self.price_money:
                raise ValueError(
                    "the free plan has no price_stars and no days (nor price_money); remove "
                    'them (or make it a kind = "pass" or "subscription" plan)'
                )
            return self
        if self.kind == "subscription" and self.price_money is not None:
            raise ValueError(
                "Telegram renews subscriptions in Stars only; remove price_money, or sell the "
                'plan in money as a kind = "pass" of 30 days'
            )
        if self.price_stars < 1 and self.price_money is None:
            raise ValueError(
                f"a {self.kind} plan needs price_stars of 1 to {MAX_STARS} or a price_money "
                '(the plan everyone is on without paying needs kind = "free")'
            )
        if self.kind == "pass" and self.days is None:
            raise ValueError("a pass needs days (how long it lasts, for example 7)")
        if self.kind == "subscription" and self.days not in (None, SUBSCRIPTION_DAYS):
            raise ValueError(
                f"Telegram subscriptions last {SUBSCRIPTION_DAYS} days; remove days or set "
                f"{SUBSCRIPTION_DAYS}"
            )
        return self

    @property
    def period_days(self) -> int:
        return SUBSCRIPTION_DAYS if self.kind == "subscription" else (self.days or 0)


class QuotasConfig(_Strict):
    # Models that share one counter: `premium = ["gpt-4o", "claude"]`.
    groups: dict[PlanId, list[str]] = Field(default_factory=dict)
    # On `auto`, when the routed model's limit is reached, this model answers instead (if the
    # user still has quota for it); unset: the user is told the limit.
    auto_fallback_model: str | None = None


class MoneyConfig(_Strict):
    """Payments in a currency through a provider connected in @BotFather (its token is
    PAYMENTS_PROVIDER_TOKEN in the environment)."""

    # yookassa adds a receipt for Russian fiscal law (54-FZ) to each invoice; others need none.
    provider: Literal["yookassa", "stripe", "other"]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    # What the payment form asks the buyer for the receipt, and passes on to the provider.
    # Default: "email" with yookassa, "none" with the others.
    receipt: Literal["email", "phone", "none"] | None = None
    # YooKassa receipts: the item's VAT code (1: without VAT ... 6: 20/120) and, if your shop
    # has several, the tax system code (1-6).
    vat_code: int = Field(default=1, ge=1, le=12)
    tax_system_code: int | None = Field(default=None, ge=1, le=6)

    @model_validator(mode="after")
    def _known_currency(self) -> MoneyConfig:
        if exponent(self.currency) is None:
            raise ValueError(
                f"Telegram Payments do not take {self.currency}; use a currency of "
                "https://core.telegram.org/bots/payments/currencies.json (RUB, USD, EUR, ...)"
            )
        return self

    @property
    def receipt_contact(self) -> str:
        if self.receipt is not None:
            return self.receipt
        return "email" if self.provider == "yookassa" else "none"


class PaymentsConfig(_Strict):
    # An invoice must be paid within this many minutes of being sent (stale ones are refused).
    invoice_ttl_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # /paysupport and /terms, per locale; unset: the texts shipped in locales/.
    support: dict[str, str] = Field(default_factory=dict)
    terms: dict[str, str] = Field(default_factory=dict)
    # Plans with a price_money are sold in this currency too; unset: Stars only.
    money: MoneyConfig | None = None


def money_problems(plans: dict[str, PlanConfig], money: MoneyConfig | None) -> list[str]:
    """Prices in money need [payments.money] and must fit its currency's exponent."""
    problems: list[str] = []
    for plan_id, plan in plans.items():
        if plan.price_money is None:
            continue
        if money is None:
            problems.append(
                f"plans.{plan_id}.price_money needs a [payments.money] table (provider and "
                "currency); add it or remove the price"
            )
            continue
        try:
            to_minor(plan.price_money, money.currency)
        except ValueError as exc:
            problems.append(f"plans.{plan_id}.price_money: {exc}; fix the price")
    return problems


def plan_problems(
    plans: dict[str, PlanConfig],
    quotas: QuotasConfig,
    model_ids: set[str],
    default_locale: str,
) -> list[str]:
    """What is wrong across plans, groups and models (each with the fix)."""
    problems: list[str] = []
    defined = ", ".join(sorted(model_ids))
    for group, members in quotas.groups.items():
        for member in members:
            if member not in model_ids:
                problems.append(
                    f"quotas.groups.{group} names '{member}', which is not a model under "
                    f"[models] (defined: {defined}); fix the name"
                )
        if group in model_ids:
            problems.append(f"quotas.groups.{group}: a group cannot have a model's id; rename it")
    grouped = [m for members in quotas.groups.values() for m in members]
    for model_id in {m for m in grouped if grouped.count(m) > 1}:
        problems.append(f"quotas.groups: '{model_id}' is in more than one group; keep it in one")
    fallback = quotas.auto_fallback_model
    if fallback is not None and fallback not in model_ids:
        problems.append(
            f"quotas.auto_fallback_model is '{fallback}', which is not a model under [models] "
            f"(defined: {defined}); pick one of those or remove the setting"
        )
    if not plans:
        return problems
    free = [plan_id for plan_id, plan in plans.items() if plan.kind == "free"]
    if len(free) != 1:
        problems.append(
            'plans: exactly one plan must have kind = "free" (what everyone is on without '
            f"paying); found {len(free)}"
        )
    keys = model_ids | set(quotas.groups) | {DEFAULT_LIMIT_KEY}
    for plan_id, plan in plans.items():
        if default_locale not in plan.title:
            problems.append(
                f"plans.{plan_id}.title has no '{default_locale}' text (the default locale); "
                f"add title.{default_locale}"
            )
        if plan.kind != "free" and default_locale not in plan.description:
            problems.append(
                f"plans.{plan_id}.description has no '{default_locale}' text; Telegram shows it "
                f"on the invoice, add description.{default_locale}"
            )
        for key in plan.limits:
            if key not in keys:
                problems.append(
                    f"plans.{plan_id}.limits.{key}: not a model, a group of [quotas.groups] "
                    'or "*"; fix the name'
                )
    return problems
