"""Telegram's flood limits shared by every process: token buckets and 429 blocks in Redis.

One Lua script checks the 429 blocks and the budgets and spends them in one atomic step, on
Redis's clock (processes' clocks need not agree). The global budget is a sliding window of
`global_per_second` sends per 1.25 s (a sorted set of send times): a wider margin than one
process's pacer keeps (10 %), because sends spent here by several processes reach Telegram
with more jitter (each process's own scheduling delay), and a send spent early but delayed
lands in the same second as later ones. A chat's budget is a token bucket refilled at
`chat_per_second` (10 % margin) with a burst of `chat_burst`; its unused margin accrues, so
it tolerates that jitter as it is.
Fairness across chats comes from each process's pacer, which queues its final sends for the
global budget in arrival order before it asks here.

When Redis cannot be reached the shared budgets are skipped (each process's own pacer still
keeps Telegram's limits for its own calls) and a warning is logged.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

MARGIN = 0.1
GLOBAL_MARGIN = 0.25
WARN_EVERY_SECONDS = 30.0

# KEYS: global window, global block, [chat bucket, chat block]
# ARGV: global count, global span ms, a unique id, [chat capacity, chat ms per token]
# Returns 0 when spent, else the milliseconds to wait (nothing spent).
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 2, #KEYS, 2 do
  local left = redis.call('PTTL', KEYS[i])
  if left > wait then wait = left end
end
if wait > 0 then return wait end
local count = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local used = redis.call('ZCARD', KEYS[1])
if used >= count then
  local oldest = redis.call('ZRANGE', KEYS[1], used - count, used - count, 'WITHSCORES')
  wait = tonumber(oldest[2]) + span - now + 1
end
local tokens = 0
if #KEYS == 4 then
  local cap = tonumber(ARGV[4])
  local per = tonumber(ARGV[5])
  local state = redis.call('HMGET', KEYS[3], 'tokens', 'stamp')
  tokens = tonumber(state[1]) or cap
  local stamp = tonumber(state[2]) or now
  if now > stamp then tokens = math.min(cap, tokens + (now - stamp) / per) end
  if tokens < 1 then
    local need = math.ceil((1 - tokens) * per)
    if need > wait then wait = need end
  end
end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], span + 1000)
if #KEYS == 4 then
  local cap = tonumber(ARGV[4])
  local per = tonumber(ARGV[5])
  redis.call('HSET', KEYS[3], 'tokens', tokens - 1, 'stamp', now)
  redis.call('PEXPIRE', KEYS[3], math.ceil(cap * per) + 1000)
end
return 0
"""

# KEYS: the block; ARGV: milliseconds. A shorter block never cuts a longer one short.
BLOCK = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], 1, 'PX', ms) end
return 1
"""


class RedisBudgets:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        global_per_second: int,
        chat_per_second: float,
        chat_burst: int,
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:pace"
        self._take = redis.register_script(TAKE)
        self._block = redis.register_script(BLOCK)
        self._global = (global_per_second, 1000 * (1 + GLOBAL_MARGIN))
        self._chat = (chat_burst, 1000 * (1 + MARGIN) / chat_per_second)
        self._warned = 0.0
        self._ids = itertools.count()
        self._origin = secrets.token_hex(6)  # send ids unique across processes

    async def take(self, chat_id: int | None) -> float:
        keys = [f"{self._prefix}:global", f"{self._prefix}:block:global"]
        args: list[float | str] = [*self._global, f"{self._origin}:{next(self._ids)}"]
        if chat_id is not None:
            keys += [f"{self._prefix}:chat:{chat_id}", f"{self._prefix}:block:{chat_id}"]
            args += self._chat
        try:
            wait_ms = await self._take(keys=keys, args=args)
        except RedisError as exc:
            self._warn(exc)
            return 0.0
        return float(wait_ms) / 1000

    async def block(self, chat_id: int | None, seconds: float) -> None:
        scope = "global" if chat_id is None else str(chat_id)
        try:
            await self._block(
                keys=[f"{self._prefix}:block:{scope}"], args=[max(int(seconds * 1000), 1)]
            )
        except RedisError as exc:
            self._warn(exc)

    def _warn(self, exc: RedisError) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_SECONDS:
            self._warned = now
            logger.warning(
                "Redis unreachable (%s): Telegram's limits are kept per process meanwhile", exc
            )
