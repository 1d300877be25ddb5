"""/stats on PostgreSQL: the same aggregates and report as on SQLite (the unit tests' data and
expectations, run against a migrated PostgreSQL database), and every statement on messages
answerable from the stats index alone (an index-only scan)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, event

import tests.unit.test_stats as on_sqlite
from bot.stats.service import StatsService
from bot.storage.database import AsyncDatabase, Database
from bot.storage.migrate import head_revision, upgrade
from tests.unit.payments_fixtures import FakeClock

pytestmark = pytest.mark.services


async def migrated(database: Database) -> Database:
    assert await upgrade(database) == head_revision()
    await on_sqlite.seed(database)
    return database


async def test_the_stats_aggregates_agree_with_sqlite(fresh_db: Database) -> None:
    db = await migrated(fresh_db)
    await on_sqlite.test_the_repository_counts_only_the_window(db)
    await on_sqlite.test_the_report_prices_each_model_and_provider(db)
    await on_sqlite.test_the_report_reads_as_text(db)


async def test_every_query_on_messages_can_read_the_stats_index_alone(
    fresh_db: Database,
) -> None:
    db = await migrated(fresh_db)
    assert isinstance(db, AsyncDatabase)
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "messages.role" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await StatsService(db, on_sqlite.SPECS, FakeClock(on_sqlite.NOW)).report(30)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    assert len(statements) == 7  # active users, models, errors, latency, pictures, daily x2

    def explain(connection: Connection) -> list[str]:
        # A few rows make a sequential scan cheapest; what matters is that the index can
        # answer each statement without the rows, as it does on a big table.
        connection.exec_driver_sql("SET enable_seqscan = off")
        connection.exec_driver_sql("SET enable_bitmapscan = off")
        plans = []
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            plans.append("\n".join(str(row[0]) for row in rows))
        return plans

    for plan in await db.run_connection(explain):
        assert "Index Only Scan using ix_messages_stats on messages" in plan, plan
