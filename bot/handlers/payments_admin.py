"""Operators' payment commands: /refund <charge id> [note], /grant <user> <plan> <days>,
/revenue. Non-admins get the refusal of `operators` (the commands are listed there).

A Stars payment is refunded through Telegram (refundStarPayment). A payment in money is
refunded in the provider's dashboard; /refund then records it (with a note saying so) and
takes back what it bought."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.chat.language import LanguageService
from bot.handlers.operators import BotAdmin
from bot.handlers.payments import stop_renewal
from bot.i18n import Translator
from bot.payments.currencies import STARS, format_amount
from bot.payments.service import PaymentService, Revocation, RevokeStatus
from bot.payments.texts import moment
from bot.storage.dto import LedgerEntry

logger = logging.getLogger(__name__)
router = Router(name=__name__)

ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


@router.message(Command("refund"), BotAdmin())
async def refund(
    message: Message,
    command: CommandObject,
    bot: Bot,
    t: Translator,
    payments: PaymentService,
    languages: LanguageService,
) -> None:
    charge_id, _, note = (command.args or "").strip().partition(" ")
    note = note.strip()
    if not charge_id:
        await message.answer(t("refund-usage"))
        return
    charge = await payments.charge(charge_id)
    if charge is None or charge.amount <= 0 or charge.charge_id is None:
        await message.answer(t("refund-unknown", charge=charge_id))
        return
    if charge.currency != STARS and not note:  # the money went back at the provider
        await message.answer(t("refund-money-usage", charge=charge_id))
        return
    if charge.currency == STARS:
        try:
            await bot.refund_star_payment(charge.user_id, charge.charge_id)
        except TelegramAPIError as exc:  # a timeout too: asking again is safe
            if ALREADY_REFUNDED not in exc.message:  # refunded at Telegram: revoke here too
                await message.answer(t("refund-failed", error=exc.message))
                return
    actor = message.from_user.id if message.from_user else None
    revocation = await payments.revoke(charge.charge_id, actor_id=actor, note=note or None)
    await stop_renewal(bot, revocation)
    if revocation.status is RevokeStatus.ALREADY:
        await message.answer(t("refund-already", charge=charge_id))
        return
    if charge.currency != STARS:  # Telegram tells the user of Stars refunds, not of these
        await _tell_user(bot, await languages.translator_for(charge.user_id), payments, charge)
    await message.answer(_refund_done(t, charge, revocation))


def _refund_done(t: Translator, charge: LedgerEntry, revocation: Revocation) -> str:
    entitlement = revocation.entitlement
    return t(
        "refund-done",
        amount=format_amount(charge.amount, charge.currency),
        charge=charge.charge_id or "",
        user=str(charge.user_id),
        plan=charge.plan_id,
        until=moment(entitlement.expires_at) if entitlement else "-",
    )


async def _tell_user(
    bot: Bot, t: Translator, payments: PaymentService, charge: LedgerEntry
) -> None:
    """The buyer learns of a refund in money from the bot, in the buyer's language (Telegram
    itself tells of Stars refunds)."""
    plan = payments.catalog.get(charge.plan_id)
    title = plan.title(t.locale) if plan else charge.plan_id
    amount = format_amount(charge.amount, charge.currency)
    try:
        await bot.send_message(charge.user_id, t("refund-notice", amount=amount, plan=title))
    except TelegramAPIError as exc:
        logger.info("user %s was not told of the refund: %s", charge.user_id, exc)


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
                paid=format_amount(line.amount, line.currency),
                payments=line.payments,
                refunded=format_amount(line.refunded, line.currency),
                refunds=line.refunds,
                net=format_amount(line.amount - line.refunded, line.currency),
            )
            for line in lines
        ]
        body = "\n".join(rows) if rows else t("revenue-empty")
        sections.append(f"{t(f'revenue-period-{period}')}\n{body}")
    await message.answer("\n\n".join([t("revenue-header"), *sections]))
