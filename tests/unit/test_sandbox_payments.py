"""Telegram Stars payments in the sandbox: invoices, the pay flow, subscriptions and refunds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Update

from bot.sandbox.telegram import SandboxClient, TelegramSandbox

TOKEN = "123456:sandbox-test-token"
USER = 901
OTHER_USER = 902
PERIOD = 2592000
USER_JSON: dict[str, Any] = {"id": USER, "first_name": "Payer", "language_code": "en"}
INVOICE: dict[str, Any] = {
    "chat_id": USER,
    "title": "Pro plan",
    "description": "A month of the pro plan",
    "payload": "plan:pro:1",
    "currency": "XTR",
    "prices": [{"label": "Pro", "amount": 50}],
}


@pytest.fixture
async def sandbox() -> AsyncIterator[TelegramSandbox]:
    server = TelegramSandbox(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http(sandbox: TelegramSandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sandbox.base_url) as session:
        yield session


@pytest.fixture
async def bot(sandbox: TelegramSandbox) -> AsyncIterator[Bot]:
    assert sandbox.base_url is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(sandbox.base_url))
    client_bot = Bot(TOKEN, session=session)
    yield client_bot
    await client_bot.session.close()


async def call(
    http: aiohttp.ClientSession, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    async with http.post(f"/bot{TOKEN}/{method}", json=params) as resp:
        return resp.status, await resp.json()


async def control(
    http: aiohttp.ClientSession, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    request = http.get(path) if body is None else http.post(path, json=body)
    async with request as resp:
        return resp.status, await resp.json()


class Feed:
    """The bot's update stream, read with getUpdates and parsed by aiogram."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.offset = 0

    async def take(self, count: int = 1) -> list[Update]:
        found: list[Update] = []
        while len(found) < count:
            _, body = await call(self.http, "getUpdates", offset=self.offset, timeout=2)
            assert body["result"], f"expected {count} updates, got {len(found)}"
            for raw in body["result"]:
                self.offset = raw["update_id"] + 1
                found.append(Update.model_validate(raw))
        return found


@pytest.fixture
async def feed(http: aiohttp.ClientSession) -> Feed:
    await control(http, "/sandbox/send", {"user": USER_JSON, "text": "/start"})
    stream = Feed(http)
    await stream.take()
    return stream


async def invoice_message(http: aiohttp.ClientSession) -> int:
    status, body = await call(http, "sendInvoice", **INVOICE)
    assert status == 200, body
    return int(body["result"]["message_id"])


async def pay(
    http: aiohttp.ClientSession,
    bot: Bot,
    feed: Feed,
    target: dict[str, Any],
    *,
    ok: bool = True,
    error_message: str | None = None,
    **extra: Any,
) -> tuple[Update, dict[str, Any]]:
    """Pay through /sandbox/pay while the bot answers the pre-checkout query."""
    body = {"user": USER_JSON, **target, **extra}
    paying = asyncio.create_task(control(http, "/sandbox/pay", body))
    (update,) = await feed.take()
    assert update.pre_checkout_query is not None
    await bot.answer_pre_checkout_query(update.pre_checkout_query.id, ok, error_message)
    status, result = await paying
    assert status == 200, result
    return update, result


async def test_send_invoice_is_validated_like_telegram(http: aiohttp.ClientSession) -> None:
    bad: dict[str, tuple[dict[str, Any], str]] = {
        "currency": ({"currency": "XYZ"}, "CURRENCY_INVALID"),
        "money without a provider": ({"currency": "USD"}, "PAYMENT_PROVIDER_INVALID"),
        "provider": ({"provider_token": "284685063:TEST:abc"}, "PAYMENT_PROVIDER_INVALID"),
        "two prices": (
            {"prices": [{"label": "A", "amount": 1}, {"label": "B", "amount": 2}]},
            "STARS_INVOICE_INVALID",
        ),
        "too dear": ({"prices": [{"label": "A", "amount": 10001}]}, "STARS_INVOICE_INVALID"),
        "free": ({"prices": [{"label": "A", "amount": 0}]}, "STARS_INVOICE_INVALID"),
        "long title": ({"title": "x" * 33}, "INVOICE_TITLE_INVALID"),
        "long payload": ({"payload": "я" * 65}, "INVOICE_PAYLOAD_INVALID"),
    }
    await control(http, "/sandbox/send", {"user": USER_JSON, "text": "hi"})
    for case, (change, error) in bad.items():
        status, body = await call(http, "sendInvoice", **{**INVOICE, **change})
        assert (status, body["description"]) == (400, f"Bad Request: {error}"), case
    _, transcript = await control(http, f"/sandbox/chats/{USER}/transcript")
    assert [m["text"] for m in transcript] == ["hi"]


async def test_invoice_message_carries_the_invoice(
    http: aiohttp.ClientSession, bot: Bot, feed: Feed
) -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Pay", pay=True)]])
    sent = await bot.send_invoice(
        USER,
        title="Pro plan",
        description="A month of the pro plan",
        payload="plan:pro:1",
        currency="XTR",
        prices=[LabeledPrice(label="Pro", amount=50)],
        reply_markup=markup,
    )
    assert sent.invoice is not None
    assert (sent.invoice.title, sent.invoice.currency, sent.invoice.total_amount) == (
        "Pro plan",
        "XTR",
        50,
    )
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].pay is True
    _, transcript = await control(http, f"/sandbox/chats/{USER}/transcript")
    assert transcript[-1]["invoice"]["total_amount"] == 50
    assert transcript[-1]["text"] is None
    _, payments = await control(http, "/sandbox/payments")
    assert payments["invoices"][0]["invoice_payload"] == "plan:pro:1"
    assert payments["invoices"][0]["message_id"] == sent.message_id


async def test_invoice_link_checks_the_subscription_period(bot: Bot) -> None:
    stars = [LabeledPrice(label="Month", amount=100)]
    with pytest.raises(TelegramBadRequest, match="SUBSCRIPTION_PERIOD_INVALID"):
        await bot.create_invoice_link(
            "Sub", "Monthly", "sub:1", "XTR", stars, subscription_period=86400
        )
    link = await bot.create_invoice_link(
        "Sub", "Monthly", "sub:1", "XTR", stars, subscription_period=PERIOD
    )
    assert link.startswith("https://t.me/$")
    assert len(link) > len("https://t.me/$") + 8


async def test_paid_invoice_gives_a_successful_payment(
    http: aiohttp.ClientSession, bot: Bot, feed: Feed
) -> None:
    message_id = await invoice_message(http)
    query_update, result = await pay(http, bot, feed, {"chat_id": USER, "message_id": message_id})
    query = query_update.pre_checkout_query
    assert query is not None
    assert (query.from_user.id, query.invoice_payload, query.total_amount, query.currency) == (
        USER,
        "plan:pro:1",
        50,
        "XTR",
    )
    assert result["status"] == "paid"
    assert result["subscription_expiration_date"] is None
    (update,) = await feed.take()
    assert update.update_id == result["update_ids"][0]
    assert update.message is not None
    assert update.message.from_user is not None
    payment = update.message.successful_payment
    assert payment is not None
    assert update.message.from_user.id == USER
    assert (payment.invoice_payload, payment.total_amount, payment.currency) == (
        "plan:pro:1",
        50,
        "XTR",
    )
    assert payment.telegram_payment_charge_id == result["telegram_payment_charge_id"]
    assert payment.provider_payment_charge_id == ""
    assert payment.is_recurring is None
    _, state = await control(http, "/sandbox/payments")
    assert state["charges"][0]["refunded"] is False
    assert state["pre_checkout_queries"][0]["answer"]["ok"] is True


async def test_tampered_payload_reaches_the_bot(
    http: aiohttp.ClientSession, bot: Bot, feed: Feed
) -> None:
    message_id = await invoice_message(http)
    target = {"chat_id": USER, "message_id": message_id}
    update, result = await pay(
        http, bot, feed, target, ok=False, error_message="Unknown item", payload="plan:free"
    )
    assert update.pre_checkout_query is not None
    assert update.pre_checkout_query.invoice_payload == "plan:free"
    assert result == {
        "ok": False,
        "status": "declined",
        "error_message": "Unknown item",
        "pre_checkout_query_id": update.pre_checkout_query.id,
        "total_amount": 50,
    }
    _, state = await control(http, "/sandbox/payments")
    assert state["charges"] == []
    status, body = await call(http, "answerPreCheckoutQuery", pre_checkout_query_id="1", ok=False)
    assert (status, body["description"]) == (400, "Bad Request: QUERY_ID_INVALID")


async def test_decline_needs_an_error_message(http: aiohttp.ClientSession, feed: Feed) -> None:
    message_id = await invoice_message(http)
    body = {"user": USER_JSON, "chat_id": USER, "message_id": message_id, "deadline": 2}
    paying = asyncio.create_task(control(http, "/sandbox/pay", body))
    (update,) = await feed.take()
    assert update.pre_checkout_query is not None
    query_id = update.pre_checkout_query.id
    status, answer = await call(
        http, "answerPreCheckoutQuery", pre_checkout_query_id=query_id, ok=False
    )
    assert (status, answer["description"]) == (400, "Bad Request: ERROR_MESSAGE_EMPTY")
    await call(
        http, "answerPreCheckoutQuery", pre_checkout_query_id=query_id, ok=False, error_message="No"
    )
    _, result = await paying
    assert (result["status"], result["error_message"]) == ("declined", "No")


async def test_unanswered_query_times_out_and_expires(
    http: aiohttp.ClientSession, feed: Feed
) -> None:
    message_id = await invoice_message(http)
    body = {"user": USER_JSON, "chat_id": USER, "message_id": message_id, "deadline": 0.3}
    status, result = await control(http, "/sandbox/pay", body)
    assert (status, result["ok"], result["status"]) == (200, False, "timeout")
    (update,) = await feed.take()
    assert update.pre_checkout_query is not None
    status, late = await call(
        http, "answerPreCheckoutQuery", pre_checkout_query_id=update.pre_checkout_query.id, ok=True
    )
    assert (status, late["description"]) == (400, "Bad Request: QUERY_ID_INVALID")
    _, state = await control(http, "/sandbox/payments")
    assert state["pre_checkout_queries"][0]["expired"] is True
    assert state["pre_checkout_queries"][0]["answer"] is None
    assert state["charges"] == []


async def test_redelivered_payment_keeps_its_charge(
    http: aiohttp.ClientSession, bot: Bot, feed: Feed
) -> None:
    message_id = await invoice_message(http)
    target = {"chat_id": USER, "message_id": message_id}
    _, result = await pay(http, bot, feed, target, deliveries=2)
    updates = await feed.take(2)
    assert [u.update_id for u in updates] == result["update_ids"]
    assert len(set(result["update_ids"])) == 2
    charges = {
        u.message.successful_payment.telegram_payment_charge_id
        for u in updates
        if u.message is not None and u.message.successful_payment is not None
    }
    assert charges == {result["telegram_payment_charge_id"]}
    _, again = await pay(http, bot, feed, target)
    assert again["telegram_payment_charge_id"] != result["telegram_payment_charge_id"]


async def test_subscription_renews_and_fails(
    http: aiohttp.ClientSession, bot: Bot, feed: Feed
) -> None:
    stars = [LabeledPrice(label="Month", amount=100)]
    link = await bot.create_invoice_link(
        "Sub", "Monthly", "sub:1", "XTR", stars, subscription_period=PERIOD
    )
    _, paid = await pay(http, bot, feed, {"link": link}, subscription_expiration_date=1_800_000_000)
    (first,) = await feed.take()
    assert first.message is not None
    assert first.message.successful_payment is not None
    payment = first.message.successful_payment
    assert (payment.is_recurring, payment.is_first_recurring) == (True, True)
    assert payment.subscription_expiration_date == 1_800_000_000
    charge_id = paid["telegram_payment_charge_id"]

    status, renewed = await control(
        http, "/sandbox/renew", {"user_id": USER, "charge_id": charge_id}
    )
    assert (status, renewed["status"]) == (200, "renewed")
    assert renewed["subscription_expiration_date"] == 1_800_000_000 + PERIOD
    (second,) = await feed.take()
    assert second.message is not None
    assert second.message.successful_payment is not None
    renewal = second.message.successful_payment
    assert (renewal.is_recurring, renewal.is_first_recurring) == (True, False)
    assert renewal.subscription_expiration_date == 1_800_000_000 + PERIOD
    assert renewal.telegram_payment_charge_id == renewed["telegram_payment_charge_id"] != charge_id

    body = {"user_id": USER, "charge_id": charge_id, "fail": True}
    _, failed = await control(http, "/sandbox/renew", body)
    (third,) = await feed.take()
    assert third.update_id == failed["update_id"]
    assert third.subscription is not None
    assert (third.subscription.state, third.subscription.invoice_payload) == ("failed", "sub:1")
    assert third.subscription.user.id == USER
    _, state = await control(http, "/sandbox/payments")
    assert state["subscriptions"][0]["state"] == "failed"
    assert [c["recurring"] for c in state["charges"]] == [True, True]


async def test_canceled_subscription_is_not_renewed(
    http: aiohttp.ClientSession, bot: Bot, feed: Feed
) -> None:
    stars = [LabeledPrice(label="Month", amount=100)]
    link = await bot.create_invoice_link(
        "Sub", "Monthly", "sub:2", "XTR", stars, subscription_period=PERIOD
    )
    _, paid = await pay(http, bot, feed, {"link": link})
    await feed.take()
    charge_id = paid["telegram_payment_charge_id"]
    body = {"user_id": USER, "charge_id": charge_id, "state": "canceled"}
    status, result = await control(http, "/sandbox/subscription_state", body)
    assert (status, result["state"]) == (200, "canceled")
    (update,) = await feed.take()
    assert update.subscription is not None
    assert update.subscription.state == "canceled"
    status, refused = await control(
        http, "/sandbox/renew", {"user_id": USER, "charge_id": charge_id}
    )
    assert (status, refused["description"]) == (400, "subscription is canceled")
    await control(http, "/sandbox/subscription_state", {**body, "state": "active"})
    (resumed,) = await feed.take()
    assert resumed.subscription is not None
    assert resumed.subscription.state == "active"
    assert await bot.edit_user_star_subscription(USER, charge_id, is_canceled=True)
    _, state = await control(http, "/sandbox/payments")
    assert state["subscriptions"][0]["state"] == "canceled"
    assert state["subscriptions"][0]["canceled_by_bot"] is True


async def test_refund_once_with_a_refunded_payment_message(
    http: aiohttp.ClientSession, bot: Bot, feed: Feed
) -> None:
    message_id = await invoice_message(http)
    _, paid = await pay(http, bot, feed, {"chat_id": USER, "message_id": message_id})
    await feed.take()
    charge_id = paid["telegram_payment_charge_id"]
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.refund_star_payment(OTHER_USER, charge_id)
    assert await bot.refund_star_payment(USER, charge_id)
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(USER, charge_id)
    (update,) = await feed.take()
    assert update.message is not None
    assert update.message.text is None
    refunded = update.message.refunded_payment
    assert refunded is not None
    assert (refunded.telegram_payment_charge_id, refunded.total_amount) == (charge_id, 50)
    assert (refunded.invoice_payload, refunded.currency) == ("plan:pro:1", "XTR")
    status, body = await control(http, "/sandbox/refund", {"charge_id": charge_id})
    assert (status, body["description"]) == (400, "Bad Request: CHARGE_ALREADY_REFUNDED")
    _, state = await control(http, "/sandbox/payments")
    assert state["charges"][0]["refunded"] is True
    _, transcript = await control(http, f"/sandbox/chats/{USER}/transcript")
    assert transcript[-1]["refunded_payment"]["total_amount"] == 50
    assert transcript[-2]["successful_payment"]["telegram_payment_charge_id"] == charge_id


async def test_dispute_refund_and_one_off_charge_is_no_subscription(
    http: aiohttp.ClientSession, bot: Bot, feed: Feed
) -> None:
    message_id = await invoice_message(http)
    _, paid = await pay(http, bot, feed, {"chat_id": USER, "message_id": message_id})
    await feed.take()
    charge_id = paid["telegram_payment_charge_id"]
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.edit_user_star_subscription(USER, charge_id, is_canceled=True)
    status, refused = await control(http, "/sandbox/renew", {"user_id": USER, "charge_id": "x"})
    assert (status, refused["description"]) == (400, "Bad Request: CHARGE_NOT_FOUND")
    status, body = await control(http, "/sandbox/refund", {"charge_id": charge_id})
    assert (status, body["ok"]) == (200, True)
    (update,) = await feed.take()
    assert update.update_id == body["update_id"]
    assert update.message is not None
    assert update.message.refunded_payment is not None


async def test_unknown_invoice_and_reset(
    http: aiohttp.ClientSession, sandbox: TelegramSandbox
) -> None:
    status, body = await control(
        http, "/sandbox/pay", {"user": USER_JSON, "link": "https://t.me/$nothing"}
    )
    assert (status, body["ok"]) == (400, False)
    await control(http, "/sandbox/send", {"user": USER_JSON, "text": "hi"})
    message_id = await invoice_message(http)
    await call(http, "deleteMessage", chat_id=USER, message_id=message_id)
    target = {"user": USER_JSON, "chat_id": USER, "message_id": message_id}
    status, body = await control(http, "/sandbox/pay", target)
    assert (status, body["description"]) == (400, "Bad Request: message not found")
    assert sandbox.base_url is not None
    async with SandboxClient(sandbox.base_url) as client:
        await client.reset()
    _, state = await control(http, "/sandbox/payments")
    assert state == {"invoices": [], "charges": [], "subscriptions": [], "pre_checkout_queries": []}


async def test_page_knows_how_to_pay(http: aiohttp.ClientSession) -> None:
    async with http.get("/") as resp:
        page = await resp.text()
    assert "/sandbox/pay" in page
    assert "https://t.me/$" in page
