"""The services tier: PostgreSQL (and later Redis) on 127.0.0.1. Skips, saying why, without them."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Connection, text

from bot.storage.database import Database, open_database

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
