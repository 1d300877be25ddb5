"""Plans sold in money beside Stars: `[payments.money]` and `price_money` validated, amounts in
a currency's smallest units, signed m1 payloads, the invoice's receipt fields (YooKassa's
54-FZ receipt in provider_data), and the pre-checkout, crediting and refund rules on real
SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import load_settings, secret_values
from bot.config_errors import ConfigError
from bot.payments.catalog import Catalog
from bot.payments.config import Limit, MoneyConfig, PlanConfig, QuotasConfig
from bot.payments.currencies import format_amount, to_minor
from bot.payments.money import MoneyTerms
from bot.payments.payload import PayloadSigner
from bot.payments.service import CreditStatus, Payment, PaymentService, RevokeStatus
from bot.storage.database import Database
from bot.storage.dto import LedgerKind, RevenueLine
from tests.unit.payments_fixtures import (
    FakeClock,
    ledger,
    plan,
)
from tests.unit.test_payments_config import BASE, FREE, write

USER = 1001
ADMIN = 42
SECRET = b"test payments secret"
TTL = timedelta(minutes=60)
TOKEN = "381764678:TEST:unit-provider-token"
RUB = MoneyConfig(provider="yookassa", currency="RUB")

MONTH_PASS = """
[payments.money]
provider = "yookassa"
currency = "RUB"

[plans.month]
kind = "pass"
price_stars = 500
price_money = "990.00"
days = 30
title = { en = "Month pass" }
description = { en = "Thirty days" }
"""


def money_error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ=environ or {})
    return str(info.value)


# --- configuration -------------------------------------------------------------------------


def test_a_plan_in_roubles_loads_with_the_providers_token(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, BASE + FREE + MONTH_PASS), environ={"PAYMENTS_PROVIDER_TOKEN": TOKEN}
    )
    money = settings.payments.money
    assert money is not None
    assert (money.provider, money.currency, money.receipt_contact) == ("yookassa", "RUB", "email")
    assert settings.provider_token == TOKEN
    assert TOKEN in secret_values(settings, {})  # redacted from every log line
    assert TOKEN not in repr(settings)
    month = Catalog(settings.plans, settings.quotas, "en", money=money).get("month")
    assert month is not None
    assert (month.price, month.money, month.currency) == (500, 99_000, "RUB")


def test_money_without_the_providers_token_is_refused(tmp_path: Path) -> None:
    message = money_error(tmp_path, BASE + FREE + MONTH_PASS)
    assert "set PAYMENTS_PROVIDER_TOKEN in the environment or in .env" in message


def test_the_token_does_not_belong_in_the_file(tmp_path: Path) -> None:
    text = f'payments_provider_token = "{TOKEN}"\n' + BASE + FREE + MONTH_PASS
    message = money_error(tmp_path, text, {"PAYMENTS_PROVIDER_TOKEN": TOKEN})
    assert "secrets do not belong in the configuration file" in message
    assert TOKEN not in message


def test_a_currency_telegram_does_not_take_is_refused(tmp_path: Path) -> None:
    text = BASE + FREE + MONTH_PASS.replace('currency = "RUB"', 'currency = "XAU"')
    message = money_error(tmp_path, text, {"PAYMENTS_PROVIDER_TOKEN": TOKEN})
    assert "Telegram Payments do not take XAU" in message


def test_a_price_in_money_needs_the_money_table_and_the_currencys_digits(tmp_path: Path) -> None:
    without_table = BASE + FREE + MONTH_PASS[MONTH_PASS.index("[plans.month]") :]
    message = money_error(tmp_path, without_table)
    assert "plans.month.price_money needs a [payments.money] table" in message
    yen = MONTH_PASS.replace('"RUB"', '"JPY"').replace('"990.00"', '"990.5"')
    message = money_error(tmp_path, BASE + FREE + yen, {"PAYMENTS_PROVIDER_TOKEN": TOKEN})
    assert "plans.month.price_money: JPY has 0 digits after the decimal point" in message


def test_a_subscription_is_not_sold_in_money(tmp_path: Path) -> None:
    text = BASE + FREE + MONTH_PASS.replace('kind = "pass"', 'kind = "subscription"')
    text = text.replace("days = 30\n", "")
    message = money_error(tmp_path, text, {"PAYMENTS_PROVIDER_TOKEN": TOKEN})
    assert "Telegram renews subscriptions in Stars only" in message


def test_amounts_travel_in_the_smallest_units() -> None:
    assert to_minor(Decimal("199.00"), "RUB") == 19_900
    assert to_minor(Decimal("1.45"), "USD") == 145
    assert to_minor(Decimal(500), "JPY") == 500
    with pytest.raises(ValueError, match="2 digits"):
        to_minor(Decimal("1.999"), "EUR")
    assert format_amount(99_000, "RUB") == "990.00 RUB"
    assert format_amount(-5, "EUR") == "-0.05 EUR"
    assert format_amount(500, "JPY") == "500 JPY"
    assert format_amount(50, "XTR") == "⭐50"


# --- invoices ------------------------------------------------------------------------------


def test_a_yookassa_invoice_asks_for_an_email_and_carries_the_receipt() -> None:
    config = MoneyConfig(provider="yookassa", currency="RUB", vat_code=4, tax_system_code=2)
    fields = MoneyTerms(config, TOKEN).invoice_fields("Month pass", 99_000)
    receipt = json.loads(fields.pop("provider_data"))
    assert fields == {
        "provider_token": TOKEN,
        "need_email": True,
        "send_email_to_provider": True,
    }
    assert receipt == {
        "receipt": {
            "items": [
                {
                    "description": "Month pass",
                    "quantity": "1.00",
                    "amount": {"value": "990.00", "currency": "RUB"},
                    "vat_code": 4,
                    "payment_mode": "full_payment",
                    "payment_subject": "service",
                }
            ],
            "tax_system_code": 2,
        }
    }
    long_title = MoneyTerms(RUB, TOKEN).receipt("x" * 300, 1)
    assert len(long_title["receipt"]["items"][0]["description"]) == 128
    assert long_title["receipt"]["items"][0]["amount"]["value"] == "0.01"
    assert "tax_system_code" not in long_title["receipt"]


def test_other_providers_get_the_contact_asked_for_and_no_receipt() -> None:
    stripe = MoneyTerms(MoneyConfig(provider="stripe", currency="EUR"), TOKEN)
    assert stripe.invoice_fields("Month", 990) == {"provider_token": TOKEN}
    by_phone = MoneyConfig(provider="other", currency="JPY", receipt="phone")
    assert MoneyTerms(by_phone, TOKEN).invoice_fields("Month", 500) == {
        "provider_token": TOKEN,
        "need_phone_number": True,
        "send_phone_number_to_provider": True,
    }
    quiet = MoneyConfig(provider="yookassa", currency="RUB", receipt="none")
    fields = MoneyTerms(quiet, TOKEN).invoice_fields("Month", 100)
    assert "need_email" not in fields
    assert json.loads(fields["provider_data"])["receipt"]["items"][0]["amount"]["value"] == "1.00"


def test_money_payloads_are_signed_with_their_currency() -> None:
    signer = PayloadSigner(SECRET, TTL)
    now = datetime(2026, 12, 14, 12, 0, tzinfo=UTC)
    payload = signer.issue("month", 2**52, 99_000, now, "RUB")
    assert payload.startswith("m1.month.")
    assert len(payload.encode()) <= 128  # Telegram's limit
    read = signer.read(payload)
    assert read is not None
    assert (read.plan_id, read.user_id, read.price, read.currency) == (
        "month",
        2**52,
        99_000,
        "RUB",
    )
    assert read.issued_at == now
    assert signer.read(payload.replace(".RUB.", ".USD.")) is None  # the signature covers it
    assert signer.read(payload.replace(".99000.", ".100.")) is None
    stars = signer.read(signer.issue("month", USER, 500, now))
    assert stars is not None
    assert stars.currency == "XTR"


# --- selling on real SQLite ----------------------------------------------------------------

PLANS: dict[str, PlanConfig] = {
    "free": plan("free", limits={"*": Limit(messages=3)}),
    "month": PlanConfig(
        title={"en": "Month pass"},
        description={"en": "Thirty days"},
        kind="pass",
        price_money=Decimal("990.00"),
        days=30,
    ),
    "week": plan("pass", price=50, days=7),  # Stars only
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def service(db: Database, clock: FakeClock) -> PaymentService:
    catalog = Catalog(PLANS, QuotasConfig(), "en", money=RUB)
    signer = PayloadSigner(SECRET, TTL)
    return PaymentService(db, catalog, signer, clock, money=MoneyTerms(RUB, TOKEN))


def paid(payload: str, charge: str = "tg-1", provider: str = "yk-1") -> Payment:
    return Payment(USER, charge, payload, "RUB", 99_000, provider_charge_id=provider)


async def test_each_plan_is_invoiced_only_the_ways_it_is_sold(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    invoice = payments.invoice("month", USER, "en", money=True)
    assert invoice is not None
    assert (invoice.price, invoice.currency, invoice.in_stars) == (99_000, "RUB", False)
    assert payments.invoice("month", USER, "en") is None  # no Stars price
    assert payments.invoice("week", USER, "en", money=True) is None  # no money price
    week = payments.invoice("week", USER, "en")
    assert week is not None
    assert (week.price, week.currency) == (50, "XTR")


async def test_pre_checkout_refuses_a_wrong_currency_or_amount(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    invoice = payments.invoice("month", USER, "en", money=True)
    assert invoice is not None
    assert payments.check(invoice.payload, USER, "RUB", 99_000) is None
    assert payments.check(invoice.payload, USER, "USD", 99_000) == "pay-refused-price"
    assert payments.check(invoice.payload, USER, "RUB", 100) == "pay-refused-price"
    assert payments.check(invoice.payload, USER, "XTR", 99_000) == "pay-refused-price"
    assert payments.check(invoice.payload, USER + 1, "RUB", 99_000) == "pay-refused-invalid"
    clock.advance(TTL + timedelta(minutes=1))
    assert payments.check(invoice.payload, USER, "RUB", 99_000) == "pay-refused-expired"


async def test_a_payment_in_money_is_credited_once_and_refunded_with_a_note(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    invoice = payments.invoice("month", USER, "en", money=True)
    assert invoice is not None
    credit = await payments.credit(paid(invoice.payload))
    assert credit.status is CreditStatus.CREDITED
    assert credit.entitlement is not None
    assert credit.entitlement.expires_at == clock.now + timedelta(days=30)
    again = await payments.credit(paid(invoice.payload))  # a redelivered successful_payment
    assert again.status is CreditStatus.DUPLICATE
    charge = await payments.charge("yk-1")  # found by the provider's id, as its dashboard shows
    assert charge is not None
    assert (charge.charge_id, charge.amount, charge.currency) == ("tg-1", 99_000, "RUB")

    refund = await payments.revoke("yk-1", actor_id=ADMIN, note="refunded in YooKassa, #42")
    assert refund.status is RevokeStatus.REVOKED
    assert refund.entitlement is not None
    assert refund.entitlement.expires_at <= clock.now
    assert (await payments.revoke("tg-1", actor_id=ADMIN)).status is RevokeStatus.ALREADY
    rows = await ledger(db)
    assert [(r.kind, r.amount, r.currency) for r in rows] == [
        (LedgerKind.PURCHASE.value, 99_000, "RUB"),
        (LedgerKind.REFUND.value, -99_000, "RUB"),
    ]
    assert (rows[0].provider_charge_id, rows[1].refund_of) == ("yk-1", "tg-1")
    assert (rows[1].note, rows[1].actor_id) == ("refunded in YooKassa, #42", ADMIN)
    [(_, lines)] = [period for period in await payments.revenue() if period[0] == "all"]
    assert lines == [RevenueLine("month", "RUB", 99_000, 1, 99_000, 1)]
