"""Operators' payment commands: /refund <charge id>, /grant <user> <plan> <days>, /revenue.
Non-admins get the refusal of `operators` (the commands are listed there)."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.handlers.operators import BotAdmin
from bot.handlers.payments import stop_renewal
from bot.i18n import Translator
from bot.payments.service import PaymentService, RevokeStatus
from bot.payments.texts import moment

logger = logging.getLogger(__name__)
router = Router(name=__name__)

ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


@router.message(Command("refund"), BotAdmin())
async def refund(
    message: Message, command: CommandObject, bot: Bot, t: Translator, payments: PaymentService
) -> None:
    charge_id = (command.args or "").strip()
    if not charge_id or " " in charge_id:
        await message.answer(t("refund-usage"))
        return
    charge = await payments.charge(charge_id)
    if charge is None or charge.stars <= 0:
        await message.answer(t("refund-unknown", charge=charge_id))
        return
    try:
        await bot.refund_star_payment(charge.user_id, charge_id)
    except TelegramAPIError as exc:  # a timeout too: asking again is safe
        if ALREADY_REFUNDED not in exc.message:  # refunded at Telegram: revoke here too
            await message.answer(t("refund-failed", error=exc.message))
            return
    revocation = await payments.revoke(
        charge_id, actor_id=message.from_user.id if message.from_user else None
    )
    await stop_renewal(bot, revocation)
    entitlement = revocation.entitlement
    if revocation.status is RevokeStatus.ALREADY:
        await message.answer(t("refund-already", charge=charge_id))
        return
    until = moment(entitlement.expires_at) if entitlement else "-"
    await message.answer(
        t(
            "refund-done",
            stars=charge.stars,
            charge=charge_id,
            user=str(charge.user_id),
            plan=charge.plan_id,
            until=until,
        )
    )


@router.message(Command("grant"), BotAdmin())
async def grant(
    message: Message, command: CommandObject, t: Translator, payments: PaymentService
) -> None:
    parts = (command.args or "").split()
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit() or int(parts[2]) < 1:
        await message.answer(t("grant-usage"))
        return
    user_id, plan_id, days = int(parts[0]), parts[1], int(parts[2])
    actor = message.from_user.id if message.from_user else 0
    entitlement = await payments.grant(user_id, plan_id, days, actor)
    if entitlement is None:
        names = ", ".join(p.id for p in payments.catalog.paid) or "-"
        await message.answer(t("grant-unknown-plan", plan=plan_id, plans=names))
        return
    await message.answer(
        t("grant-done", user=str(user_id), plan=plan_id, until=moment(entitlement.expires_at))
    )


@router.message(Command("revenue"), BotAdmin())
async def revenue(message: Message, t: Translator, payments: PaymentService) -> None:
    sections = []
    for period, lines in await payments.revenue():
        rows = [
            t(
                "revenue-line",
                plan=line.plan_id,
                stars=line.stars,
                payments=line.payments,
                refunded=line.refunded_stars,
                refunds=line.refunds,
                net=line.stars - line.refunded_stars,
            )
            for line in lines
        ]
        body = "\n".join(rows) if rows else t("revenue-empty")
        sections.append(f"{t(f'revenue-period-{period}')}\n{body}")
    await message.answer("\n\n".join([t("revenue-header"), *sections]))
