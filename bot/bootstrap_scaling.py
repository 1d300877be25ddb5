"""The composition root's choices for several processes: coordination in memory or in Redis,
the update queue's connection, and what another process's changes drop here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.characters.catalog import CharacterCatalog
from bot.config import Settings
from bot.coordination import Coordination, Invalidation
from bot.coordination.local import LocalCoordination
from bot.storage.cache import RecordCache

if TYPE_CHECKING:  # redis is imported only when [redis] is configured
    from bot.queue.scaled import Scaled


def coordination_for(settings: Settings) -> Coordination:
    """In this process's memory, or shared with other processes through Redis."""
    if settings.redis is None:
        return LocalCoordination()
    from redis.asyncio import Redis

    from bot.coordination.redis import RedisCoordination

    flood = settings.telegram
    return RedisCoordination(
        Redis.from_url(settings.redis.url),
        settings.redis.key_prefix,
        global_per_second=flood.global_messages_per_second,
        chat_per_second=flood.chat_messages_per_second,
    )


def scaled_for(settings: Settings, opened: list[Callable[[], Awaitable[object]]]) -> Scaled | None:
    """The update queue's connection (None: one process, no queue)."""
    if settings.redis is None:
        return None
    from bot.queue.scaled import Scaled

    scaled = Scaled.connect(settings.redis)
    opened.append(scaled.close)
    return scaled


def invalidator(
    records: RecordCache, catalog: CharacterCatalog
) -> Callable[[Invalidation], Awaitable[None]]:
    """Another process changed records or character files: drop or reread this one's copies."""

    async def invalidate(change: Invalidation) -> None:
        if change.everything:
            records.clear()
        elif change.records:
            records.changed(change.records)
        if change.characters:
            await asyncio.to_thread(catalog.scan)

    return invalidate
