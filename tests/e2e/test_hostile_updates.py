"""Hostile updates: 1,000 generated updates, schema-valid and not, through the real bot.

Whitespace-only and control-character texts, lone surrogates, odd entities, hostile payment
payloads and callback data, unknown update types and updates aiogram cannot parse at all: no
exception escapes a handler, an update that cannot be parsed is logged and skipped, and the
bot answers a normal message afterwards.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

COUNT = 1000
USERS = 40

ODD_TEXTS = [
    " ",
    "\n\t  \n",
    "\u200b\u200d\u2060",
    "\x00\x01\x7f",
    "\ud800",
    "a\udfffb",
    "/",
    "/stop",
    "/ stop",
    "/start@",
    "/setmodel " + "x" * 400,
    "@",
    "#",
    "#code",
    "‮evil‬",
    "💥" * 2000,
    "a" * 5000,
]


def _texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD_TEXTS),
        st.text(max_size=60),
        st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), min_size=1, max_size=8),
    )


def _entities() -> st.SearchStrategy[list[dict[str, Any]]]:
    entity = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["bold", "mention", "bot_command", "text_link", "nonsense"]),
            "offset": st.integers(-5, 10_000),
            "length": st.integers(-5, 10_000),
        },
        optional={"url": st.sampled_from(["javascript:alert(1)", "http://", "", "\ud800"])},
    )
    return st.lists(entity, max_size=3)


def _updates(users: list[int], groups: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    user = st.sampled_from(users).map(lambda i: {"id": i, "is_bot": False, "first_name": "Fuzz"})
    ids = st.integers(1, 2**31)
    chat = st.one_of(
        st.sampled_from(users).map(lambda i: {"id": i, "type": "private"}),
        st.sampled_from(groups).map(lambda i: {"id": i, "type": "supergroup", "title": "F"}),
    )
    message = st.fixed_dictionaries(
        {"message_id": ids, "date": st.integers(0, 2**31), "chat": chat, "from": user},
        optional={
            "text": _texts(),
            "entities": _entities(),
            "caption": _texts(),
            "photo": st.just([{"file_id": "nope", "file_unique_id": "n", "width": 1, "height": 1}]),
            "document": st.just({"file_id": "nope", "file_unique_id": "n", "file_name": "x.pdf"}),
            "successful_payment": st.fixed_dictionaries(
                {
                    "currency": st.sampled_from(["XTR", "USD", ""]),
                    "total_amount": st.integers(-1, 10**9),
                    "invoice_payload": _texts(),
                    "telegram_payment_charge_id": _texts(),
                    "provider_payment_charge_id": _texts(),
                }
            ),
        },
    )
    callback = st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=8), "from": user, "chat_instance": st.just("c")},
        optional={"data": _texts(), "message": message},
    )
    pre_checkout = st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=8),
            "from": user,
            "currency": st.sampled_from(["XTR", "EUR"]),
            "total_amount": st.integers(-10, 10**9),
            "invoice_payload": _texts(),
        }
    )
    junk = st.dictionaries(
        st.text(max_size=12),
        st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10), st.lists),
        max_size=4,
    )
    return st.one_of(
        message.map(lambda m: {"message": m}),
        message.map(lambda m: {"edited_message": m}),
        callback.map(lambda c: {"callback_query": c}),
        pre_checkout.map(lambda q: {"pre_checkout_query": q}),
        chat.map(lambda c: {"stopped_message_generation": {"chat": c, "draft_id": -1}}),
        junk.map(lambda j: {"a_future_update_type": j}),
        junk.map(lambda j: {"message": j}),  # not a message at all
        junk,
    )


def generate(users: list[int], groups: list[int]) -> list[dict[str, Any]]:
    """COUNT updates from hypothesis, the same on every run."""
    found: list[dict[str, Any]] = []

    @settings(
        max_examples=COUNT,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(_updates(users, groups))
    def collect(update: dict[str, Any]) -> None:
        found.append(update)

    collect()
    return found


async def _quiet(stack: Stack, seconds: float, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until the bot has made no Bot API call for `seconds`."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() - since < seconds:
        count = len(await stack.telegram.calls())
        if count != last:
            last, since = count, time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError("the bot kept calling the Bot API")
        await asyncio.sleep(0.5)


async def test_hostile_updates_never_break_the_bot(polling_stack: Stack, user_id: int) -> None:
    stack = polling_stack
    users = [user_id * 100 + i for i in range(USERS)]  # clear of other tests' ids
    for user in users:  # the users exist in the sandbox, so answers to them can be sent
        await stack.telegram.send(user, "/privacy")
    groups = [-1_000_000_000_000 - users[0] - i for i in range(3)]
    for group in groups:
        chat = {"id": group, "type": "supergroup", "title": "F"}
        await stack.telegram.group(chat, admins=[users[0]], members=users)
    updates = generate(users, groups)
    assert len(updates) >= COUNT * 0.9
    log_start = len(stack.bot.log())
    for update in updates:
        await stack.telegram.raw_update(update)
    await _quiet(stack, seconds=3, timeout=240)
    log = stack.bot.log()[log_start:]
    assert "handling failed" not in log
    assert "failed outside its handlers" not in log
    assert "Traceback" not in log
    assert "skipped: it cannot be parsed" in log  # the broken ones were there, and skipped
    # The bot still answers.
    last = users[-1]
    before = len(await stack.telegram.bot_messages(last))
    await stack.telegram.send(last, "still there?")
    messages = await stack.telegram.wait_bot_messages(last, before + 1, timeout=30)
    assert "You wrote: still there?" in messages[-1]["text"]
