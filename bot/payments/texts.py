"""How plans, limits and moments read in messages (the words come from locales/)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.chat.ports import Translate
from bot.payments.catalog import Plan
from bot.payments.currencies import format_amount
from bot.payments.quotas import LimitStatus, QuotaExceededError

ModelNames = Callable[[str], str]


def moment(value: datetime) -> str:
    """A moment everyone reads the same way: users' time zones are unknown."""
    return value.strftime("%Y-%m-%d %H:%M UTC")


def duration(span: timedelta, t: Translate) -> str:
    minutes = max(1, int(span.total_seconds() + 59) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return t("duration-days-hours", days=days, hours=hours)
    if hours:
        return t("duration-hours-minutes", hours=hours, minutes=minutes)
    return t("duration-minutes", minutes=minutes)


def when(value: datetime, now: datetime, t: Translate) -> str:
    """'at 2026-11-24 14:32 UTC (in 3 h 12 min)'."""
    return t("when-at", time=moment(value), span=duration(value - now, t))


def money_price(plan: Plan) -> str | None:
    """'199.00 RUB', or None for a plan not sold for money."""
    if plan.money is None or plan.currency is None:
        return None
    return format_amount(plan.money, plan.currency)


def plan_line(plan: Plan, t: Translate) -> str:
    money = money_price(plan)
    title = plan.title(t.locale)
    if plan.is_subscription:
        line = t("plan-line-subscription", title=title, price=plan.price, days=plan.days)
    elif money is None:
        line = t("plan-line-pass", title=title, price=plan.price, days=plan.days)
    elif plan.in_stars:
        line = t("plan-line-pass-both", title=title, price=plan.price, money=money, days=plan.days)
    else:
        line = t("plan-line-pass-money", title=title, money=money, days=plan.days)
    description = plan.description(t.locale)
    return f"{line}\n{description}" if description else line


def plan_button(plan: Plan, t: Translate) -> str:
    key = "plan-button-subscription" if plan.is_subscription else "plan-button-pass"
    return t(key, title=plan.title(t.locale), price=plan.price, days=plan.days)


def money_button(plan: Plan, t: Translate) -> str:
    return t(
        "plan-button-pass-money",
        title=plan.title(t.locale),
        money=money_price(plan) or "",
        days=plan.days,
    )


def limit_reached(exc: QuotaExceededError, name: str, now: datetime, t: Translate) -> str:
    plan = exc.plan.title(t.locale)
    if exc.kind == "audio":
        minutes = f"{(exc.limit.tokens or 0) / 60:g}"
        if exc.resets_at is None:
            return t("limit-audio-not-included", plan=plan, minutes=minutes)
        return t(
            "limit-reached-audio", plan=plan, minutes=minutes, when=when(exc.resets_at, now, t)
        )
    if exc.resets_at is None:
        return t("limit-not-included", model=name, plan=plan)
    resets = when(exc.resets_at, now, t)
    if exc.kind == "tokens":
        return t(
            "limit-reached-tokens", model=name, plan=plan, limit=exc.limit.tokens or 0, when=resets
        )
    return t("limit-reached", model=name, plan=plan, limit=exc.limit.messages or 0, when=resets)


def limit_lines(
    statuses: list[LimitStatus], names: ModelNames, now: datetime, t: Translate
) -> list[str]:
    lines = []
    for status in statuses:
        models = ", ".join(names(m) for m in status.models)
        if 0 in (status.limit.messages, status.limit.tokens):
            lines.append(t("limits-not-included", models=models))
            continue
        parts = []
        if status.messages_left is not None:
            parts.append(
                t("limits-messages", left=status.messages_left, limit=status.limit.messages or 0)
            )
        if status.tokens_left is not None:
            parts.append(
                t("limits-tokens", left=status.tokens_left, limit=status.limit.tokens or 0)
            )
        line = t("limits-line", models=models, left="; ".join(parts), hours=_hours(status))
        if status.resets_at is not None and (status.messages_left == 0 or status.tokens_left == 0):
            line = f"{line}\n{t('limits-next', when=when(status.resets_at, now, t))}"
        lines.append(line)
    return lines


def _hours(status: LimitStatus) -> str:
    hours = status.limit.window_hours
    return str(int(hours)) if hours == int(hours) else f"{hours:g}"
