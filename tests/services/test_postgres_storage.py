"""The same migrations and repositories on PostgreSQL through asyncpg."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.dto import MessageStatus, Role, UpdateMark
from bot.storage.engine import create_session_factory
from bot.storage.migrate import head_revision, upgrade
from bot.storage.uow import UnitOfWorkFactory

pytestmark = pytest.mark.services


async def test_migrations_and_repositories_work_on_postgresql(
    fresh_engine: AsyncEngine,
) -> None:
    engine = fresh_engine
    assert await upgrade(engine) == head_revision()
    assert await upgrade(engine) == head_revision()
    uow = UnitOfWorkFactory(create_session_factory(engine))
    async with uow() as unit:
        await unit.users.upsert(2**40, username="big", first_name="Big", language_code="ru")
        await unit.chats.upsert(-100_123_456_789, type_="supergroup", title="G")
        conv = await unit.conversations.create(-100_123_456_789)
        await unit.chats.set_conversation(-100_123_456_789, conv)
        await unit.messages.add(conv, Role.USER, [{"type": "text", "text": "привет"}])
        await unit.messages.add(
            conv, Role.ASSISTANT, [{"type": "text", "text": "hi"}], status=MessageStatus.INTERRUPTED
        )
        await unit.updates.receive([(UpdateMark(7, "a"), {"update_id": 7})])
        await unit.updates.mark([UpdateMark(7)])
        await unit.updates.mark([UpdateMark(7)])
        await unit.commit()
    async with uow() as unit:
        chat = await unit.chats.get(-100_123_456_789)
        history = await unit.messages.history(conv, limit=10)
        assert await unit.updates.lookup(7) == ("handled", "a")
    assert chat is not None
    assert chat.current_conversation_id == conv
    assert [(m.text, m.status) for m in history] == [
        ("привет", MessageStatus.COMPLETE),
        ("hi", MessageStatus.INTERRUPTED),
    ]
    assert history[0].created_at is not None
    assert history[0].created_at.utcoffset() is not None
