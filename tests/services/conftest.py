"""The services tier: PostgreSQL (and later Redis) on 127.0.0.1. Skips, saying why, without them."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import create_engine

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


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


@pytest.fixture
async def fresh_engine() -> AsyncIterator[AsyncEngine]:
    """An engine on a PostgreSQL database emptied of the bot's tables."""
    engine = create_engine(POSTGRES_URL)
    async with engine.begin() as conn:
        # Every table, those of earlier schema versions too (a migration may have dropped
        # them from the models): the schema starts empty.
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    yield engine
    await engine.dispose()
