"""A worker's share of the partitions: taken under leases, renewed, handed over.

Every `check_every(lease_seconds)` (a second at most) the worker renews its heartbeat and
its leases, counts the live workers and takes free partitions up to its fair share (P /
workers, rounded up), and hands over those beyond it, so partitions spread out as workers
come and go. Handing one over (or stopping), it drains it: only control updates (Stop) are
handled, the others wait unacknowledged for the next owner, in order; once its updates in
work are done it gives the partition back. A lease it fails to renew is lost: that
partition's reading stops at once and its updates in work are cancelled (the new owner
handles them again). For each partition it owns it first lets `take_over` finish what the
partition's earlier owner left (unfinished answers, deferred updates; in work like updates,
so a handover waits for them too), then handles the entries that owner read but never
acknowledged, then new ones; updates run concurrently (each chat in order behind its lock,
Stop past it), each acknowledged once it is handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import zlib
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.queue.leases import Lease, check_every
from bot.queue.streams import Entry, UpdateQueue

logger = logging.getLogger(__name__)

Dispatch = Callable[[Entry], "asyncio.Task[Any] | None"]
"""Starts handling an entry's update; None when there is nothing to handle (unparsable)."""
TakeOver = Callable[[int], Awaitable[Collection["asyncio.Task[Any]"]]]
"""Starts finishing what the partition's earlier owner left; returns once the work holds its
locks, with its tasks (the partition is handed over only once they are done, so the next
owner never finds an answer in work unfinished and answers it again)."""
IsControl = Callable[[Entry], bool]
"""Whether an entry's update must reach its chat even while the partition drains (Stop)."""
READ_BLOCK_MS = 1000
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 5.0
READ_COUNT = 50
LIVE_TICKS = 3
ACK_WAIT_SECONDS = 5.0
"""Giving partitions back, how long the acknowledgements under way are waited for."""
# Updates read ahead per partition (their chats run concurrently); a partition handed over
# first lets those finish, so a small number keeps handovers quick.
MAX_IN_FLIGHT = 32


@dataclass
class _Owned:
    lease: Lease
    reader: asyncio.Task[None] | None = None
    in_flight: set[asyncio.Task[Any]] = field(default_factory=set)
    ids: set[bytes] = field(default_factory=set)  # the entries in work
    leaving: asyncio.Task[None] | None = None  # handing it over
    # Handing it over or stopping: only control updates (Stop) are handled; the others stay
    # unacknowledged, for the next owner, in order.
    draining: bool = False
    # Its reading ends: nothing more is read or started. A flag, not only a cancellation: a
    # cancellation that arrives during a blocking Redis read can be swallowed by the client
    # (redis-py #2028, #2551), and a reader that read on would hold up the handover for ever.
    closing: bool = False


class PartitionWorker:
    def __init__(
        self,
        redis: Redis,
        queue: UpdateQueue,
        prefix: str,
        *,
        lease_seconds: float,
        dispatch: Dispatch,
        take_over: TakeOver,
        worker_id: str | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        is_control: IsControl | None = None,
    ) -> None:
        self.id = worker_id or secrets.token_hex(6)
        self._max_in_flight = max_in_flight
        self._redis = redis
        self._queue = queue
        self._prefix = prefix
        self._lease_seconds = lease_seconds
        self._dispatch = dispatch
        self._take_over = take_over
        self._owned: dict[int, _Owned] = {}
        self._is_control = is_control
        self._acks: set[asyncio.Task[None]] = set()
        self._reading = True
        self._leaving = False  # stopping: leases renewed, nothing new taken
        self._ticking: asyncio.Task[None] | None = None

    @property
    def partitions(self) -> list[int]:
        return sorted(self._owned)

    async def run(self, stopping: Callable[[], Awaitable[object]]) -> None:
        """Take part until `stopping` returns; then drain: the leases are still renewed (the
        work in flight may outlast a lease) and only control updates are handled (a Stop
        pressed meanwhile reaches its answer); the caller lets the work finish, then calls
        `release`."""
        self._ticking = asyncio.create_task(self._tick_forever(), name="partitions")
        try:
            await stopping()
        except BaseException:
            await self._stop_ticking()
            raise
        finally:
            self._leaving = True
            for owned in self._owned.values():
                owned.draining = True

    async def release(self) -> None:
        """Give every partition back at once (a graceful stop: no one waits for a lapse)."""
        await self._stop_ticking()
        self._reading = False
        await self._acknowledged()
        for partition in list(self._owned):
            await self._drop(partition)
        with contextlib.suppress(RedisError):
            await self._redis.zrem(self._members_key, self.id)

    async def _acknowledged(self) -> None:
        """Until the acknowledgements under way are in (at most ACK_WAIT_SECONDS)."""
        if self._acks:
            await asyncio.wait(set(self._acks), timeout=ACK_WAIT_SECONDS)

    async def _stop_ticking(self) -> None:
        if self._ticking is not None:
            self._ticking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticking
            self._ticking = None

    @property
    def _members_key(self) -> str:
        return f"{self._prefix}:workers"

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except (RedisError, OSError) as exc:
                logger.warning("Redis unreachable (%s): partitions not renewed this time", exc)
            await asyncio.sleep(check_every(self._lease_seconds))

    async def tick(self) -> None:
        """One round: heartbeat, renewals, taking and giving back partitions (stopping: the
        renewals alone)."""
        for partition, owned in list(self._owned.items()):
            if not await owned.lease.renew():
                logger.warning("partition %d: lease lost; its updates in work are cut", partition)
                self._lose(partition)
        if self._leaving:
            return
        live = await self._heartbeat()
        share = math.ceil(self._queue.partitions / max(live, 1))
        start = zlib.crc32(self.id.encode()) % self._queue.partitions
        for step in range(self._queue.partitions):
            if len(self._staying) >= share:
                break
            partition = (start + step) % self._queue.partitions
            if partition in self._owned:
                continue
            lease = Lease(self._redis, self._lease_key(partition), self.id, self._lease_seconds)
            if await lease.acquire():
                self._take(partition, lease)
        staying = self._staying
        extra = len(staying) - share
        if extra > 0:  # the least busy ones go
            for partition in sorted(staying, key=lambda p: len(self._owned[p].in_flight))[:extra]:
                owned = self._owned[partition]
                owned.leaving = asyncio.create_task(self._hand_over(partition, owned))

    @property
    def _staying(self) -> list[int]:
        return [p for p, owned in self._owned.items() if owned.leaving is None]

    async def _hand_over(self, partition: int, owned: _Owned) -> None:
        """Drain the partition (only control updates are handled); once its updates in work
        are done, stop reading it and give it back."""
        owned.draining = True
        while owned.in_flight:
            await asyncio.wait(set(owned.in_flight))
        await _stop_reading(owned)
        while owned.in_flight:  # a Stop that came in meanwhile
            await asyncio.wait(set(owned.in_flight))
        await self._acknowledged()  # the next owner must not read what was handled again
        if self._owned.get(partition) is owned:
            del self._owned[partition]
            with contextlib.suppress(RedisError, OSError):
                await owned.lease.release()
            logger.info("partition %d: handed over", partition)

    async def _heartbeat(self) -> int:
        """Records this worker as alive; how many workers are. A worker counts as alive for
        LIVE_TICKS checks after its last heartbeat (not for the whole lease): a dead one's
        free partitions are then taken by the others as soon as its leases lapse. One that
        is only slow keeps its partitions (it still renews them) and gets its share back."""
        seconds, micros = await self._redis.time()
        now = seconds + micros / 1e6
        alive_since = now - min(self._lease_seconds, LIVE_TICKS * check_every(self._lease_seconds))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._members_key, {self.id: now})
            pipe.zremrangebyscore(self._members_key, "-inf", now - self._lease_seconds)
            pipe.zcount(self._members_key, alive_since, "+inf")
            results = await pipe.execute()
        return int(results[-1])

    def _lease_key(self, partition: int) -> str:
        return f"{self._prefix}:lease:partition:{partition}"

    def _take(self, partition: int, lease: Lease) -> None:
        logger.info("partition %d: taken", partition)
        owned = _Owned(lease)
        self._owned[partition] = owned
        owned.reader = asyncio.create_task(self._read(partition, owned), name=f"p{partition}")

    def _lose(self, partition: int) -> None:
        """The lease was lost: stop at once (another worker handles the updates in work
        again); not awaited, so the renewal of the other partitions is not held up."""
        owned = self._owned.pop(partition, None)
        if owned is None:
            return
        owned.closing = True
        for task in (owned.leaving, owned.reader, *owned.in_flight):
            if task is not None:
                task.cancel()

    async def _drop(self, partition: int) -> None:
        """Give the partition back (a graceful stop): its work in flight ended first."""
        owned = self._owned.pop(partition, None)
        if owned is None:
            return
        if owned.leaving is not None:
            owned.leaving.cancel()
        await _stop_reading(owned)
        for task in list(owned.in_flight):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(RedisError, OSError):
            await owned.lease.release()
        logger.info("partition %d: given back", partition)

    async def _read(self, partition: int, owned: _Owned) -> None:
        """Finish what the earlier owner left, then read; a lost connection to Redis is
        retried, reading the pending entries again (a read cut off may have been delivered)."""
        delay = FIRST_RETRY_SECONDS
        try:
            await self._queue.prepare(partition)
            for task in await self._take_over(partition):
                owned.in_flight.add(task)
                task.add_done_callback(owned.in_flight.discard)
        except (RedisError, OSError) as exc:
            logger.warning("partition %d: not taken up (%s); taken again later", partition, exc)
            self._owned.pop(partition, None)  # not renewed: it lapses, and is taken again
            return
        except Exception:
            logger.exception("partition %d: taking it over failed", partition)
            self._owned.pop(partition, None)
            return
        while self._reading and not owned.closing:
            try:
                await self._read_pending(partition, owned)
                await self._read_new(partition, owned)
            except (RedisError, OSError) as exc:
                logger.warning(
                    "partition %d: reading failed (%s); again in %.1f s", partition, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)

    async def _read_pending(self, partition: int, owned: _Owned) -> None:
        after = b"0"
        while self._reading and not owned.closing:
            entries = await self._queue.unacknowledged(partition, after)
            if not entries:
                return
            fresh = [entry for entry in entries if entry.entry_id not in owned.ids]
            if fresh:
                logger.info("partition %d: %d updates handled again", partition, len(fresh))
            for entry in fresh:
                self._start(owned, entry)
            after = entries[-1].entry_id

    async def _read_new(self, partition: int, owned: _Owned) -> None:
        while self._reading and not owned.closing:
            while len(owned.in_flight) >= self._max_in_flight:
                await asyncio.wait(set(owned.in_flight), return_when=asyncio.FIRST_COMPLETED)
            room = min(self._max_in_flight - len(owned.in_flight), READ_COUNT)
            for entry in await self._queue.next(partition, room, READ_BLOCK_MS):
                self._start(owned, entry)

    def _start(self, owned: _Owned, entry: Entry) -> None:
        if owned.closing or (
            owned.draining and (self._is_control is None or not self._is_control(entry))
        ):
            return  # left unacknowledged: the next owner reads it first
        task = self._dispatch(entry)
        if task is None:
            self._ack(entry)
            return
        owned.in_flight.add(task)
        owned.ids.add(entry.entry_id)

        def done(task: asyncio.Task[Any]) -> None:
            owned.in_flight.discard(task)
            owned.ids.discard(entry.entry_id)
            if not task.cancelled():  # cut short: handled again by whoever reads it next
                self._ack(entry)

        task.add_done_callback(done)

    def _ack(self, entry: Entry) -> None:
        task = asyncio.create_task(self._acknowledge(entry), name="ack")
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _acknowledge(self, entry: Entry) -> None:
        try:
            await self._queue.acknowledge(entry.partition, entry.entry_id)
        except (RedisError, OSError) as exc:  # handled again later; dedupe drops it then
            logger.warning("update entry %r not acknowledged: %s", entry.entry_id, exc)


async def _stop_reading(owned: _Owned) -> None:
    """End the partition's reading: flagged, cancelled to cut a blocking read short, and
    waited for (a read blocks a second at most, so this ends even if the cancellation was
    swallowed)."""
    owned.closing = True
    if owned.reader is not None:
        owned.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await owned.reader
