"""Fixtures of the unit tests that need a real database: one SQLite file migrated to head by
Alembic per session, copied for each test (`db`; a module that seeds its own data defines its
own `db` on top of `template`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.database import Database
from tests.unit.payments_fixtures import migrated_database, migrated_template


@pytest.fixture(scope="session")
async def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return await migrated_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
async def db(template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(template, tmp_path) as database:
        yield database
