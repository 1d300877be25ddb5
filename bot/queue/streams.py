"""The partitioned stream of raw updates: appended by ingress, read and acknowledged by workers.

Each partition is one Redis stream with one consumer group. The consumer's name is the
partition's, not the worker's: whoever holds a partition's lease reads as that consumer, so a
new owner finds the entries its dead predecessor read but never acknowledged by reading its
pending list first. An acknowledged entry is deleted too, so streams hold only what is queued
or in work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.queue.partitions import partition_of

StreamReply = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]
GROUP = "workers"
FIELD = b"u"


@dataclass(frozen=True, slots=True)
class Entry:
    partition: int
    entry_id: bytes
    raw: dict[str, Any] | None  # None: not JSON (acknowledged and skipped)
    redelivered: bool


class UpdateQueue:
    def __init__(self, redis: Redis, prefix: str, partitions: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self.partitions = partitions

    def key(self, partition: int) -> str:
        return f"{self._prefix}:updates:{partition}"

    async def append(self, raw: dict[str, Any]) -> int:
        """Append the update to its chat's partition; returns once Redis has it."""
        partition = partition_of(raw, self.partitions)
        await self._redis.xadd(self.key(partition), {FIELD: orjson.dumps(raw)})
        return partition

    async def prepare(self, partition: int) -> None:
        """The partition's stream and consumer group, created if missing."""
        try:
            await self._redis.xgroup_create(self.key(partition), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def unacknowledged(
        self, partition: int, after: bytes = b"0", count: int = 100
    ) -> list[Entry]:
        """Entries read before (by this partition's earlier owner) and not acknowledged,
        from the one after `after`."""
        return await self._read(partition, after, count, block=None, redelivered=True)

    async def next(self, partition: int, count: int, block_ms: int) -> list[Entry]:
        """New entries, waiting up to `block_ms` for the first."""
        return await self._read(partition, ">", count, block=block_ms, redelivered=False)

    async def acknowledge(self, partition: int, entry_id: bytes) -> None:
        key = self.key(partition)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(key, GROUP, entry_id)
            pipe.xdel(key, entry_id)
            await pipe.execute()

    async def depth(self) -> int:
        """Entries queued or in work, over every partition."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition in range(self.partitions):
                pipe.xlen(self.key(partition))
            return sum(int(n) for n in await pipe.execute())

    async def _read(
        self,
        partition: int,
        start: str | bytes,
        count: int,
        *,
        block: int | None,
        redelivered: bool,
    ) -> list[Entry]:
        response = await self._redis.xreadgroup(
            GROUP, f"p{partition}", {self.key(partition): start}, count=count, block=block
        )
        entries = []
        for _stream, items in cast("StreamReply", response or []):
            for entry_id, fields in items:
                if not fields:  # deleted after it was read: nothing left to do
                    await self.acknowledge(partition, entry_id)
                    continue
                entries.append(Entry(partition, entry_id, _decode(fields), redelivered))
        return entries


def _decode(fields: dict[bytes, bytes]) -> dict[str, Any] | None:
    try:
        raw = orjson.loads(fields.get(FIELD, b""))
    except orjson.JSONDecodeError:
        return None
    return raw if isinstance(raw, dict) else None
