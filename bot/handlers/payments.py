"""Buying plans with Telegram Stars: /subscribe, invoices, pre-checkout, payments, refunds
reported by Telegram, subscription changes, /subinfo, /paysupport and /terms."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import (
    BotSubscriptionUpdated,
    CallbackQuery,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)

from bot.i18n import Translator
from bot.keyboards.plans import BuyPlan, BuyPlanMoney, link_keyboard, plans_keyboard
from bot.middlewares.dedupe import UpdateReceipt
from bot.payments.currencies import format_amount
from bot.payments.quotas import QuotaService
from bot.payments.service import (
    CURRENCY,
    CreditStatus,
    Invoice,
    Payment,
    PaymentService,
    Revocation,
    RevokeStatus,
)
from bot.payments.texts import moment, plan_line

logger = logging.getLogger(__name__)
router = Router(name=__name__)

# Telegram refuses an invoice in money for the deployment's reasons, not the buyer's: a price
# outside the currency's limits (currencies.json), a wrong or revoked provider token.
INVOICE_REFUSALS = ("CURRENCY_TOTAL_AMOUNT_INVALID", "PAYMENT_PROVIDER_INVALID", "CURRENCY_INVALID")


@router.message(Command("subscribe"))
async def subscribe(
    message: Message, bot: Bot, t: Translator, payments: PaymentService, quotas: QuotaService
) -> None:
    paid = payments.catalog.paid
    if not paid or message.from_user is None:
        await message.answer(t("plans-none"))
        return
    if message.chat.type != "private":
        me = await bot.me()
        await message.answer(t("plans-private-only", bot=me.username or ""))
        return
    current = await quotas.plan_of(message.from_user.id)
    header = t("plans-header-money") if payments.money is not None else t("plans-header")
    lines = [header, *(plan_line(plan, t) for plan in paid)]
    if current is not None:
        lines.append(t("plans-current", plan=current.title(t.locale)))
    await message.answer("\n\n".join(lines), reply_markup=plans_keyboard(paid, t))


@router.callback_query(BuyPlan.filter())
async def buy(
    query: CallbackQuery,
    callback_data: BuyPlan,
    bot: Bot,
    t: Translator,
    payments: PaymentService,
) -> None:
    """The invoice goes to the buyer's private chat, also when the button was in a group."""
    await _buy(query, callback_data.plan, bot, t, payments, money=False)


@router.callback_query(BuyPlanMoney.filter())
async def buy_for_money(
    query: CallbackQuery,
    callback_data: BuyPlanMoney,
    bot: Bot,
    t: Translator,
    payments: PaymentService,
) -> None:
    await _buy(query, callback_data.plan, bot, t, payments, money=True)


async def _buy(
    query: CallbackQuery,
    plan_id: str,
    bot: Bot,
    t: Translator,
    payments: PaymentService,
    *,
    money: bool,
) -> None:
    invoice = payments.invoice(plan_id, query.from_user.id, t.locale, money=money)
    if invoice is None:
        await query.answer(t("pay-refused-unavailable"), show_alert=True)
        return
    renewing = await payments.renewing(query.from_user.id, invoice.plan.id)
    if renewing is not None:  # a second subscription would charge twice a month
        until = moment(renewing.expires_at)
        await query.answer(
            t("pay-already-subscribed", plan=invoice.title, until=until), show_alert=True
        )
        return
    try:
        await _send_invoice(bot, query.from_user.id, invoice, t, payments)
    except TelegramAPIError as exc:
        if any(code in exc.message for code in INVOICE_REFUSALS):  # the operator's to fix
            logger.error("invoice for plan %s refused by Telegram: %s", invoice.plan.id, exc)
            await query.answer(t("pay-money-unavailable"), show_alert=True)
            return
        # A group member who never started the bot privately.
        logger.info("invoice for user %s not sent: %s", query.from_user.id, exc)
        me = await bot.me()
        await query.answer(t("plans-private-only", bot=me.username or ""), show_alert=True)
        return
    await query.answer()


async def _send_invoice(
    bot: Bot, chat_id: int, invoice: Invoice, t: Translator, payments: PaymentService
) -> None:
    prices = [LabeledPrice(label=invoice.title, amount=invoice.price)]
    if not invoice.in_stars and payments.money is not None:
        await bot.send_invoice(
            chat_id,
            title=invoice.title,
            description=invoice.description,
            payload=invoice.payload,
            currency=invoice.currency,
            prices=prices,
            **payments.money.invoice_fields(invoice.title, invoice.price),
        )
        return
    if invoice.subscription_period is None:
        await bot.send_invoice(
            chat_id,
            title=invoice.title,
            description=invoice.description,
            payload=invoice.payload,
            currency=CURRENCY,
            prices=prices,
        )
        return
    link = await bot.create_invoice_link(
        title=invoice.title,
        description=invoice.description,
        payload=invoice.payload,
        currency=CURRENCY,
        prices=prices,
        subscription_period=invoice.subscription_period,
    )
    await bot.send_message(
        chat_id,
        t("invoice-subscription", title=invoice.title, price=invoice.price),
        reply_markup=link_keyboard(link, t("invoice-subscription-button", price=invoice.price)),
    )


@router.pre_checkout_query()
async def pre_checkout(query: PreCheckoutQuery, t: Translator, payments: PaymentService) -> None:
    """Telegram waits at most 10 s for this answer: no I/O before it."""
    reason = payments.check(
        query.invoice_payload, query.from_user.id, query.currency, query.total_amount
    )
    if reason is None:
        await query.answer(ok=True)
        return
    logger.info("pre-checkout of user %s refused: %s", query.from_user.id, reason)
    await query.answer(ok=False, error_message=t(reason))


@router.message(F.successful_payment)
async def paid(
    message: Message, t: Translator, payments: PaymentService, update_receipt: UpdateReceipt
) -> None:
    sp = message.successful_payment
    if sp is None or message.from_user is None:
        return
    expires = sp.subscription_expiration_date
    payment = Payment(
        user_id=message.from_user.id,
        charge_id=sp.telegram_payment_charge_id,
        payload=sp.invoice_payload,
        currency=sp.currency,
        amount=sp.total_amount,
        subscription_expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
        is_recurring=bool(sp.is_recurring),
        is_first_recurring=bool(sp.is_first_recurring),
        provider_charge_id=sp.provider_payment_charge_id or None,
    )
    try:
        credit = await payments.credit(payment)
    except Exception:
        # Paid but not recorded (the database failed): say so, leave the update unmarked so
        # a redelivery credits it (the charge id keeps that to once), and log it for support.
        logger.exception("payment %s of user %s NOT credited", payment.charge_id, payment.user_id)
        update_receipt.recorded = True
        await message.answer(t("pay-not-recorded"))
        raise
    if credit.status is CreditStatus.DUPLICATE:
        logger.info("payment %s was credited before", sp.telegram_payment_charge_id)
        return
    if credit.status is CreditStatus.UNMATCHED or credit.plan is None:
        await message.answer(t("pay-unmatched"))
        return
    until = moment(credit.entitlement.expires_at) if credit.entitlement else ""
    title = credit.plan.title(t.locale)
    if credit.renewal:
        key = "pay-renewed"
    elif credit.plan.is_subscription:
        key = "pay-thanks-subscription"
    else:
        key = "pay-thanks-pass"
    await message.answer(t(key, plan=title, until=until))


@router.message(F.refunded_payment)
async def refunded(message: Message, bot: Bot, t: Translator, payments: PaymentService) -> None:
    """Telegram reports a refund (ours through /refund, or its own after a dispute)."""
    rp = message.refunded_payment
    if rp is None:
        return
    revocation = await payments.revoke(rp.telegram_payment_charge_id)
    charge = revocation.charge
    if charge is None:
        logger.warning("refund of unknown charge %s", rp.telegram_payment_charge_id)
        return
    await stop_renewal(bot, revocation)
    plan = payments.catalog.get(charge.plan_id)
    title = plan.title(t.locale) if plan else charge.plan_id
    amount = format_amount(rp.total_amount, rp.currency)
    await message.answer(t("refund-notice", amount=amount, plan=title))


async def stop_renewal(bot: Bot, revocation: Revocation) -> None:
    """A refunded subscription must not renew (and charge) again."""
    entitlement = revocation.entitlement
    if revocation.status is not RevokeStatus.REVOKED or entitlement is None:
        return
    if entitlement.subscription_charge_id is None:
        return
    try:
        await bot.edit_user_star_subscription(
            entitlement.user_id, entitlement.subscription_charge_id, is_canceled=True
        )
    except TelegramAPIError as exc:
        logger.warning("renewal of %s not canceled: %s", entitlement.subscription_charge_id, exc)


@router.subscription()
async def subscription_changed(
    event: BotSubscriptionUpdated, bot: Bot, t: Translator, payments: PaymentService
) -> None:
    """The user canceled or resumed the subscription in Telegram, or a renewal failed."""
    changed = await payments.subscription_changed(event.user.id, event.invoice_payload, event.state)
    if changed is None:
        return
    plan, entitlement = changed
    key = {"canceled": "subscription-canceled", "active": "subscription-active"}.get(
        event.state, "subscription-failed"
    )
    text = t(key, plan=plan.title(t.locale), until=moment(entitlement.expires_at))
    try:
        await bot.send_message(event.user.id, text)
    except TelegramAPIError as exc:
        logger.info("could not tell user %s about the subscription: %s", event.user.id, exc)


@router.message(Command("paysupport"))
async def pay_support(message: Message, t: Translator, payments: PaymentService) -> None:
    await message.answer(payments.support_text(t.locale) or t("paysupport-default"))


@router.message(Command("terms"))
async def terms(message: Message, t: Translator, payments: PaymentService) -> None:
    await message.answer(payments.terms_text(t.locale) or t("terms-default"))
