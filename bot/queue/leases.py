"""Leases in Redis: a key held by one owner, renewed while it lives, lapsing when it dies."""

from __future__ import annotations

from redis.asyncio import Redis

# Renew or release only what this owner still holds (another may have taken it meanwhile).
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    def __init__(self, redis: Redis, key: str, owner: str, seconds: float) -> None:
        self.key = key
        self.owner = owner
        self._redis = redis
        self._ms = int(seconds * 1000)
        self._renew = redis.register_script(RENEW)
        self._release = redis.register_script(RELEASE)

    async def acquire(self) -> bool:
        """Take the lease if nobody holds it."""
        return bool(await self._redis.set(self.key, self.owner, nx=True, px=self._ms))

    async def renew(self) -> bool:
        """Extend it; False when it lapsed (and perhaps another owner holds it now)."""
        return bool(await self._renew(keys=[self.key], args=[self.owner, self._ms]))

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.owner])
