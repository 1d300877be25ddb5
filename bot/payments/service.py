"""Selling plans for Telegram Stars and for money (a payment provider's currency): invoices,
pre-checkout checks, crediting each charge exactly once, subscriptions, refunds, grants and
the revenue report.

Nothing here talks to Telegram; handlers call the Bot API and then this service.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError

from bot.payments.catalog import Catalog, Plan, localized
from bot.payments.config import PaymentsConfig
from bot.payments.money import MoneyTerms
from bot.payments.payload import Payload, PayloadSigner
from bot.payments.quotas import Clock, utcnow
from bot.storage.database import Database
from bot.storage.dto import Entitlement, LedgerEntry, LedgerKind, RevenueLine
from bot.storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

CURRENCY = "XTR"
DAY = 86_400
REVENUE_PERIODS = (
    ("day", timedelta(days=1)),
    ("week", timedelta(days=7)),
    ("month", timedelta(days=30)),
)


@dataclass(frozen=True, slots=True)
class Invoice:
    plan: Plan
    title: str
    description: str
    payload: str
    price: int  # in the currency's smallest units
    currency: str = CURRENCY

    @property
    def in_stars(self) -> bool:
        return self.currency == CURRENCY

    @property
    def subscription_period(self) -> int | None:
        return self.plan.days * DAY if self.plan.is_subscription else None


@dataclass(frozen=True, slots=True)
class Payment:
    """What a `successful_payment` message says."""

    user_id: int
    charge_id: str
    payload: str
    currency: str
    amount: int
    subscription_expires_at: datetime | None = None
    is_recurring: bool = False
    is_first_recurring: bool = False
    provider_charge_id: str | None = None  # payments in money


class CreditStatus(StrEnum):
    CREDITED = "credited"
    DUPLICATE = "duplicate"  # this charge was credited before (a redelivered update)
    UNMATCHED = "unmatched"  # paid, but not for a plan we can identify: support must act


@dataclass(frozen=True, slots=True)
class Credit:
    status: CreditStatus
    plan: Plan | None = None
    entitlement: Entitlement | None = None
    renewal: bool = False


class RevokeStatus(StrEnum):
    REVOKED = "revoked"
    ALREADY = "already"  # refunded before
    UNKNOWN = "unknown"  # no such charge in the ledger


@dataclass(frozen=True, slots=True)
class Revocation:
    status: RevokeStatus
    charge: LedgerEntry | None = None
    entitlement: Entitlement | None = None


@dataclass(frozen=True, slots=True)
class Holding:
    """What /subinfo shows: the plan a user is on and every paid plan they hold or held."""

    plan: Plan | None
    entitlements: list[Entitlement]


class PaymentService:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        signer: PayloadSigner,
        clock: Clock = utcnow,
        *,
        texts: PaymentsConfig | None = None,
        money: MoneyTerms | None = None,
    ) -> None:
        self._db = db
        self.catalog = catalog
        self.money = money  # None: Stars only
        self._texts = texts or PaymentsConfig()
        self._signer = signer
        self._now = clock

    def support_text(self, locale: str) -> str | None:
        """The operator's /paysupport text, if configured."""
        return localized(self._texts.support, locale, self.catalog.default_locale) or None

    def terms_text(self, locale: str) -> str | None:
        return localized(self._texts.terms, locale, self.catalog.default_locale) or None

    def invoice(
        self, plan_id: str, user_id: int, locale: str, *, money: bool = False
    ) -> Invoice | None:
        """An invoice in Stars, or in money (None when the plan is not sold that way)."""
        plan = self.catalog.for_sale(plan_id)
        if plan is None:
            return None
        price, currency = _price(plan, money=money)
        if price is None:
            return None
        payload = self._signer.issue(plan.id, user_id, price, self._now(), currency)
        title, description = plan.title(locale), plan.description(locale)
        return Invoice(plan, title, description, payload, price, currency)

    def check(self, payload: str, user_id: int, currency: str, amount: int) -> str | None:
        """Pre-checkout: None to accept, else the locale key of the reason to refuse."""
        read = self._signer.read(payload)
        if read is None or read.user_id != user_id:
            return "pay-refused-invalid"
        plan = self.catalog.for_sale(read.plan_id)
        if plan is None:
            return "pay-refused-unavailable"
        if not self._signer.is_fresh(read, self._now()):
            return "pay-refused-expired"
        price, expected = _price(plan, money=read.currency != CURRENCY)
        if price is None:
            return "pay-refused-unavailable"
        if (currency, amount) != (expected, price) or (read.currency, read.price) != (
            expected,
            price,
        ):
            return "pay-refused-price"
        return None

    async def credit(self, payment: Payment) -> Credit:
        """Credit a charge exactly once (by Telegram's charge id), extending the plan: passes
        stack; a subscription runs until Telegram's expiration date."""
        read = self._from_telegram(payment.payload)
        plan = self.catalog.for_sale(read.plan_id) if read else None
        renewal = payment.is_recurring and not payment.is_first_recurring
        kind = LedgerKind.RENEWAL if renewal else LedgerKind.PURCHASE
        now = self._now()

        def credit(uow: UnitOfWork) -> tuple[bool, Entitlement | None]:
            uow.entitlements.lock_user(payment.user_id)
            if uow.ledger.by_charge(payment.charge_id) is not None:
                return True, None
            entitlement, seconds = None, 0
            if plan is not None:
                entitlement, seconds = self._extend(uow, plan, payment, now)
            uow.ledger.add(
                LedgerEntry(
                    user_id=payment.user_id,
                    plan_id=plan.id if plan else (read.plan_id if read else "?"),
                    kind=kind,
                    amount=payment.amount,
                    currency=payment.currency,
                    seconds=seconds,
                    charge_id=payment.charge_id,
                    payload=payment.payload[:128],
                    provider_charge_id=payment.provider_charge_id or None,
                )
            )
            return False, entitlement

        try:
            duplicate, entitlement = await self._db.write(credit)
        except IntegrityError:  # another process credited this charge at the same moment
            return Credit(CreditStatus.DUPLICATE, plan)
        if duplicate:
            return Credit(CreditStatus.DUPLICATE, plan)
        if entitlement is None:
            logger.error(
                "payment %s of user %s matches no plan (payload %r): refund or grant by hand",
                payment.charge_id,
                payment.user_id,
                payment.payload,
            )
            return Credit(CreditStatus.UNMATCHED)
        return Credit(CreditStatus.CREDITED, plan, entitlement, renewal)

    @staticmethod
    def _extend(
        uow: UnitOfWork, plan: Plan, payment: Payment, now: datetime
    ) -> tuple[Entitlement, int]:
        """The plan's time after this payment, and the seconds it bought. A subscription
        payment buys the time from the previous payment's expiration date (or now) to the
        new one, added on top of what the user holds (granted days are kept)."""
        expires = payment.subscription_expires_at
        if not plan.is_subscription or expires is None:
            seconds = plan.days * DAY
            entitlement = uow.entitlements.extend(
                payment.user_id, plan.id, seconds=seconds, now=now
            )
            return entitlement, seconds
        held = uow.entitlements.get(payment.user_id, plan.id)
        # A renewal pays from the previous expiration date; a new subscription from now (on
        # top of time still held, say from a canceled one that runs until month end).
        renewal = not payment.is_first_recurring
        previous = held.paid_until if renewal and held and held.paid_until else now
        seconds = max(0, int((expires - max(previous, now)).total_seconds()))
        entitlement = uow.entitlements.extend(
            payment.user_id,
            plan.id,
            seconds=seconds,
            now=now,
            subscription_charge_id=payment.charge_id if payment.is_first_recurring else None,
            renewal="active",
            paid_until=expires,
        )
        return entitlement, seconds

    async def subscription_changed(
        self, user_id: int, payload: str, state: str
    ) -> tuple[Plan, Entitlement] | None:
        """Telegram's `subscription` update: canceled, active again, or a failed renewal (then
        access ends at the current expiry, which no renewal extended)."""
        read = self._from_telegram(payload)
        plan = self.catalog.get(read.plan_id) if read else None
        if plan is None:
            logger.warning("subscription update for an unknown payload %r", payload)
            return None

        def change(uow: UnitOfWork) -> Entitlement | None:
            uow.entitlements.set_renewal(user_id, plan.id, state)
            return uow.entitlements.get(user_id, plan.id)

        entitlement = await self._db.write(change)
        return (plan, entitlement) if entitlement else None

    def _from_telegram(self, payload: str) -> Payload | None:
        """A payload Telegram reports back. Its signature was checked at pre-checkout; a
        renewal carries the first invoice's payload, which may predate a change of
        PAYMENTS_SECRET (or of the bot token it defaults to): still honoured, with a warning."""
        read = self._signer.read(payload)
        if read is None:
            read = self._signer.parse(payload)
            if read is not None:
                logger.warning("payload %r is not signed with the current secret", payload)
        return read

    async def charge(self, charge_id: str) -> LedgerEntry | None:
        return await self._db.read(lambda uow: uow.ledger.by_charge(charge_id))

    async def revoke(
        self, charge_id: str, actor_id: int | None = None, note: str | None = None
    ) -> Revocation:
        """Take back what a refunded charge bought (once, however often it is reported).
        `charge_id`: Telegram's, or the provider's for a payment in money."""

        def revoke(uow: UnitOfWork) -> Revocation:
            charge = uow.ledger.by_charge(charge_id)
            if charge is None or charge.charge_id is None:
                return Revocation(RevokeStatus.UNKNOWN)
            telegram_id = charge.charge_id
            uow.entitlements.lock_user(charge.user_id)
            if uow.ledger.refund_of(telegram_id) is not None:
                return Revocation(RevokeStatus.ALREADY, charge)
            held = uow.entitlements.get(charge.user_id, charge.plan_id)
            if held is not None and held.subscription_charge_id is not None:
                uow.entitlements.set_renewal(charge.user_id, charge.plan_id, "canceled")
            entitlement = uow.entitlements.shorten(charge.user_id, charge.plan_id, charge.seconds)
            uow.ledger.add(
                LedgerEntry(
                    user_id=charge.user_id,
                    plan_id=charge.plan_id,
                    kind=LedgerKind.REFUND,
                    amount=-charge.amount,
                    currency=charge.currency,
                    seconds=-charge.seconds,
                    refund_of=telegram_id,
                    actor_id=actor_id,
                    note=note[:256] if note else None,
                )
            )
            return Revocation(RevokeStatus.REVOKED, charge, entitlement)

        try:
            return await self._db.write(revoke)
        except IntegrityError:  # another process recorded this refund at the same moment
            return Revocation(RevokeStatus.ALREADY, await self.charge(charge_id))

    async def grant(
        self, user_id: int, plan_id: str, days: int, actor_id: int
    ) -> Entitlement | None:
        plan = self.catalog.for_sale(plan_id)
        if plan is None:
            return None
        seconds = days * DAY
        now = self._now()

        def grant(uow: UnitOfWork) -> Entitlement:
            uow.entitlements.lock_user(user_id)
            entitlement = uow.entitlements.extend(user_id, plan.id, seconds=seconds, now=now)
            uow.ledger.add(
                LedgerEntry(
                    user_id=user_id,
                    plan_id=plan.id,
                    kind=LedgerKind.GRANT,
                    amount=0,
                    seconds=seconds,
                    actor_id=actor_id,
                )
            )
            return entitlement

        return await self._db.write(grant)

    async def renewing(self, user_id: int, plan_id: str) -> Entitlement | None:
        """The user's unexpired subscription to this plan that Telegram still renews."""
        held = await self._db.read(lambda uow: uow.entitlements.get(user_id, plan_id))
        if held is None or held.renewal != "active" or held.expires_at <= self._now():
            return None
        return held

    async def holding(self, user_id: int) -> Holding:
        now = self._now()
        held = await self._db.read(lambda uow: uow.entitlements.of_user(user_id))
        active = [e.plan_id for e in held if e.expires_at > now]
        known = [e for e in held if self.catalog.get(e.plan_id) is not None]
        return Holding(self.catalog.best(active), known)

    async def revenue(self) -> list[tuple[str, list[RevenueLine]]]:
        """Per period (last day, week, month, all time): paid and refunded, per plan and
        currency."""
        now = self._now()

        def revenue(uow: UnitOfWork) -> list[tuple[str, list[RevenueLine]]]:
            lines = [(name, uow.ledger.revenue(now - span)) for name, span in REVENUE_PERIODS]
            return [*lines, ("all", uow.ledger.revenue(None))]

        return await self._db.read(revenue)


def _price(plan: Plan, *, money: bool) -> tuple[int | None, str]:
    """The plan's price and currency in Stars, or in money (None: not sold that way)."""
    if money:
        return plan.money, plan.currency or ""
    return (plan.price if plan.in_stars else None), CURRENCY
