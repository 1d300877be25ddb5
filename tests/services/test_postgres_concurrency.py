"""Quotas under concurrent bot processes: two databases handles (two processes' pools) on one
PostgreSQL reserve the same user's last answers at once; exactly the limit is granted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.payments.catalog import Catalog
from bot.payments.config import Limit, QuotasConfig
from bot.payments.quotas import QuotaExceededError, QuotaService
from bot.storage.database import Database, open_database
from bot.storage.migrate import upgrade
from tests.services.conftest import POSTGRES_URL
from tests.unit.payments_fixtures import plan

pytestmark = pytest.mark.services

USER = 4242
LIMIT = 3


async def test_two_processes_never_grant_more_answers_than_the_limit(fresh_db: Database) -> None:
    await upgrade(fresh_db)
    other = open_database(POSTGRES_URL)  # a second process's own connection pool
    catalog = Catalog(
        {"free": plan("free", limits={"gpt": Limit(messages=LIMIT)})}, QuotasConfig(), "en"
    )
    now = datetime(2026, 12, 1, tzinfo=UTC)
    services = [QuotaService(db, catalog, lambda: now) for db in (fresh_db, other)]
    try:
        results = await asyncio.gather(
            *(services[i % 2].reserve(USER, "gpt") for i in range(12)), return_exceptions=True
        )
        _, [status] = await services[0].status(USER, ["gpt"])
    finally:
        await other.close()
    granted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, QuotaExceededError)]
    assert (len(granted), len(refused)) == (LIMIT, 12 - LIMIT)
    assert status.messages_used == LIMIT
