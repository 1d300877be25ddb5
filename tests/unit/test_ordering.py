"""Per-chat order and merging of pastes that Telegram split into several messages."""

from __future__ import annotations

import asyncio

from bot.chat.inputs import UserInput
from bot.chat.ordering import ChatLocks, PasteMerger
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
