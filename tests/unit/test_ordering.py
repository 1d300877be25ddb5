"""Per-chat order and merging of pastes that Telegram split into several messages."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Message, Update

from bot.chat.inputs import UserInput
from bot.chat.ordering import ChatLocks, PasteMerger
from bot.middlewares import OrderingMiddleware, install_ordering
from bot.middlewares.ordering import is_control_update
from bot.storage.dto import UpdateMark


def part(text: str, user: int = 1, chat: int = 1, update: int = 1) -> UserInput:
    return UserInput(chat_id=chat, user_id=user, text=text, updates=(UpdateMark(update),))


async def test_one_chat_runs_in_arrival_order_while_others_proceed() -> None:
    locks = ChatLocks()
    log: list[str] = []

    async def work(chat: int, name: str, delay: float) -> None:
        async with locks.hold(chat):
            log.append(f"start {name}")
            await asyncio.sleep(delay)
            log.append(f"end {name}")

    await asyncio.gather(work(1, "a", 0.05), work(1, "b", 0), work(2, "c", 0))
    assert log.index("end a") < log.index("start b")
    assert log.index("end c") < log.index("end a")  # chat 2 did not wait for chat 1
    assert len(locks) == 0  # no lock left behind


async def test_split_paste_is_merged_into_one_turn() -> None:
    locks = ChatLocks()
    merger = PasteMerger(locks, window=0.1, threshold=100)
    runs: list[UserInput] = []

    async def run(turn: UserInput) -> None:
        runs.append(turn)

    first = part("a" * 150, update=1)
    assert merger.looks_split(first.text)
    merger.defer(first, run)
    assert merger.try_append(part("b" * 150, update=2))
    assert merger.try_append(part("tail", update=3))
    assert not merger.try_append(part("other user", user=2))
    await asyncio.sleep(0.25)
    [merged] = runs
    assert merged.text == "a" * 150 + "\n" + "b" * 150 + "\ntail"
    assert merged.update_ids == (1, 2, 3)


async def test_another_update_flushes_the_deferred_turn_first() -> None:
    locks = ChatLocks()
    merger = PasteMerger(locks, window=5, threshold=100)
    log: list[str] = []

    async def run(turn: UserInput) -> None:
        log.append(turn.text[:1])

    merger.defer(part("x" * 200), run)
    async with locks.hold(1):
        await merger.flush(1)
        log.append("command")
    await merger.close()
    assert log == ["x", "command"]


def test_short_messages_are_not_deferred() -> None:
    merger = PasteMerger(ChatLocks(), window=1, threshold=3000)
    assert not merger.looks_split("hello")
    assert not PasteMerger(ChatLocks(), window=0, threshold=10).looks_split("x" * 100)


class SlowStorage(MemoryStorage):
    """FSM state behind a network round trip (as Redis is): reading it awaits."""

    async def get_state(self, key: StorageKey) -> str | None:
        await asyncio.sleep(random.uniform(0, 0.02))
        return await super().get_state(key)


def _text_update(update_id: int, chat_id: int, text: str) -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "T"},
                "text": text,
            },
        }
    )


async def _handled_order(*, fsm_first: bool) -> list[str]:
    """Ten messages of one chat fed at once, as the intake feeds them; the order handled."""
    random.seed(7)
    dispatcher = Dispatcher(storage=SlowStorage(), disable_fsm=not fsm_first)
    ordering = OrderingMiddleware(ChatLocks(), PasteMerger(ChatLocks(), window=0, threshold=99))
    if fsm_first:  # aiogram's own place for it, ahead of everything registered later
        dispatcher.update.outer_middleware(ordering)
    else:
        install_ordering(dispatcher, ordering)
    router = Router()
    seen: list[str] = []

    @router.message()
    async def handle(message: Message, raw_state: str | None) -> None:
        seen.append(message.text or "")

    dispatcher.include_router(router)
    bot = Bot("42:TEST")
    updates = [_text_update(i, 5, f"m{i}") for i in range(1, 11)]
    await asyncio.gather(*(dispatcher.feed_update(bot, update) for update in updates))
    await bot.session.close()
    return seen


async def test_a_chats_updates_keep_their_order_though_reading_fsm_state_awaits() -> None:
    assert await _handled_order(fsm_first=False) == [f"m{i}" for i in range(1, 11)]
    # The control: with the FSM middleware ahead of the lock, they overtake each other.
    assert await _handled_order(fsm_first=True) != [f"m{i}" for i in range(1, 11)]


def test_stop_and_payments_are_control_updates_and_the_rest_is_not() -> None:
    """Control updates reach a busy chat past its lock, and a draining worker still
    handles them (Telegram gives a pre-checkout query 10 s)."""
    user = {"id": 7, "is_bot": False, "first_name": "U"}
    control: list[dict[str, Any]] = [
        {"message": {**_message(7, "/stop"), "from": user}},
        {"callback_query": {"id": "q", "from": user, "chat_instance": "c", "data": "stop:5"}},
        {
            "pre_checkout_query": {
                "id": "p",
                "from": user,
                "currency": "XTR",
                "total_amount": 50,
                "invoice_payload": "plan:week",
            }
        },
    ]
    others: list[dict[str, Any]] = [
        {"message": {**_message(7, "hello"), "from": user}},
        {"callback_query": {"id": "q", "from": user, "chat_instance": "c", "data": "model:gpt"}},
    ]
    assert [is_control_update(Update(update_id=i, **u)) for i, u in enumerate(control)] == [
        True
    ] * len(control)
    assert not any(is_control_update(Update(update_id=i, **u)) for i, u in enumerate(others))


def _message(chat_id: int, text: str) -> dict[str, Any]:
    return {"message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "private"}, "text": text}
