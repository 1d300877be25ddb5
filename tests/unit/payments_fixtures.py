"""Shared pieces of the payments tests: a clock the test moves, plans, and a real SQLite file
migrated by Alembic."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import select

from bot.payments.config import ActionLimit, Limit, PlanConfig
from bot.storage.database import Database, open_database
from bot.storage.migrate import current_revision, head_revision, upgrade
from bot.storage.models import LedgerRow


class FakeClock:
    """A clock that stands still until the test moves it; always timezone-aware UTC."""

    def __init__(self, start: datetime) -> None:
        assert start.tzinfo is not None
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


def plan(
    kind: Literal["free", "pass", "subscription"] = "pass",
    *,
    price: int = 0,
    days: int | None = None,
    limits: dict[str, Limit] | None = None,
    actions: dict[str, ActionLimit] | None = None,
    title: dict[str, str] | None = None,
    description: dict[str, str] | None = None,
) -> PlanConfig:
    return PlanConfig(
        title=title or {"en": kind.title()},
        description=description if description is not None else {"en": f"The {kind} plan"},
        kind=kind,
        price_stars=price,
        days=days,
        limits=limits or {},
        actions=actions or {},
    )


async def ledger(db: Database) -> list[LedgerRow]:
    """Every ledger row, oldest first (the repositories have no listing of all rows)."""
    return await db.read(
        lambda unit: list(unit.session.scalars(select(LedgerRow).order_by(LedgerRow.id)).all())
    )


async def migrated_template(directory: Path) -> Path:
    """A database file migrated to head by Alembic, to copy for each test (migrating takes
    about 0.1 s, copying almost nothing)."""
    path = directory / "template.sqlite3"
    db = open_database(f"sqlite+aiosqlite:///{path}")
    try:
        assert await upgrade(db) == head_revision()
    finally:
        await db.close()  # the last connection closed: the WAL is merged into the file
    return path


@asynccontextmanager
async def migrated_database(template: Path, directory: Path) -> AsyncIterator[Database]:
    path = directory / "db" / "bot.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    db = open_database(f"sqlite+aiosqlite:///{path}")
    try:
        assert await current_revision(db) == head_revision()
        yield db
    finally:
        await db.close()
