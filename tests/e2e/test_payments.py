"""Plans, quotas and Telegram Stars payments through the sandbox: purchases, subscriptions and
renewals, pre-checkout refusals, duplicate deliveries, refunds, restarts, the quota race, and
the operators' commands. The stack's plans are in `conftest.PAYMENTS_SETTINGS`."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.payments.payload import PayloadSigner
from tests.e2e.conftest import ADMIN_ID, PAYMENTS_SECRET, Stack
from tests.e2e.test_chat import ask, choose_model, count_bot_messages
from tests.e2e.test_commands import button_data, press
from tests.e2e.test_groups import bot_username

pytestmark = pytest.mark.e2e

OPERATORS_ONLY = "This command is for the bot's operators."
UNTIL = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d) UTC")
THINKING = "✍️ Thinking…"


def until_of(text: str) -> datetime:
    found = UNTIL.search(text)
    assert found, text
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def days_from_now(moment: datetime) -> float:
    return (moment - datetime.now(UTC)).total_seconds() / 86_400


async def next_message(stack: Stack, chat_id: int, before: int) -> dict[str, Any]:
    messages = await stack.telegram.wait_bot_messages(chat_id, before + 1, timeout=15)
    return messages[before]


async def final_text(stack: Stack, chat_id: int, before: int = 0) -> str:
    """The text of a group answer once its "Thinking…" placeholder has been replaced."""
    for _ in range(400):
        messages = await stack.telegram.wait_bot_messages(chat_id, before + 1, timeout=20)
        if messages[before]["text"] != THINKING:
            return str(messages[before]["text"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"chat {chat_id}: the answer never replaced its placeholder")


async def invoice_for(stack: Stack, user_id: int, plan_button: str) -> dict[str, Any]:
    """/subscribe, press the plan's button; returns the invoice (or link) message."""
    plans = await ask(stack, user_id, "/subscribe")
    buttons = button_data(plans)
    [data] = [d for text, d in buttons.items() if text.startswith(plan_button)]
    before = await count_bot_messages(stack, user_id)
    await press(stack, user_id, user_id, plans["message_id"], data)
    return await next_message(stack, user_id, before)


async def pay(
    stack: Stack, user_id: int, invoice: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    """Pay an invoice message or a subscription link message; returns the sandbox's result
    and, when paid, the bot's reply under "reply"."""
    before = await count_bot_messages(stack, user_id)
    rows = (invoice.get("reply_markup") or {}).get("inline_keyboard", [])
    links = [b["url"] for row in rows for b in row if b.get("url")]
    if links:
        result = await stack.telegram.pay(user_id, link=links[0], **overrides)
    else:
        result = await stack.telegram.pay(
            user_id, chat_id=user_id, message_id=invoice["message_id"], **overrides
        )
    if result["ok"]:
        result["reply"] = await next_message(stack, user_id, before)
    return result


async def test_a_pass_is_bought_with_stars_and_lifts_the_limits(
    payments_stack: Stack, user_id: int
) -> None:
    stack = payments_stack
    plans = await ask(stack, user_id, "/subscribe")
    assert "Week pass: ⭐50 for 7 days" in plans["text"]
    assert "Pro: ⭐250 a month" in plans["text"]
    assert "You are on: Free." in plans["text"]
    invoice = await invoice_for(stack, user_id, "Week pass")
    [call] = [c for c in await stack.telegram.calls("sendInvoice") if c["chat_id"] == user_id]
    assert call["params"]["currency"] == "XTR"
    assert json.loads(call["params"]["prices"]) == [{"label": "Week pass", "amount": 50}]
    assert not call["params"].get("provider_token")
    assert invoice["invoice"]["total_amount"] == 50
    paid = await pay(stack, user_id, invoice)
    assert paid["status"] == "paid"
    assert paid["reply"]["text"].startswith("Thank you! Week pass is yours until")
    assert 6.9 < days_from_now(until_of(paid["reply"]["text"])) <= 7
    info = await ask(stack, user_id, "/subinfo")
    assert info["text"].startswith("Your plan: Week pass.")
    limits = await ask(stack, user_id, "/limits")
    assert "GPT Test: 100 of 100 messages" in limits["text"]
    assert "Unlimited: Gemma Test" in limits["text"]


async def test_passes_stack_and_a_redelivered_payment_counts_once(
    payments_stack: Stack, user_id: int
) -> None:
    stack = payments_stack
    first = await pay(stack, user_id, await invoice_for(stack, user_id, "Week pass"), deliveries=2)
    await asyncio.sleep(1.0)  # the second delivery has been handled by now
    replies = [
        m for m in await stack.telegram.bot_messages(user_id) if "Thank you" in (m["text"] or "")
    ]
    assert len(replies) == 1, "the same charge delivered twice was credited twice"
    once = until_of(first["reply"]["text"])
    second = await pay(stack, user_id, await invoice_for(stack, user_id, "Week pass"))
    assert until_of(second["reply"]["text"]) - once == timedelta(days=7)


async def test_pre_checkout_refuses_tampered_stale_and_mispriced_invoices(
    payments_stack: Stack, user_id: int
) -> None:
    stack = payments_stack
    invoice = await invoice_for(stack, user_id, "Week pass")
    tampered = await pay(stack, user_id, invoice, payload=f"p1.week.{user_id}.50.1.forged")
    assert (tampered["ok"], tampered["status"]) == (False, "declined")
    assert tampered["error_message"] == (
        "This invoice is not valid for your account. Send /subscribe for a new one."
    )
    signer = PayloadSigner(_secret(), timedelta(minutes=30))
    stale_payload = signer.issue("week", user_id, 50, datetime.now(UTC) - timedelta(hours=2))
    stale = await pay(stack, user_id, invoice, payload=stale_payload)
    assert stale["error_message"] == "This invoice has expired. Send /subscribe for a new one."
    cheap = await pay(stack, user_id, invoice, total_amount=1)
    assert cheap["error_message"].startswith("The price of this plan has changed.")
    someone_else = await stack.telegram.pay(
        user_id + 1, chat_id=user_id, message_id=invoice["message_id"]
    )
    assert someone_else["status"] == "declined"
    assert (await ask(stack, user_id, "/subinfo"))["text"].startswith("Your plan: Free.")
    answered = (await stack.telegram.payments())["pre_checkout_queries"]
    assert all(q["answer"] is not None for q in answered), "a pre-checkout query went unanswered"


def _secret() -> bytes:
    return PAYMENTS_SECRET.encode()


async def test_subscription_renews_then_a_failed_renewal_ends_it_at_expiry(
    payments_stack: Stack, user_id: int
) -> None:
    stack = payments_stack
    link_message = await invoice_for(stack, user_id, "Pro")
    assert link_message["text"].startswith("Subscribe to Pro for ⭐250 a month.")
    [link_call] = [
        c
        for c in await stack.telegram.calls("createInvoiceLink")
        if c["params"]["payload"].split(".")[2] == str(user_id)
    ]
    assert int(link_call["params"]["subscription_period"]) == 2_592_000
    soon = int(time.time()) + 4
    paid = await pay(stack, user_id, link_message, subscription_expiration_date=soon)
    assert paid["reply"]["text"].startswith("Thank you! You are subscribed to Pro until")
    charge = paid["telegram_payment_charge_id"]
    info = await ask(stack, user_id, "/subinfo")
    assert "Pro: until" in info["text"]
    assert "Renews automatically" in info["text"]

    before = await count_bot_messages(stack, user_id)
    later = soon + 4
    await stack.telegram.renew(user_id, charge, subscription_expiration_date=later)
    renewed = await next_message(stack, user_id, before)
    assert renewed["text"].startswith("Your Pro subscription was renewed")
    assert int(until_of(renewed["text"]).timestamp()) // 60 == later // 60

    before = await count_bot_messages(stack, user_id)
    await stack.telegram.renew(user_id, charge, fail=True)
    failed = await next_message(stack, user_id, before)
    assert failed["text"].startswith("The renewal of your Pro subscription failed")
    assert "Pro" in (await ask(stack, user_id, "/subinfo"))["text"]
    await asyncio.sleep(max(0.0, later - time.time()) + 1)
    info = await ask(stack, user_id, "/subinfo")
    assert info["text"].startswith("Your plan: Free.")
    assert "Pro: ended" in info["text"]


async def test_a_canceled_subscription_is_recorded(payments_stack: Stack, user_id: int) -> None:
    stack = payments_stack
    paid = await pay(stack, user_id, await invoice_for(stack, user_id, "Pro"))
    plans = await ask(stack, user_id, "/subscribe")
    answer, _ = await press(stack, user_id, user_id, plans["message_id"], "buy:pro")
    assert answer["text"].startswith("You are already subscribed to Pro (paid until")
    assert answer["show_alert"] is True
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.subscription_state(user_id, paid["telegram_payment_charge_id"], "canceled")
    canceled = await next_message(stack, user_id, before)
    assert canceled["text"].startswith("Your Pro subscription will not renew")
    info = await ask(stack, user_id, "/subinfo")
    assert "Canceled: will not renew." in info["text"]
    assert info["text"].startswith("Your plan: Pro.")


async def test_refund_by_an_operator_revokes_the_pass(payments_stack: Stack, user_id: int) -> None:
    stack = payments_stack
    paid = await pay(stack, user_id, await invoice_for(stack, user_id, "Week pass"))
    charge = paid["telegram_payment_charge_id"]
    user_before = await count_bot_messages(stack, user_id)
    done = await ask(stack, ADMIN_ID, f"/refund {charge}")
    assert done["text"].startswith(f"Refunded ⭐50 of payment {charge} to user {user_id}")
    notice = await next_message(stack, user_id, user_before)
    assert notice["text"].startswith("⭐50 were refunded to you, and Week pass")
    [refunded] = [
        c
        for c in (await stack.telegram.payments())["charges"]
        if c["telegram_payment_charge_id"] == charge
    ]
    assert refunded["refunded"] is True
    info = await ask(stack, user_id, "/subinfo")
    assert info["text"].startswith("Your plan: Free.")
    again = await ask(stack, ADMIN_ID, f"/refund {charge}")
    assert again["text"] == f"The payment {charge} was refunded before; nothing changed."
    revenue = await ask(stack, ADMIN_ID, "/revenue")
    assert "week: ⭐" in revenue["text"]
    assert "refunded" in revenue["text"]


async def test_a_refund_made_by_telegram_revokes_too(payments_stack: Stack, user_id: int) -> None:
    stack = payments_stack
    paid = await pay(stack, user_id, await invoice_for(stack, user_id, "Week pass"))
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.telegram_refund(paid["telegram_payment_charge_id"])
    notice = await next_message(stack, user_id, before)
    assert notice["text"].startswith("⭐50 were refunded to you")
    assert (await ask(stack, user_id, "/subinfo"))["text"].startswith("Your plan: Free.")


async def test_operator_commands_refuse_everyone_else(payments_stack: Stack, user_id: int) -> None:
    stack = payments_stack
    for command in ("/refund stx1", "/grant 1 week 3", "/revenue"):
        assert (await ask(stack, user_id, command))["text"] == OPERATORS_ONLY
    granted = await ask(stack, ADMIN_ID, f"/grant {user_id} week 3")
    assert granted["text"].startswith(f"User {user_id} has week until")
    assert 2.9 < days_from_now(until_of(granted["text"])) <= 3
    assert (await ask(stack, user_id, "/subinfo"))["text"].startswith("Your plan: Week pass.")
    unknown = await ask(stack, ADMIN_ID, f"/grant {user_id} gold 3")
    assert unknown["text"] == "There is no paid plan gold. Plans: week, pro."


async def test_the_limit_reply_says_when_it_resets_and_offers_the_plans(
    payments_stack: Stack, user_id: int
) -> None:
    stack = payments_stack
    for n in range(3):
        answer = await ask(stack, user_id, f"question {n} for the limit")
        assert "question" in answer["text"]
    refused = await ask(stack, user_id, "one question too many")
    assert refused["text"].startswith(
        "You have used all 3 messages with GPT Test on the Free plan. The next one frees up at"
    )
    assert 23.9 < days_from_now(until_of(refused["text"])) * 24 <= 24
    assert set(button_data(refused)) == {"Week pass · ⭐50 for 7 days", "Pro · ⭐250 a month"}
    assert not [r for r in stack.llm.requests if "one question too many" in str(r["body"])]
    # The button sells the pass right there; once paid, the same question is answered.
    before = await count_bot_messages(stack, user_id)
    await press(
        stack,
        user_id,
        user_id,
        refused["message_id"],
        button_data(refused)["Week pass · ⭐50 for 7 days"],
    )
    invoice = await next_message(stack, user_id, before)
    await pay(stack, user_id, invoice)
    answered = await ask(stack, user_id, "one question too many")
    assert "one question too many" in answered["text"]


async def test_a_model_outside_the_plan_is_refused(payments_stack: Stack, user_id: int) -> None:
    stack = payments_stack
    await choose_model(stack, user_id, "claude")
    refused = await ask(stack, user_id, "hello claude")
    assert refused["text"].startswith("Claude Test is not included in the Free plan.")
    limits = await ask(stack, user_id, "/limits")
    assert "Claude Test: not included in your plan." in limits["text"]
    assert "GPT Test: 3 of 3 messages (per 24 h)" in limits["text"]


async def test_quota_race_ten_parallel_messages_with_three_left(
    payments_stack: Stack, user_id: int
) -> None:
    """Ten messages at once from one user in ten chats: exactly three are answered."""
    stack = payments_stack
    stack.llm.set_knobs(ttft_ms=400)
    username = await bot_username(stack)
    chats: list[dict[str, Any]] = [{"id": user_id, "type": "private"}]
    for n in range(9):
        chat = {"id": -1_000_000_000_000 - user_id * 10 - n, "type": "supergroup", "title": f"G{n}"}
        await stack.telegram.group(chat, admins=[user_id + 1], members=[user_id])
        chats.append(chat)
    await asyncio.gather(
        *(
            stack.telegram.send(user_id, f"@{username} race question {i}", chat=chat)
            for i, chat in enumerate(chats)
        )
    )
    replies = [await final_text(stack, chat["id"]) for chat in chats]
    answered = [r for r in replies if "race question" in r]
    limited = [r for r in replies if r.startswith("You have used all 3 messages with GPT Test")]
    assert (len(answered), len(limited)) == (3, 7), replies
    assert all("The next one frees up at" in r for r in limited)
    assert len([r for r in stack.llm.requests if "race question" in str(r["body"])]) == 3


async def test_group_members_are_counted_per_user(payments_stack: Stack, user_id: int) -> None:
    stack = payments_stack
    username = await bot_username(stack)
    chat_id = -1_000_000_000_000 - user_id * 10 - 9
    chat: dict[str, Any] = {"id": chat_id, "type": "supergroup", "title": "Team"}
    await stack.telegram.group(chat, admins=[user_id], members=[user_id + 1])
    texts = []
    for n in range(4):
        before = await count_bot_messages(stack, chat_id)
        await stack.telegram.send(user_id, f"@{username} mine {n}", chat=chat)
        texts.append(await final_text(stack, chat_id, before))
    assert all(f"mine {n}" in texts[n] for n in range(3)), texts
    assert texts[3].startswith("You have used all 3 messages")
    before = await count_bot_messages(stack, chat_id)
    await stack.telegram.send(user_id + 1, f"@{username} my first one", chat=chat)
    assert "my first one" in await final_text(stack, chat_id, before)


async def test_a_restart_between_payment_and_next_message_loses_nothing(
    payments_stack: Stack, user_id: int
) -> None:
    stack = payments_stack
    for n in range(3):
        await ask(stack, user_id, f"before restart {n}")
    paid = await pay(stack, user_id, await invoice_for(stack, user_id, "Week pass"))
    until = until_of(paid["reply"]["text"])
    await stack.restart()
    answer = await ask(stack, user_id, "after the restart")
    assert "after the restart" in answer["text"]
    info = await ask(stack, user_id, "/subinfo")
    assert info["text"].startswith("Your plan: Week pass.")
    assert until_of(info["text"]) == until
    limits = await ask(stack, user_id, "/limits")
    assert "GPT Test: 96 of 100 messages" in limits["text"]


async def test_support_and_terms(payments_stack: Stack, user_id: int) -> None:
    stack = payments_stack
    support = await ask(stack, user_id, "/paysupport")
    assert support["text"] == "Write to @e2e_support about payments."
    terms = await ask(stack, user_id, "/terms", language_code="ru")
    assert terms["text"].startswith("Тариф даёт доступ к моделям бота")


async def test_a_refunded_subscription_does_not_renew(payments_stack: Stack, user_id: int) -> None:
    stack = payments_stack
    paid = await pay(stack, user_id, await invoice_for(stack, user_id, "Pro"))
    charge = paid["telegram_payment_charge_id"]
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.telegram_refund(charge)  # a dispute settled by Telegram
    notice = await next_message(stack, user_id, before)
    assert notice["text"].startswith("⭐250 were refunded to you, and Pro")
    [subscription] = [
        s for s in (await stack.telegram.payments())["subscriptions"] if s["charge_id"] == charge
    ]
    assert subscription["state"] == "canceled"
    assert subscription["canceled_by_bot"] is True
    info = await ask(stack, user_id, "/subinfo")
    assert info["text"].startswith("Your plan: Free.")
