"""Migrations 0002 (chat settings, feedback) and 0003 (routing) and their repositories on
PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.storage.database import Database
from bot.storage.dto import (
    Chat,
    LabelledMessage,
    MessageStatus,
    Role,
    RouteDecisionRecord,
    StoredMessage,
)
from bot.storage.migrate import head_revision, upgrade
from bot.storage.uow import UnitOfWork

pytestmark = pytest.mark.services

GROUP = -100_987_654_321


async def test_settings_feedback_and_superseded_answers_on_postgresql(
    fresh_db: Database,
) -> None:
    assert await upgrade(fresh_db, "0001") == "0001"
    await fresh_db.run_connection(
        lambda conn: conn.execute(
            text(
                "INSERT INTO chats (id, type, created_at, updated_at) "
                f"VALUES ({GROUP}, 'supergroup', now(), now())"
            )
        )
    )
    assert await upgrade(fresh_db) == head_revision()

    def store(unit: UnitOfWork) -> tuple[int, StoredMessage]:
        chat = unit.chats.get(GROUP)
        assert chat is not None
        assert (chat.show_footer, chat.short_name, chat.routing_enabled) == (False, None, True)
        unit.chats.set_show_footer(GROUP, True)
        unit.chats.set_short_name(GROUP, "Робот")
        unit.chats.set_temperature(GROUP, 0.7)
        unit.chats.set_routing(GROUP, False)
        conv = unit.conversations.create(GROUP)
        question = unit.messages.add(
            conv, Role.USER, [{"type": "text", "text": "q"}], user_id=2**40
        )
        unit.decisions.add(
            RouteDecisionRecord(question.id, GROUP, "code", "judge", 0.25, 812.5, "gpt")
        )
        old = unit.messages.add(conv, Role.ASSISTANT, [{"type": "text", "text": "a1"}])
        unit.messages.set_status([old.id], MessageStatus.SUPERSEDED)
        new = unit.messages.add(conv, Role.ASSISTANT, [{"type": "text", "text": "a2"}])
        assert unit.feedback.set(new.id, 2**40, 1) is None
        assert unit.feedback.set(new.id, 2**40, -1) == 1
        return conv, new

    conv, new = await fresh_db.write(store)

    def read(
        unit: UnitOfWork,
    ) -> tuple[Chat | None, list[StoredMessage], list[StoredMessage], LabelledMessage]:
        chat = unit.chats.get(GROUP)
        history = unit.messages.history(conv, limit=10)
        _, answers = unit.messages.last_exchange(conv)
        assert unit.messages.chat_id_of(new.id) == GROUP
        [judged] = unit.decisions.labelled(["judge"])
        return chat, history, answers, judged

    chat, history, answers, judged = await fresh_db.read(read)
    with pytest.raises(IntegrityError):  # a vote of 2
        await fresh_db.write(lambda unit: unit.feedback.set(new.id, 1, 2))
    assert chat is not None
    assert (chat.show_footer, chat.short_name, chat.temperature) == (True, "Робот", 0.7)
    assert chat.routing_enabled is False
    assert (judged.text, judged.route, judged.stage) == ("q", "code", "judge")
    assert [m.text for m in history] == ["q", "a2"]
    assert [a.id for a in answers] == [new.id]
