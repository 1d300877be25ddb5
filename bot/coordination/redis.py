"""Several processes: Stop and invalidations over Redis pub/sub, FSM state and the pacer's
budgets in Redis.

A Stop is first tried here; when this process does not generate the chat's answer, it is
published, every other process tries it and replies on a list the asking process waits on
(at most `STOP_REPLY_SECONDS`), so the user hears whether something was stopped. Pub/sub is
not durable: a process that is reconnecting misses what was published meanwhile, so once
subscribed again it drops every cached record and rereads the characters (a Stop missed
meanwhile must be pressed again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import orjson
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.coordination.budgets import RedisBudgets
from bot.coordination.ports import (
    Invalidation,
    InvalidationHandler,
    SharedBudgets,
    StopHandler,
)

logger = logging.getLogger(__name__)

STOP_REPLY_SECONDS = 2.0
REPLY_KEPT_MS = 10_000
FIRST_RECONNECT_SECONDS = 0.5
MAX_RECONNECT_SECONDS = 10.0


class RedisCoordination:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        global_per_second: int = 30,
        chat_per_second: float = 1.0,
        chat_burst: int = 3,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._origin = secrets.token_hex(6)
        self._stops_channel = f"{prefix}:stop"
        self._changes_channel = f"{prefix}:invalidate"
        self._storage = RedisStorage(redis, key_builder=DefaultKeyBuilder(prefix=f"{prefix}:fsm"))
        self._budgets = RedisBudgets(
            redis,
            prefix,
            global_per_second=global_per_second,
            chat_per_second=chat_per_second,
            chat_burst=chat_burst,
        )
        self._stop: StopHandler | None = None
        self._changed: InvalidationHandler | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def redis(self) -> Redis:
        return self._redis

    @property
    def fsm_storage(self) -> BaseStorage:
        return self._storage

    @property
    def budgets(self) -> SharedBudgets | None:
        return self._budgets

    def serve_stops(self, handler: StopHandler) -> None:
        self._stop = handler

    def serve_invalidations(self, handler: InvalidationHandler) -> None:
        self._changed = handler

    async def start(self) -> None:
        """Subscribe (waits until the subscription is in place, so nothing later is missed)."""
        await self._redis.ping()  # a wrong URL fails the start, not the first Stop
        self._listener = asyncio.create_task(self._listen(), name="coordination")
        await self._subscribed.wait()

    async def stop_answer(self, chat_id: int, generation_id: int | None = None) -> bool:
        if self._stop is not None and self._stop(chat_id, generation_id):
            return True
        reply = f"{self._prefix}:stop-reply:{secrets.token_hex(8)}"
        request = {"origin": self._origin, "chat": chat_id, "gen": generation_id, "reply": reply}
        try:
            others = int(await self._redis.publish(self._stops_channel, orjson.dumps(request))) - 1
            for _ in range(max(others, 0)):
                answer = await self._redis.blpop([reply], timeout=STOP_REPLY_SECONDS)
                if answer is None:  # a process that does not answer in time: not there
                    return False
                if answer[1] == b"1":
                    return True
        except RedisError as exc:
            logger.warning("could not pass a Stop on to the other processes: %s", exc)
        finally:
            with contextlib.suppress(RedisError):
                await self._redis.delete(reply)
        return False

    def invalidate(self, change: Invalidation) -> None:
        if not change.records and not change.characters:
            return
        message = {
            "origin": self._origin,
            "records": sorted(change.records),
            "characters": change.characters,
        }
        task = asyncio.create_task(self._publish(orjson.dumps(message)), name="invalidate")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)
        await self._redis.aclose()

    async def _publish(self, message: bytes) -> None:
        try:
            await self._redis.publish(self._changes_channel, message)
        except RedisError as exc:
            logger.warning("could not tell the other processes of a change: %s", exc)

    async def _listen(self) -> None:
        delay = FIRST_RECONNECT_SECONDS
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._stops_channel, self._changes_channel)
                if self._subscribed.is_set() and self._changed is not None:
                    # Back after a gap: what was published meanwhile is lost.
                    await self._changed(Invalidation(characters=True, everything=True))
                self._subscribed.set()
                delay = FIRST_RECONNECT_SECONDS
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        await self._on_message(message["channel"], message["data"])
            except (RedisError, OSError) as exc:
                logger.warning("Redis subscription lost (%s); again in %.1f s", exc, delay)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RECONNECT_SECONDS)

    async def _on_message(self, channel: bytes, data: bytes) -> None:
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            logger.warning("a message that is not JSON on %r was skipped", channel)
            return
        if not isinstance(body, dict) or body.get("origin") == self._origin:
            return
        try:
            if channel.decode() == self._stops_channel:
                await self._on_stop(body)
            elif self._changed is not None:
                records = frozenset((str(kind), int(key)) for kind, key in body.get("records", []))
                await self._changed(Invalidation(records, bool(body.get("characters"))))
        except Exception:
            logger.exception("a coordination message on %r failed", channel)

    async def _on_stop(self, body: dict[str, Any]) -> None:
        generation = body.get("gen")
        stopped = self._stop is not None and self._stop(
            int(body["chat"]), int(generation) if generation is not None else None
        )
        reply = str(body["reply"])
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(reply, b"1" if stopped else b"0")
            pipe.pexpire(reply, REPLY_KEPT_MS)
            await pipe.execute()
