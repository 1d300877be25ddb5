"""A broadcast with several processes: sent by one at a time (a lease in the real Redis), taken
up by another when the sending process stops or dies; nobody gets it twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.broadcasts.runner import BroadcastRunner
from bot.broadcasts.service import BroadcastService
from bot.config import RedisConfig
from bot.queue.scaled import Scaled
from bot.storage.database import Database
from bot.storage.dto import RecipientState
from tests.services.conftest import REDIS_URL
from tests.unit.payments_fixtures import migrated_database, migrated_template
from tests.unit.test_broadcast_runner import (
    AUDIENCE,
    FAST,
    WAIT,
    FakeProgress,
    FakeSender,
    _users,
    confirmed,
    states,
)

pytestmark = pytest.mark.services

LEASE = 2.0


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    template = await migrated_template(tmp_path / "template")
    async with migrated_database(template, tmp_path) as database:
        await database.write(_users)
        yield database


@pytest.fixture
async def scaled(redis_prefix: str) -> AsyncIterator[Scaled]:
    config = RedisConfig(url=REDIS_URL, key_prefix=redis_prefix, lease_seconds=LEASE)
    connection = Scaled.connect(config)
    yield connection
    await connection.close()


def process(db: Database, scaled: Scaled, name: str, sender: FakeSender) -> BroadcastRunner:
    return BroadcastRunner(db, sender, FakeProgress(), FAST, scaled.broadcast_guard(name))


async def sent(db: Database, broadcast_id: int) -> int:
    return (await states(db, broadcast_id)).get(RecipientState.SENT, 0)


async def test_one_process_sends_a_broadcast_and_another_takes_it_up_when_it_stops(
    db: Database, scaled: Scaled
) -> None:
    first = FakeSender(hold_after=25)  # sends 25, then hangs: busy, alive
    service = BroadcastService(db, process(db, scaled, "a", first))
    broadcast_id = await confirmed(service)
    async with asyncio.timeout(WAIT):
        while await sent(db, broadcast_id) < 25:
            await asyncio.sleep(0.01)

    second = FakeSender()
    other = process(db, scaled, "b", second)
    assert await other.resume() == 1  # it sees the broadcast being sent...
    await asyncio.sleep(0.5)
    assert second.sent == []  # ...but leaves it to the process that sends it

    await service.runner.stop()  # that process stops: its lease is given back
    await other.resume()
    async with asyncio.timeout(WAIT):
        while await sent(db, broadcast_id) < len(AUDIENCE) + 1:
            await asyncio.sleep(0.01)
    assert not set(first.sent) & set(second.sent), "someone got the broadcast twice"
    assert sorted(first.sent + second.sent) == sorted({1, *AUDIENCE})
    await other.stop()


async def test_a_dead_senders_broadcast_is_taken_up_once_its_lease_lapses(
    db: Database, scaled: Scaled
) -> None:
    first = FakeSender(hold_after=10)
    service = BroadcastService(db, process(db, scaled, "a", first))
    broadcast_id = await confirmed(service)
    async with asyncio.timeout(WAIT):
        while await sent(db, broadcast_id) < 10:
            await asyncio.sleep(0.01)
    # The process dies: nothing of it runs any more. Cancelled, its tasks give the lease
    # back; a killed process would not, so it is held again for a lease's time, unrenewed.
    for task in asyncio.all_tasks():
        if task.get_name().startswith(("broadcast:", "lease:")):
            task.cancel()
    key = f"{scaled.config.key_prefix}:lease:broadcast:{broadcast_id}"
    async with asyncio.timeout(WAIT):
        while await scaled.redis.exists(key):
            await asyncio.sleep(0.01)
    await scaled.redis.set(key, "killed", px=int(LEASE * 1000))

    second = FakeSender()
    other = process(db, scaled, "b", second)
    await other.resume()
    await asyncio.sleep(0.3)
    assert second.sent == []  # the lease has not lapsed yet
    await asyncio.sleep(LEASE)
    await other.resume()  # as the workers' periodic check does
    async with asyncio.timeout(WAIT):
        while await sent(db, broadcast_id) < len(AUDIENCE) + 1:
            await asyncio.sleep(0.01)
    assert not set(first.sent) & set(second.sent)
    await other.stop()
