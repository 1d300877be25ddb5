"""Telegram Stars payment state: invoices, pre-checkout queries, charges and subscriptions.

Only state and its rules live here; the updates a payment produces are pushed by ``users``
(simulated users paying) and ``methods_payments`` (the bot's Bot API calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request
from .payment_form import form_fields, order_info

STARS = "XTR"
SUBSCRIPTION_PERIOD = 2_592_000
# Payments in money: the least and greatest total per currency, in its smallest units. Telegram
# keeps them at about US$1 and US$10,000 at the day's rates (currencies.json); the sandbox uses
# these fixed ones. Currencies not listed are refused (CURRENCY_INVALID).
MONEY_LIMITS = {
    "USD": (100, 1_000_000),
    "EUR": (100, 1_000_000),
    "GBP": (100, 1_000_000),
    "RUB": (10_000, 100_000_000),
    "UAH": (4_000, 40_000_000),
    "KZT": (50_000, 500_000_000),
    "INR": (9_000, 90_000_000),
    "BRL": (500, 5_000_000),
    "JPY": (150, 1_500_000),
}
MAX_STARS = 10_000
LINK_PREFIX = "https://t.me/$"
SUBSCRIPTION_STATES = frozenset({"active", "canceled"})


@dataclass
class Invoice:
    """An invoice the bot sent to a chat (``chat_id``/``message_id``) or made a link for."""

    title: str
    description: str
    payload: str
    currency: str
    total_amount: int
    start_parameter: str = ""
    subscription_period: int | None = None
    chat_id: int | None = None
    message_id: int | None = None
    link: str | None = None
    provider_token: str | None = None  # payments in money
    provider_data: str | None = None
    need_email: bool = False
    need_phone_number: bool = False
    need_name: bool = False
    need_shipping_address: bool = False
    send_email_to_provider: bool = False
    send_phone_number_to_provider: bool = False

    def invoice_json(self) -> dict[str, Any]:
        """The Bot API ``Invoice`` object of an invoice message."""
        return {
            "title": self.title,
            "description": self.description,
            "start_parameter": self.start_parameter,
            "currency": self.currency,
            "total_amount": self.total_amount,
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            **self.invoice_json(),
            "invoice_payload": self.payload,
            "subscription_period": self.subscription_period,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "link": self.link,
            "provider_token": bool(self.provider_token),
            "provider_data": self.provider_data,
            "need_email": self.need_email,
            "need_phone_number": self.need_phone_number,
            "need_name": self.need_name,
            "need_shipping_address": self.need_shipping_address,
            "form_fields": form_fields(self),
            "send_email_to_provider": self.send_email_to_provider,
            "send_phone_number_to_provider": self.send_phone_number_to_provider,
        }


@dataclass
class PreCheckout:
    """A ``pre_checkout_query`` waiting for answerPreCheckoutQuery until ``deadline``."""

    id: str
    user_id: int
    invoice: Invoice
    invoice_payload: str
    total_amount: int
    currency: str
    deadline: float
    answer: dict[str, Any] | None = None
    expired: bool = False
    order_info: dict[str, Any] | None = None  # what the payment form asked for, filled in
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    def is_open(self) -> bool:
        return self.answer is None and not self.expired and time.monotonic() <= self.deadline

    async def wait(self) -> bool:
        """Wait for the bot's answer; False (and the query expires) if none came in time."""
        remaining = self.deadline - time.monotonic()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.answered.wait(), remaining)
        if self.answer is None:
            self.expired = True
        return self.answer is not None

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "invoice_payload": self.invoice_payload,
            "total_amount": self.total_amount,
            "currency": self.currency,
            "answer": self.answer,
            "expired": self.expired or (self.answer is None and time.monotonic() > self.deadline),
        }


@dataclass
class Charge:
    """One successful payment; ``subscription_id`` is the first charge of its subscription."""

    telegram_payment_charge_id: str
    user_id: int
    total_amount: int
    currency: str
    invoice_payload: str
    subscription_id: str | None = None
    subscription_expiration_date: int | None = None
    refunded: bool = False
    provider_payment_charge_id: str = ""
    order_info: dict[str, Any] | None = None

    @property
    def recurring(self) -> bool:
        return self.subscription_id is not None

    def successful_payment(self) -> dict[str, Any]:
        """The Bot API ``SuccessfulPayment`` object."""
        data: dict[str, Any] = {
            "currency": self.currency,
            "total_amount": self.total_amount,
            "invoice_payload": self.invoice_payload,
            "telegram_payment_charge_id": self.telegram_payment_charge_id,
            "provider_payment_charge_id": self.provider_payment_charge_id,
        }
        if self.order_info is not None:
            data["order_info"] = self.order_info
        if self.subscription_id is not None:
            data["subscription_expiration_date"] = self.subscription_expiration_date
            data["is_recurring"] = True
            data["is_first_recurring"] = self.subscription_id == self.telegram_payment_charge_id
        return data

    def refunded_payment(self) -> dict[str, Any]:
        """The Bot API ``RefundedPayment`` object."""
        return {
            "currency": self.currency,
            "total_amount": self.total_amount,
            "invoice_payload": self.invoice_payload,
            "telegram_payment_charge_id": self.telegram_payment_charge_id,
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "telegram_payment_charge_id": self.telegram_payment_charge_id,
            "provider_payment_charge_id": self.provider_payment_charge_id,
            "order_info": self.order_info,
            "user_id": self.user_id,
            "total_amount": self.total_amount,
            "currency": self.currency,
            "invoice_payload": self.invoice_payload,
            "refunded": self.refunded,
            "recurring": self.recurring,
            "subscription_expiration_date": self.subscription_expiration_date,
        }


@dataclass
class Subscription:
    """A Stars subscription, named by its first charge."""

    user_id: int
    charge_id: str
    invoice_payload: str
    total_amount: int
    currency: str
    period: int
    expiration: int
    state: str = "active"
    canceled_by_bot: bool = False

    def snapshot(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "charge_id": self.charge_id,
            "invoice_payload": self.invoice_payload,
            "state": self.state,
            "expiration": self.expiration,
            "canceled_by_bot": self.canceled_by_bot,
        }


def money_limits(currency: str) -> tuple[int, int]:
    """The least and greatest total of an invoice in this currency; (0, 0): not taken."""
    return MONEY_LIMITS.get(currency, (0, 0))


def charge_not_found() -> ApiError:
    return bad_request("CHARGE_NOT_FOUND")


class Payments:
    """Every invoice, pre-checkout query, charge and subscription of one sandbox world."""

    def __init__(self) -> None:
        self.message_invoices: dict[tuple[int, int], Invoice] = {}
        self.link_invoices: dict[str, Invoice] = {}
        self.queries: dict[str, PreCheckout] = {}
        self.charges: dict[str, Charge] = {}
        self.subscriptions: dict[str, Subscription] = {}

    def add_message_invoice(self, invoice: Invoice, chat_id: int, message_id: int) -> None:
        invoice.chat_id, invoice.message_id = chat_id, message_id
        self.message_invoices[(chat_id, message_id)] = invoice

    def add_link_invoice(self, invoice: Invoice) -> str:
        link = LINK_PREFIX + secrets.token_urlsafe(18)
        invoice.link = link
        self.link_invoices[link] = invoice
        return link

    def find_invoice(self, link: Any, chat_id: Any, message_id: Any) -> Invoice:
        """The invoice behind a link, or behind an invoice message of a chat."""
        if link is not None:
            invoice = self.link_invoices.get(str(link))
            if invoice is None:
                raise bad_request(f"no invoice link {link}")
            return invoice
        try:
            key = (int(chat_id), int(message_id))
        except (TypeError, ValueError):
            raise bad_request("link, or chat_id and message_id, are required") from None
        found = self.message_invoices.get(key)
        if found is None:
            raise bad_request(f"message {key[1]} in chat {key[0]} is not an invoice")
        return found

    def new_query(
        self,
        user_id: int,
        invoice: Invoice,
        overrides: dict[str, Any],
        timeout: float,
        form: Mapping[str, Any] | None = None,
    ) -> PreCheckout:
        """The buyer submitted the payment form (`form`: what they typed; None: made up)."""
        query = PreCheckout(
            id=str(secrets.randbits(62)),
            user_id=user_id,
            invoice=invoice,
            invoice_payload=str(overrides.get("payload", invoice.payload)),
            total_amount=int(overrides.get("total_amount", invoice.total_amount)),
            currency=str(overrides.get("currency", invoice.currency)),
            deadline=time.monotonic() + timeout,
            order_info=order_info(invoice, user_id, form),
        )
        self.queries[query.id] = query
        return query

    def answer(self, query_id: str, ok: bool, error_message: str | None) -> None:
        query = self.queries.get(query_id)
        if query is None or not query.is_open():
            raise bad_request("QUERY_ID_INVALID")
        if not ok and not error_message:
            raise bad_request("ERROR_MESSAGE_EMPTY")
        query.answer = {
            "ok": ok,
            "error_message": None if ok else error_message,
            "at": time.monotonic(),
        }
        query.answered.set()

    def new_charge(self, query: PreCheckout, expiration: int | None = None) -> Charge:
        """A paid invoice; with an ``expiration`` it is the first charge of a subscription."""
        charge_id = "stxSANDBOX" + secrets.token_hex(12)
        in_money = query.invoice.provider_token is not None
        charge = Charge(
            telegram_payment_charge_id=charge_id,
            user_id=query.user_id,
            total_amount=query.total_amount,
            currency=query.currency,
            invoice_payload=query.invoice_payload,
            subscription_id=charge_id if expiration is not None else None,
            subscription_expiration_date=expiration,
            provider_payment_charge_id=("prv_" + secrets.token_hex(10)) if in_money else "",
            order_info=query.order_info,
        )
        self.charges[charge_id] = charge
        return charge

    def renewal_charge(self, subscription: Subscription, expiration: int) -> Charge:
        charge = Charge(
            telegram_payment_charge_id="stxSANDBOX" + secrets.token_hex(12),
            user_id=subscription.user_id,
            total_amount=subscription.total_amount,
            currency=subscription.currency,
            invoice_payload=subscription.invoice_payload,
            subscription_id=subscription.charge_id,
            subscription_expiration_date=expiration,
        )
        self.charges[charge.telegram_payment_charge_id] = charge
        return charge

    def subscribe(self, charge: Charge, period: int) -> Subscription:
        subscription = Subscription(
            user_id=charge.user_id,
            charge_id=charge.telegram_payment_charge_id,
            invoice_payload=charge.invoice_payload,
            total_amount=charge.total_amount,
            currency=charge.currency,
            period=period,
            expiration=int(charge.subscription_expiration_date or 0),
        )
        self.subscriptions[subscription.charge_id] = subscription
        return subscription

    def charge_of(self, user_id: int | None, charge_id: Any) -> Charge:
        """A charge (of ``user_id``, when given), or CHARGE_NOT_FOUND."""
        charge = self.charges.get(str(charge_id))
        if charge is None or (user_id is not None and charge.user_id != user_id):
            raise charge_not_found()
        return charge

    def refund(self, user_id: int | None, charge_id: Any) -> Charge:
        charge = self.charge_of(user_id, charge_id)
        if charge.refunded:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        charge.refunded = True
        return charge

    def subscription_of(self, user_id: int, charge_id: Any) -> Subscription:
        """The subscription a charge of ``user_id`` belongs to, or CHARGE_NOT_FOUND."""
        charge = self.charge_of(user_id, charge_id)
        subscription = self.subscriptions.get(charge.subscription_id or "")
        if subscription is None:
            raise charge_not_found()
        return subscription

    def snapshot(self) -> dict[str, Any]:
        invoices = [*self.message_invoices.values(), *self.link_invoices.values()]
        return {
            "invoices": [invoice.snapshot() for invoice in invoices],
            "charges": [charge.snapshot() for charge in self.charges.values()],
            "subscriptions": [sub.snapshot() for sub in self.subscriptions.values()],
            "pre_checkout_queries": [query.snapshot() for query in self.queries.values()],
        }
