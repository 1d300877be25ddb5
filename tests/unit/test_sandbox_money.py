"""Invoices in money in the sandbox: a provider token and a currency Telegram takes, a total
within the currency's limits, provider_data as JSON, the buyer's contact in the order info
when the invoice asks for it, a provider charge id, and no Stars-only refunds or
subscriptions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox.telegram import TelegramSandbox
from tests.unit.test_sandbox_payments import TOKEN, USER, USER_JSON, Feed, call, control

PROVIDER_TOKEN = "381764678:TEST:sandbox-money"
RECEIPT = {"receipt": {"items": [{"description": "Month", "quantity": "1.00"}]}}
MONEY_INVOICE: dict[str, Any] = {
    "chat_id": USER,
    "title": "Month pass",
    "description": "Thirty days",
    "payload": "m1.month.901.99000.RUB.1.sig",
    "currency": "RUB",
    "prices": [{"label": "Month pass", "amount": 99_000}],
    "provider_token": PROVIDER_TOKEN,
    "need_email": True,
    "send_email_to_provider": True,
    "provider_data": json.dumps(RECEIPT),
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    server = TelegramSandbox(TOKEN)
    await server.start()
    async with aiohttp.ClientSession(base_url=server.base_url) as session:
        yield session
    await server.stop()


async def test_an_invoice_in_money_is_validated_like_telegram(
    http: aiohttp.ClientSession,
) -> None:
    bad: dict[str, tuple[dict[str, Any], str]] = {
        "no provider token": ({"provider_token": ""}, "PAYMENT_PROVIDER_INVALID"),
        "unknown currency": ({"currency": "XYZ"}, "CURRENCY_INVALID"),
        "below the least": (
            {"prices": [{"label": "A", "amount": 50}]},
            "CURRENCY_TOTAL_AMOUNT_INVALID",
        ),
        "above the most": (
            {"prices": [{"label": "A", "amount": 100_000_001}]},
            "CURRENCY_TOTAL_AMOUNT_INVALID",
        ),
        "a price without a label": ({"prices": [{"amount": 99_000}]}, "PRICES_INVALID"),
        "provider data not JSON": ({"provider_data": "{receipt"}, "DATA_JSON_INVALID"),
    }
    await control(http, "/sandbox/send", {"user": USER_JSON, "text": "hi"})
    for case, (change, error) in bad.items():
        status, body = await call(http, "sendInvoice", **{**MONEY_INVOICE, **change})
        assert (status, body["description"]) == (400, f"Bad Request: {error}"), case
    # Several prices add up (a plan and a fee, say) within the limits.
    two = [{"label": "Plan", "amount": 90_000}, {"label": "Fee", "amount": 9_000}]
    status, body = await call(http, "sendInvoice", **{**MONEY_INVOICE, "prices": two})
    assert status == 200, body
    assert body["result"]["invoice"]["total_amount"] == 99_000
    # Subscriptions are sold in Stars only.
    status, body = await call(
        http, "createInvoiceLink", **{**MONEY_INVOICE, "subscription_period": 2592000}
    )
    assert (status, body["description"]) == (400, "Bad Request: SUBSCRIPTION_PERIOD_INVALID")


async def test_a_payment_in_money_carries_the_contact_and_the_providers_charge(
    http: aiohttp.ClientSession,
) -> None:
    await control(http, "/sandbox/send", {"user": USER_JSON, "text": "/start"})
    feed = Feed(http)
    await feed.take()
    status, body = await call(http, "sendInvoice", **MONEY_INVOICE)
    assert status == 200, body
    target = {"user": USER_JSON, "chat_id": USER, "message_id": body["result"]["message_id"]}
    paying = asyncio.create_task(control(http, "/sandbox/pay", target))
    (update,) = await feed.take()
    query = update.pre_checkout_query
    assert query is not None
    assert (query.currency, query.total_amount) == ("RUB", 99_000)
    assert query.order_info is not None
    assert query.order_info.email == f"user{USER}@sandbox.example"
    assert query.order_info.phone_number is None  # not asked for
    await call(http, "answerPreCheckoutQuery", pre_checkout_query_id=query.id, ok=True)
    _, result = await paying
    assert (result["status"], result["currency"], result["total_amount"]) == ("paid", "RUB", 99_000)
    assert result["provider_payment_charge_id"].startswith("prv_")
    (paid,) = await feed.take()
    assert paid.message is not None
    payment = paid.message.successful_payment
    assert payment is not None
    assert payment.provider_payment_charge_id == result["provider_payment_charge_id"]
    assert payment.order_info is not None
    assert payment.order_info.email == f"user{USER}@sandbox.example"
    _, state = await control(http, "/sandbox/payments")
    assert json.loads(state["invoices"][0]["provider_data"]) == RECEIPT
    assert state["invoices"][0]["provider_token"] is True  # recorded, never echoed
    # Money goes back through the provider, not refundStarPayment.
    status, body = await call(
        http,
        "refundStarPayment",
        user_id=USER,
        telegram_payment_charge_id=payment.telegram_payment_charge_id,
    )
    assert (status, body["description"]) == (400, "Bad Request: CHARGE_NOT_FOUND")


async def test_the_payment_form_sends_what_the_buyer_typed_for_the_fields_asked(
    http: aiohttp.ClientSession,
) -> None:
    """The page's payment form: it reads the fields an invoice asks for from
    /sandbox/invoice and pays with what the user typed; a missing or malformed field is
    refused before any pre-checkout query, as Telegram's form does not let the buyer pay."""
    await control(http, "/sandbox/send", {"user": USER_JSON, "text": "/start"})
    feed = Feed(http)
    await feed.take()
    invoice = {**MONEY_INVOICE, "need_name": True, "need_shipping_address": True}
    status, body = await call(http, "sendInvoice", **invoice)
    assert status == 200, body
    where = {"chat_id": USER, "message_id": body["result"]["message_id"]}
    status, form = await control(
        http, f"/sandbox/invoice?chat_id={USER}&message_id={where['message_id']}"
    )
    assert status == 200
    assert form["form_fields"] == ["name", "email", "shipping_address"]
    assert (form["currency"], form["total_amount"]) == ("RUB", 99_000)
    address = {
        "country_code": "DE",
        "city": "Berlin",
        "street_line1": "Unter den Linden 1",
        "post_code": "10117",
    }
    typed = {"name": "Alice", "email": "alice@example.com", "shipping_address": address}
    refused = {
        "no e-mail": ({**typed, "email": " "}, "the payment form needs email"),
        "not an e-mail": ({**typed, "email": "alice"}, "is not an e-mail address"),
        "no city": (
            {**typed, "shipping_address": {**address, "city": ""}},
            "shipping_address needs city",
        ),
    }
    for case, (info, error) in refused.items():
        status, answer = await control(
            http, "/sandbox/pay", {"user": USER_JSON, **where, "order_info": info}
        )
        assert status == 400, case
        assert error in answer["description"], case
    _, state = await control(http, "/sandbox/payments")
    assert state["pre_checkout_queries"] == []  # nothing reached the bot
    paying = asyncio.create_task(
        control(
            http,
            "/sandbox/pay",
            {"user": USER_JSON, **where, "order_info": {**typed, "phone_number": "+100"}},
        )
    )
    (update,) = await feed.take()
    query = update.pre_checkout_query
    assert query is not None
    assert query.order_info is not None
    assert (query.order_info.name, query.order_info.email) == ("Alice", "alice@example.com")
    assert query.order_info.phone_number is None  # typed, but the invoice did not ask for it
    assert query.order_info.shipping_address is not None
    assert query.order_info.shipping_address.city == "Berlin"
    await call(http, "answerPreCheckoutQuery", pre_checkout_query_id=query.id, ok=True)
    _, result = await paying
    assert result["status"] == "paid"
    assert result["order_info"]["email"] == "alice@example.com"
    (paid,) = await feed.take()
    assert paid.message is not None
    assert paid.message.successful_payment is not None
    assert paid.message.successful_payment.order_info is not None
    assert paid.message.successful_payment.order_info.email == "alice@example.com"
