"""Coordination across processes through the real Redis: two `RedisCoordination`s stand for
two bot processes (each has its own connection, subscription and identity)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis

from bot.bootstrap_scaling import invalidator
from bot.characters.catalog import CharacterCatalog
from bot.chat.generations import Generations
from bot.coordination.budgets import RedisBudgets
from bot.coordination.ports import Invalidation
from bot.coordination.redis import RedisCoordination
from bot.storage.cache import RecordCache
from bot.storage.dto import Chat
from tests.services.conftest import redis_client

pytestmark = pytest.mark.services


@pytest.fixture
async def pair(redis_prefix: str) -> AsyncIterator[tuple[RedisCoordination, RedisCoordination]]:
    first = RedisCoordination(redis_client(), redis_prefix)
    second = RedisCoordination(redis_client(), redis_prefix)
    await first.start()
    await second.start()
    yield first, second
    await first.close()
    await second.close()


async def test_a_stop_pressed_in_one_process_ends_the_answer_generated_in_another(
    pair: tuple[RedisCoordination, RedisCoordination],
) -> None:
    here, there = pair
    answering, idle = Generations(), Generations()
    there.serve_stops(answering.stop)
    here.serve_stops(idle.stop)
    generation = answering.begin(chat_id=5)

    assert not await here.stop_answer(5, generation.id + 1)  # another answer: not this one
    assert not generation.is_stopped
    assert not await here.stop_answer(6)  # nothing runs in chat 6 anywhere
    assert await here.stop_answer(5, generation.id)
    assert generation.is_stopped


async def test_a_stop_of_nothing_is_answered_at_once_when_every_process_replies(
    pair: tuple[RedisCoordination, RedisCoordination],
) -> None:
    here, there = pair
    here.serve_stops(Generations().stop)
    there.serve_stops(Generations().stop)
    started = time.monotonic()
    assert not await here.stop_answer(7)
    assert time.monotonic() - started < 1.0  # not the reply timeout


async def test_invalidations_reach_the_other_processes_only(
    pair: tuple[RedisCoordination, RedisCoordination],
) -> None:
    here, there = pair
    seen: dict[str, list[Invalidation]] = {"here": [], "there": []}
    arrived = asyncio.Event()

    async def at_here(change: Invalidation) -> None:
        seen["here"].append(change)

    async def at_there(change: Invalidation) -> None:
        seen["there"].append(change)
        arrived.set()

    here.serve_invalidations(at_here)
    there.serve_invalidations(at_there)
    here.invalidate(Invalidation(frozenset({("chat", 42), ("user", 7)})))
    await asyncio.wait_for(arrived.wait(), 5)
    assert seen["there"] == [Invalidation(frozenset({("chat", 42), ("user", 7)}))]
    await asyncio.sleep(0.2)
    assert seen["here"] == []  # its own caches were dropped when it committed


async def test_fsm_state_set_in_one_process_is_seen_in_another(
    pair: tuple[RedisCoordination, RedisCoordination],
) -> None:
    here, there = pair
    key = StorageKey(bot_id=1, chat_id=10, user_id=10)
    await here.fsm_storage.set_state(key, "SystemPromptForm:waiting")
    await here.fsm_storage.set_data(key, {"chat": 10})
    assert await there.fsm_storage.get_state(key) == "SystemPromptForm:waiting"
    assert await there.fsm_storage.get_data(key) == {"chat": 10}


def _budgets(redis: Redis, prefix: str, per_second: int = 5) -> RedisBudgets:
    return RedisBudgets(
        redis, prefix, global_per_second=per_second, chat_per_second=1.0, chat_burst=3
    )


async def _send_for(budgets: RedisBudgets, chat_id: int, until: float, sent: list[float]) -> None:
    while time.monotonic() < until:
        wait = await budgets.take(chat_id)
        if wait > 0:
            await asyncio.sleep(wait)
            continue
        sent.append(time.monotonic())


async def test_the_global_budget_is_held_across_processes(redis_prefix: str) -> None:
    first, second = redis_client(), redis_client()
    try:
        sent: list[float] = []
        until = time.monotonic() + 2.5
        # Two processes, each sending to many chats as fast as the budgets allow.
        await asyncio.gather(
            *(
                _send_for(_budgets(client, redis_prefix), chat, until, sent)
                for client in (first, second)
                for chat in range(1, 11)
            )
        )
    finally:
        await first.aclose()
        await second.aclose()
    sent.sort()
    busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    assert busiest <= 5  # 5 a second in all, though 20 senders in two processes pushed
    assert len(sent) >= 10  # and the budget is used: ~5 per 1.25 s over 2.5 s


async def test_a_chats_budget_and_a_429_block_are_shared(redis_prefix: str) -> None:
    first, second = redis_client(), redis_client()
    try:
        here, there = _budgets(first, redis_prefix, 30), _budgets(second, redis_prefix, 30)
        assert [await here.take(1) for _ in range(3)] == [0.0, 0.0, 0.0]  # the burst
        assert 0.5 < await there.take(1) <= 1.2  # the chat's 4th message waits, elsewhere too
        assert await there.take(2) == 0.0  # another chat does not
        await here.block(2, 3.0)  # Telegram said 429, retry after 3 s, to the first process
        assert 2.5 < await there.take(2) <= 3.0
        await there.block(None, 1.0)  # a 429 for a call without a chat holds every chat
        assert 0.5 < await here.take(3) <= 1.0
    finally:
        await first.aclose()
        await second.aclose()


async def test_budgets_give_way_when_redis_is_unreachable(redis_prefix: str) -> None:
    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        budgets = _budgets(down, redis_prefix)
        assert await budgets.take(1) == 0.0  # the process's own pacer still keeps the limits
        await budgets.block(1, 1.0)  # and a 429 is not an error on top
    finally:
        await down.aclose()


async def test_a_change_committed_in_one_process_drops_the_others_cached_record(
    pair: tuple[RedisCoordination, RedisCoordination], tmp_path: Path
) -> None:
    here, there = pair
    records = RecordCache()
    records.fill(
        records.stamp(), chat=Chat(42, "private", None, "gpt", None, None, None, None, None)
    )
    invalidate = invalidator(records, CharacterCatalog(tmp_path, models=[], tool_servers=[]))
    done = asyncio.Event()

    async def at_there(change: Invalidation) -> None:
        await invalidate(change)
        done.set()

    there.serve_invalidations(at_there)
    here.invalidate(Invalidation(frozenset({("chat", 42)})))  # as bootstrap wires db.on_change
    await asyncio.wait_for(done.wait(), 5)
    assert records.chat(42) is None  # read again from the database, with the change
