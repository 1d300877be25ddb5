"""The queue's connection and configuration, as the composition root hands them out."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.config import RedisConfig
from bot.queue.leases import Lease
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

    async def close(self) -> None:
        await self.redis.aclose()
