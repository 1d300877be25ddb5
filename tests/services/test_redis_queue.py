"""The update queue on the real Redis: ingress appends by chat, workers share partitions under
leases, each chat in order, nothing lost when a worker dies."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot.queue.ingress import QueueWebhook
from bot.queue.leases import Lease
from bot.queue.partitions import partition_of
from bot.queue.streams import Entry, UpdateQueue
from bot.queue.worker import Dispatch, IsControl, PartitionWorker, TakeOver
from bot.telegram.intake import SECRET_HEADER
from tests.services.conftest import redis_client

pytestmark = pytest.mark.services

PARTITIONS = 4
LEASE = 2.0


def update(update_id: int, chat_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "chat": {"id": chat_id, "type": "private"}},
    }


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = redis_client()
    yield client
    await client.aclose()


class Handler:
    """Stands in for the bot's dispatcher: one update of a chat at a time, in the order they
    were started (as the ordering middleware's chat locks do); records what it handled and
    when. `hold` keeps updates in work for ever (a worker that hangs, or dies, mid-answer)."""

    def __init__(self, hold: bool = False, seconds: float = 0.01) -> None:
        self.handled: list[tuple[int, int, bool]] = []  # (chat, update id, redelivered)
        self.spans: list[tuple[int, int, float, float]] = []  # (chat, update id, start, end)
        self.taken_over: list[int] = []
        self.hold = hold
        self.seconds = seconds
        self.locks: dict[int, asyncio.Lock] = {}

    def dispatch(self, entry: Entry) -> asyncio.Task[Any] | None:
        assert entry.raw is not None
        return asyncio.create_task(self._handle(entry))

    async def _handle(self, entry: Entry) -> None:
        assert entry.raw is not None
        chat = entry.raw["message"]["chat"]["id"]
        async with self.locks.setdefault(chat, asyncio.Lock()):
            started = time.monotonic()
            if self.hold:
                await asyncio.Event().wait()
            await asyncio.sleep(self.seconds)
            self.handled.append((chat, entry.raw["update_id"], entry.redelivered))
            self.spans.append((chat, entry.raw["update_id"], started, time.monotonic()))

    async def take_over(self, partition: int) -> list[asyncio.Task[Any]]:
        self.taken_over.append(partition)
        return []


def worker(
    redis: Redis,
    prefix: str,
    handler: Handler,
    name: str,
    max_in_flight: int = 32,
    *,
    lease: float = LEASE,
    dispatch: Dispatch | None = None,
    take_over: TakeOver | None = None,
    is_control: IsControl | None = None,
    queue: UpdateQueue | None = None,
) -> PartitionWorker:
    """A worker on `handler` (or on the `dispatch` and `take_over` given)."""
    return PartitionWorker(
        redis,
        queue or UpdateQueue(redis, prefix, PARTITIONS),
        prefix,
        lease_seconds=lease,
        dispatch=dispatch or handler.dispatch,
        take_over=take_over or handler.take_over,
        worker_id=name,
        max_in_flight=max_in_flight,
        is_control=is_control,
    )


async def wait_for(condition: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_a_busy_worker_hands_partitions_to_a_new_one_keeping_each_chat_in_order(
    redis: Redis, redis_prefix: str
) -> None:
    """The first worker takes every partition and is busy with them when the second starts:
    it hands half of them over without two workers ever handling one chat at once."""
    queue = UpdateQueue(redis, redis_prefix, PARTITIONS)
    chats = range(1001, 1013)
    sent = [(chat, 100 * chat + i) for i in range(6) for chat in chats]
    handlers = [Handler(seconds=0.25), Handler(seconds=0.25)]
    workers = [worker(redis, redis_prefix, h, f"w{i}", 4) for i, h in enumerate(handlers)]
    stop = asyncio.Event()
    running = [asyncio.create_task(workers[0].run(stop.wait))]
    try:
        await wait_for(lambda: len(workers[0].partitions) == PARTITIONS)  # alone: all of them
        for chat, update_id in sent:
            await queue.append(update(update_id, chat))
        await wait_for(lambda: len(handlers[0].handled) > 0)  # busy
        running.append(asyncio.create_task(workers[1].run(stop.wait)))
        await wait_for(lambda: [len(w.partitions) for w in workers] == [2, 2])
        await wait_for(lambda: sum(len(h.handled) for h in handlers) == len(sent))
    finally:
        stop.set()
        await asyncio.gather(*running)
        for w in workers:
            await w.release()
    assert handlers[1].handled  # the newcomer took a share while the first was busy
    for chat in chats:
        spans = sorted(
            (start, end, update_id, index)
            for index, handler in enumerate(handlers)
            for c, update_id, start, end in handler.spans
            if c == chat
        )
        assert [update_id for _, _, update_id, _ in spans] == [100 * chat + i for i in range(6)]
        for (_, end, _, _), (start, _, _, _) in itertools.pairwise(spans):
            assert end <= start  # one at a time, across the handover too
    assert await queue.depth() == 0  # acknowledged and deleted


async def test_a_dead_workers_partitions_and_unacknowledged_updates_move_to_another(
    redis: Redis, redis_prefix: str
) -> None:
    queue = UpdateQueue(redis, redis_prefix, PARTITIONS)
    dying = Handler(hold=True)
    first = worker(redis, redis_prefix, dying, "dies")
    ticking = asyncio.create_task(first.run(asyncio.Event().wait))
    await wait_for(lambda: len(first.partitions) == PARTITIONS)
    for i in range(8):
        await queue.append(update(500 + i, 2000 + i))
    await asyncio.sleep(1.5)  # read and in work, never acknowledged
    # The process dies: no renewal, no release, no acknowledgement; its readers stop too.
    work = [t for owned in first._owned.values() for t in (owned.reader, *owned.in_flight)]
    for task in [ticking, *work]:
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    survivor = Handler()
    second = worker(redis, redis_prefix, survivor, "lives")
    stop = asyncio.Event()
    running = asyncio.create_task(second.run(stop.wait))
    try:
        await wait_for(lambda: len(survivor.handled) == 8, timeout=LEASE + 8)
    finally:
        stop.set()
        await running
        await second.release()
    assert sorted(u for _, u, _ in survivor.handled) == list(range(500, 508))
    assert all(redelivered for _, _, redelivered in survivor.handled)
    assert sorted(survivor.taken_over) == list(range(PARTITIONS))  # recovery ran first
    assert await queue.depth() == 0


async def test_a_lease_is_held_by_one_owner_and_lapses_without_renewal(
    redis: Redis, redis_prefix: str
) -> None:
    key = f"{redis_prefix}:lease:x"
    first, second = Lease(redis, key, "a", 0.5), Lease(redis, key, "b", 0.5)
    assert await first.acquire()
    assert not await second.acquire()
    assert await first.renew()
    await second.release()  # not its own: nothing happens
    assert not await second.acquire()
    await asyncio.sleep(0.7)
    assert not await first.renew()  # lapsed
    assert await second.acquire()


async def test_the_webhook_answers_200_only_once_redis_has_the_update(
    redis: Redis, redis_prefix: str
) -> None:
    queue = UpdateQueue(redis, redis_prefix, PARTITIONS)
    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    app = web.Application()
    app.router.add_post("/hook", QueueWebhook(queue, "s3cret", lambda: False).__call__)
    failing_queue = UpdateQueue(down, "x", 4)
    app.router.add_post("/down", QueueWebhook(failing_queue, "s3cret", lambda: False).__call__)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        wrong = await client.post("/hook", json=update(1, 77), headers={SECRET_HEADER: "no"})
        good = await client.post("/hook", json=update(2, 77), headers={SECRET_HEADER: "s3cret"})
        failing = await client.post("/down", json=update(3, 77), headers={SECRET_HEADER: "s3cret"})
    finally:
        await client.close()
        await down.aclose()
    assert (wrong.status, good.status, failing.status) == (401, 200, 503)
    partition = partition_of(update(2, 77), PARTITIONS)
    entries: Any = await redis.xrange(queue.key(partition))
    assert len(entries) == 1
    assert b'"update_id":2' in entries[0][1][b"u"]


async def test_a_worker_that_loses_a_lease_stops_that_partitions_work_unacknowledged(
    redis: Redis, redis_prefix: str
) -> None:
    """Another worker holds the lease now (this one was cut off too long): the updates in
    work here are cut and left unacknowledged, for the new holder to handle again."""
    queue = UpdateQueue(redis, redis_prefix, PARTITIONS)
    hanging = Handler(hold=True)
    cut_off = worker(redis, redis_prefix, hanging, "cut-off")
    stop = asyncio.Event()
    running = asyncio.create_task(cut_off.run(stop.wait))
    try:
        await wait_for(lambda: len(cut_off.partitions) == PARTITIONS)
        partition = await queue.append(update(900, 3000))
        owned = cut_off._owned[partition]
        await wait_for(lambda: len(owned.in_flight) == 1)
        [task] = owned.in_flight
        lease = f"{redis_prefix}:lease:partition:{partition}"
        await redis.set(lease, "another-worker", px=int(LEASE * 1000))
        await wait_for(lambda: partition not in cut_off.partitions, timeout=LEASE)
        await wait_for(task.cancelled)
        assert len(cut_off.partitions) == PARTITIONS - 1  # the others are kept
    finally:
        stop.set()
        await running
        await cut_off.release()
    pending: Any = await redis.xpending(queue.key(partition), "workers")
    assert pending["pending"] == 1  # left for the new holder
    assert await redis.get(lease) == b"another-worker"  # not released by the loser


async def test_a_worker_that_died_holding_nothing_does_not_keep_its_share_for_a_lease(
    redis: Redis, redis_prefix: str
) -> None:
    """A worker killed just after it started (its heartbeat in, no partition taken yet): the
    others stop counting it after a few seconds, not a whole lease, and take what is free."""
    lease = 9.0  # checks every second; a heartbeat counts for three of them
    seconds, micros = await redis.time()
    await redis.zadd(f"{redis_prefix}:workers", {"ghost": seconds + micros / 1e6})
    alone = worker(redis, redis_prefix, Handler(), "alone", lease=lease)
    stop = asyncio.Event()
    running = asyncio.create_task(alone.run(stop.wait))
    started = time.monotonic()
    try:
        await wait_for(lambda: len(alone.partitions) == PARTITIONS // 2)  # the ghost counted
        await wait_for(lambda: len(alone.partitions) == PARTITIONS, timeout=lease)
    finally:
        stop.set()
        await running
        await alone.release()
    assert time.monotonic() - started < 5  # not the lease's 9 s


async def test_a_draining_worker_still_handles_stop_and_leaves_the_rest_in_order(
    redis: Redis, redis_prefix: str
) -> None:
    """A worker stopping (a deploy) while an answer is in work: a Stop for that chat is
    still handled by it, the chat's next message waits for the next owner."""
    queue = UpdateQueue(redis, redis_prefix, PARTITIONS)
    answering = asyncio.Event()
    finish = asyncio.Event()
    handled: list[int] = []

    def dispatch(entry: Entry) -> asyncio.Task[Any] | None:
        assert entry.raw is not None
        update_id = int(entry.raw["update_id"])

        async def handle() -> None:
            if update_id == 1:  # the long answer
                answering.set()
                await finish.wait()
            handled.append(update_id)
            if update_id == 2:  # the Stop
                finish.set()

        return asyncio.create_task(handle())

    leaving = worker(
        redis,
        redis_prefix,
        Handler(),
        "leaving",
        dispatch=dispatch,
        is_control=lambda entry: entry.raw is not None and entry.raw["update_id"] == 2,
    )
    stopping = asyncio.Event()
    running = asyncio.create_task(leaving.run(stopping.wait))
    await wait_for(lambda: len(leaving.partitions) == PARTITIONS)
    await queue.append(update(1, 3001))
    await asyncio.wait_for(answering.wait(), 10)
    stopping.set()
    await running  # draining now; the answer goes on past the lease
    await asyncio.sleep(LEASE + 0.5)
    keys = [f"{redis_prefix}:lease:partition:{p}" for p in range(PARTITIONS)]
    assert await redis.mget(keys) == [b"leaving"] * PARTITIONS  # renewed while draining
    await queue.append(update(3, 3001))  # the chat's next message
    await queue.append(update(2, 3001))  # Stop
    await asyncio.wait_for(finish.wait(), 10)
    await asyncio.sleep(0.5)
    await leaving.release()
    assert handled == [2, 1]  # the Stop, then the stopped answer; not the next message

    successor = Handler()
    second = worker(redis, redis_prefix, successor, "next")
    stop = asyncio.Event()
    taking = asyncio.create_task(second.run(stop.wait))
    try:
        await wait_for(lambda: len(successor.handled) == 1)
    finally:
        stop.set()
        await taking
        await second.release()
    assert successor.handled == [(3001, 3, True)]
    assert await queue.depth() == 0


async def test_a_partition_is_handed_over_only_once_the_answers_it_resumed_are_done(
    redis: Redis, redis_prefix: str
) -> None:
    """Taking the partitions over, the first worker resumes answers an earlier owner left;
    a second worker joins meanwhile. The partitions it gets are handed over only when those
    answers are done: handed over at once, the new owner would find them unfinished and
    answer them again."""
    resumed = asyncio.Event()
    resuming: list[int] = []

    async def take_over(partition: int) -> list[asyncio.Task[Any]]:
        resuming.append(partition)
        return [asyncio.create_task(resumed.wait())]

    first = worker(redis, redis_prefix, Handler(), "first", take_over=take_over)
    second = worker(redis, redis_prefix, Handler(), "second")
    stop = asyncio.Event()
    running = [asyncio.create_task(first.run(stop.wait))]
    try:
        await wait_for(lambda: len(resuming) == PARTITIONS)
        running.append(asyncio.create_task(second.run(stop.wait)))
        await asyncio.sleep(3 * LEASE)  # many rounds: the second counts, its share is known
        assert len(first.partitions) == PARTITIONS  # still resuming: none handed over
        assert second.partitions == []
        resumed.set()
        await wait_for(lambda: [len(first.partitions), len(second.partitions)] == [2, 2])
    finally:
        stop.set()
        await asyncio.gather(*running)
        for each in (first, second):
            await each.release()


class SwallowingQueue(UpdateQueue):
    """Swallows a cancellation that arrives during a blocking read, as redis-py's asyncio
    client can (redis/redis-py#2028, #2551): the reading task goes on as if not cancelled."""

    async def next(self, partition: int, count: int, block_ms: int) -> list[Entry]:
        try:
            return await super().next(partition, count, block_ms)
        except asyncio.CancelledError:
            return []


async def test_a_handover_ends_though_the_redis_client_swallowed_the_readers_cancellation(
    redis: Redis, redis_prefix: str
) -> None:
    """The partitions handed over to a second worker are given up by the first, and every
    update is handled, though cancelling the first one's readers had no effect (before: the
    handover waited for them for ever, and the partitions' chats, draining, went unanswered)."""
    handlers = [Handler(), Handler()]
    swallowing = SwallowingQueue(redis, redis_prefix, PARTITIONS)
    first = worker(redis, redis_prefix, handlers[0], "first", queue=swallowing)
    second = worker(redis, redis_prefix, handlers[1], "second")
    stop = asyncio.Event()
    running = [asyncio.create_task(first.run(stop.wait))]
    try:
        await wait_for(lambda: len(first.partitions) == PARTITIONS)
        running.append(asyncio.create_task(second.run(stop.wait)))
        await wait_for(lambda: [len(first.partitions), len(second.partitions)] == [2, 2])
        queue = UpdateQueue(redis, redis_prefix, PARTITIONS)
        chats = range(2001, 2013)
        for chat in chats:
            await queue.append(update(chat, chat))
        await wait_for(lambda: sum(len(h.handled) for h in handlers) == len(chats))
    finally:
        stop.set()
        await asyncio.gather(*running)
        for each in (first, second):
            await each.release()
