"""Leases in Redis: a key held by one owner, renewed while it lives, lapsing when it dies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

MAX_CHECK_SECONDS = 1.0


def check_every(lease_seconds: float) -> float:
    """How often leases are renewed and free ones looked for: a third of the lease (so a
    renewal can fail twice before it lapses), at most a second (so a dead holder's lease is
    taken within a second of lapsing)."""
    return min(MAX_CHECK_SECONDS, lease_seconds / 3)


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


@contextlib.asynccontextmanager
async def holding(lease: Lease, renew_every: float) -> AsyncIterator[bool]:
    """Yields whether the lease was taken; while the body runs it is renewed, and the body is
    cancelled if it is lost (another process may hold it now). Given back at the end."""
    if not await lease.acquire():
        yield False
        return
    body = asyncio.current_task()

    async def keep() -> None:
        while True:
            await asyncio.sleep(renew_every)
            try:
                if await lease.renew():
                    continue
            except (RedisError, OSError) as exc:
                logger.warning("lease %s not renewed (%s); tried again", lease.key, exc)
                continue
            logger.warning("lease %s lost: its work stops here", lease.key)
            if body is not None:
                body.cancel()
            return

    keeper = asyncio.create_task(keep(), name=f"lease:{lease.key}")
    try:
        yield True
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        with contextlib.suppress(RedisError, OSError):
            await lease.release()
