"""Plan buttons (/subscribe, and under a reached limit) and the subscription link button."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.chat.limits import LimitNotice
from bot.chat.ports import Button, Translate
from bot.payments.catalog import Catalog, Plan
from bot.payments.quotas import Clock, QuotaExceededError
from bot.payments.texts import ModelNames, limit_reached, money_button, plan_button
from bot.telegram.views.base import buttons_markup


class BuyPlan(CallbackData, prefix="buy"):
    plan: str


class BuyPlanMoney(CallbackData, prefix="buym"):
    """The same plan, paid in money through the provider."""

    plan: str


def plan_buttons(plans: Sequence[Plan], t: Translate) -> list[Button]:
    """A Stars button and a money button per plan, as it is sold."""
    buttons = []
    for plan in plans:
        if plan.in_stars:
            buttons.append(Button(plan_button(plan, t), BuyPlan(plan=plan.id).pack()))
        if plan.money is not None:
            buttons.append(Button(money_button(plan, t), BuyPlanMoney(plan=plan.id).pack()))
    return buttons


def plans_keyboard(plans: Sequence[Plan], t: Translate) -> InlineKeyboardMarkup | None:
    return buttons_markup(plan_buttons(plans, t))


def link_keyboard(url: str, label: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=label, url=url)
    return builder.as_markup()


def limit_notice(catalog: Catalog, names: ModelNames, clock: Clock) -> LimitNotice:
    """The reply to a reached limit: when it frees up, and the plans dearer than the user's."""

    def notice(exc: QuotaExceededError, t: Translate) -> tuple[str, Sequence[Button]]:
        text = limit_reached(exc, names(exc.subject), clock(), t)
        better = catalog.dearer_than(exc.plan)
        if better:
            text = f"{text}\n\n{t('limit-offer')}"
        return text, plan_buttons(better, t)

    return notice
