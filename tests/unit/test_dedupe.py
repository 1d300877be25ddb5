"""An update counts as handled once its effects are committed; an update that reuses the id
of an earlier one (a new token, a reset Telegram server) is not taken for a redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import TelegramObject, Update

from bot.middlewares.dedupe import DedupeMiddleware, UpdateReceipt
from bot.storage.database import Database, open_database
from bot.storage.migrate import upgrade


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}")
    await upgrade(db)
    yield db
    await db.close()


def update(update_id: int, text: str) -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "text": text,
            },
        }
    )


class Handler:
    def __init__(self, outcome: BaseException | None = None, **receipt: bool) -> None:
        self.seen: list[int] = []
        self._outcome = outcome
        self._receipt = receipt

    async def __call__(self, event: TelegramObject, data: dict[str, Any]) -> None:
        assert isinstance(event, Update)
        self.seen.append(event.update_id)
        receipt: UpdateReceipt = data["update_receipt"]
        for name, value in self._receipt.items():
            setattr(receipt, name, value)
        if self._outcome is not None:
            raise self._outcome


async def test_redeliveries_are_dropped_and_reused_ids_are_not(db: Database) -> None:
    dedupe = DedupeMiddleware(db)
    handler = Handler()
    await dedupe(handler, update(10, "hello"), {})
    await dedupe(handler, update(10, "hello"), {})  # Telegram sent it again
    await dedupe(handler, update(10, "another message"), {})  # the ids started again
    await dedupe(handler, update(10, "another message"), {})
    assert handler.seen == [10, 10]


async def test_an_update_cut_off_by_a_shutdown_is_handled_again(db: Database) -> None:
    dedupe = DedupeMiddleware(db)
    with pytest.raises(asyncio.CancelledError):
        await dedupe(Handler(asyncio.CancelledError()), update(11, "x"), {})
    with pytest.raises(ValueError, match="bug"):  # a poison update is not handled twice
        await dedupe(Handler(ValueError("bug")), update(12, "y"), {})
    handler = Handler()
    await dedupe(handler, update(11, "x"), {})
    await dedupe(handler, update(12, "y"), {})
    assert handler.seen == [11]


async def test_a_deferred_update_is_kept_until_its_turn_is_stored(
    db: Database,
) -> None:
    kept: list[int] = []

    async def keep(event: Update) -> None:
        kept.append(event.update_id)

    dedupe = DedupeMiddleware(db, keep)
    await dedupe(Handler(deferred=True), update(13, "part one"), {})
    assert kept == [13]
    # Not handled yet: a restart replays it.
    assert await db.read(lambda unit: unit.updates.lookup(13)) is None
