"""The services tier: PostgreSQL and Redis on 127.0.0.1. Skips, saying why, without them."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import Connection, text

from bench.cluster import forget_keys
from bot.storage.database import Database, open_database

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if reachable("127.0.0.1", 5432):
        return
    skip = pytest.mark.skip(reason="PostgreSQL is not reachable on 127.0.0.1:5432")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


def _empty(connection: Connection) -> None:
    # Every table, those of earlier schema versions too (a migration may have dropped them
    # from the models): the schema starts empty.
    connection.execute(text("DROP SCHEMA public CASCADE"))
    connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture
async def fresh_db() -> AsyncIterator[Database]:
    """The bot's database on a PostgreSQL database emptied of the bot's tables."""
    db = open_database(POSTGRES_URL)
    await db.run_connection(_empty)
    yield db
    await db.close()


def redis_or_skip() -> None:
    if not reachable("127.0.0.1", 6379):
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own (so tests never share keys); its keys are deleted after."""
    redis_or_skip()
    prefix = f"test-{secrets.token_hex(4)}"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    try:
        await forget_keys(client, prefix)
    finally:
        await client.aclose()


def redis_client() -> Redis:
    return Redis.from_url(REDIS_URL)
