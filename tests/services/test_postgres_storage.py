"""The same migrations and repositories on PostgreSQL through asyncpg."""

from __future__ import annotations

import pytest

from bot.storage.database import Database
from bot.storage.dto import Chat, MessageStatus, Role, StoredMessage, UpdateMark
from bot.storage.migrate import head_revision, upgrade
from bot.storage.uow import UnitOfWork

pytestmark = pytest.mark.services


async def test_migrations_and_repositories_work_on_postgresql(fresh_db: Database) -> None:
    db = fresh_db
    assert await upgrade(db) == head_revision()
    assert await upgrade(db) == head_revision()

    def store(unit: UnitOfWork) -> int:
        unit.users.upsert(2**40, username="big", first_name="Big", language_code="ru")
        unit.chats.upsert(-100_123_456_789, type_="supergroup", title="G")
        conv = unit.conversations.create(-100_123_456_789)
        unit.chats.set_conversation(-100_123_456_789, conv)
        unit.messages.add(conv, Role.USER, [{"type": "text", "text": "привет"}])
        unit.messages.add(
            conv, Role.ASSISTANT, [{"type": "text", "text": "hi"}], status=MessageStatus.INTERRUPTED
        )
        unit.updates.receive([(UpdateMark(7, "a"), {"update_id": 7})])
        unit.updates.mark([UpdateMark(7)])
        unit.updates.mark([UpdateMark(7)])
        return conv

    conv = await db.write(store)

    def read(unit: UnitOfWork) -> tuple[Chat | None, list[StoredMessage]]:
        chat = unit.chats.get(-100_123_456_789)
        history = unit.messages.history(conv, limit=10)
        assert unit.updates.lookup(7) == ("handled", "a")
        return chat, history

    chat, history = await db.read(read)
    assert chat is not None
    assert chat.current_conversation_id == conv
    assert [(m.text, m.status) for m in history] == [
        ("привет", MessageStatus.COMPLETE),
        ("hi", MessageStatus.INTERRUPTED),
    ]
    assert history[0].created_at is not None
    assert history[0].created_at.utcoffset() is not None
