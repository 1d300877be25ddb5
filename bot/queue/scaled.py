"""The queue's connection and configuration, as the composition root hands them out."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.config import RedisConfig
from bot.queue.leases import Lease, holding
from bot.queue.streams import UpdateQueue


@dataclass
class Scaled:
    redis: Redis
    queue: UpdateQueue
    config: RedisConfig

    @classmethod
    def connect(cls, config: RedisConfig) -> Scaled:
        redis = Redis.from_url(config.url)
        return cls(redis, UpdateQueue(redis, config.key_prefix, config.partitions), config)

    def poller_lease(self, owner: str) -> Lease:
        key = f"{self.config.key_prefix}:lease:poller"
        return Lease(self.redis, key, owner, self.config.lease_seconds)

    def broadcast_guard(self, owner: str) -> Callable[[int], AbstractAsyncContextManager[bool]]:
        """One process sends a broadcast at a time, under a lease (see BroadcastRunner)."""
        prefix, seconds = self.config.key_prefix, self.config.lease_seconds

        def guard(broadcast_id: int) -> AbstractAsyncContextManager[bool]:
            lease = Lease(self.redis, f"{prefix}:lease:broadcast:{broadcast_id}", owner, seconds)
            return holding(lease, seconds / 3)

        return guard

    async def close(self) -> None:
        await self.redis.aclose()
