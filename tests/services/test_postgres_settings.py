"""Migrations 0002 (chat settings, feedback) and 0003 (routing) and their repositories on
PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.dto import MessageStatus, Role, RouteDecisionRecord
from bot.storage.engine import create_session_factory
from bot.storage.migrate import head_revision, upgrade
from bot.storage.uow import UnitOfWorkFactory

pytestmark = pytest.mark.services

GROUP = -100_987_654_321


async def test_settings_feedback_and_superseded_answers_on_postgresql(
    fresh_engine: AsyncEngine,
) -> None:
    assert await upgrade(fresh_engine, "0001") == "0001"
    async with fresh_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO chats (id, type, created_at, updated_at) "
                f"VALUES ({GROUP}, 'supergroup', now(), now())"
            )
        )
    assert await upgrade(fresh_engine) == head_revision()
    uow = UnitOfWorkFactory(create_session_factory(fresh_engine))
    async with uow() as unit:
        chat = await unit.chats.get(GROUP)
        assert chat is not None
        assert (chat.show_footer, chat.short_name, chat.routing_enabled) == (False, None, True)
        await unit.chats.set_show_footer(GROUP, True)
        await unit.chats.set_short_name(GROUP, "Робот")
        await unit.chats.set_temperature(GROUP, 0.7)
        await unit.chats.set_routing(GROUP, False)
        conv = await unit.conversations.create(GROUP)
        question = await unit.messages.add(
            conv, Role.USER, [{"type": "text", "text": "q"}], user_id=2**40
        )
        await unit.decisions.add(
            RouteDecisionRecord(question.id, GROUP, "code", "judge", 0.25, 812.5, "gpt")
        )
        old = await unit.messages.add(conv, Role.ASSISTANT, [{"type": "text", "text": "a1"}])
        await unit.messages.set_status([old.id], MessageStatus.SUPERSEDED)
        new = await unit.messages.add(conv, Role.ASSISTANT, [{"type": "text", "text": "a2"}])
        assert await unit.feedback.set(new.id, 2**40, 1) is None
        assert await unit.feedback.set(new.id, 2**40, -1) == 1
        await unit.commit()
    async with uow() as unit:
        chat = await unit.chats.get(GROUP)
        history = await unit.messages.history(conv, limit=10)
        _, answers = await unit.messages.last_exchange(conv)
        assert await unit.messages.chat_id_of(new.id) == GROUP
        [judged] = await unit.decisions.labelled(["judge"])
        with pytest.raises(IntegrityError):
            await unit.feedback.set(new.id, 1, 2)
    assert chat is not None
    assert (chat.show_footer, chat.short_name, chat.temperature) == (True, "Робот", 0.7)
    assert chat.routing_enabled is False
    assert (judged.text, judged.route, judged.stage) == ("q", "code", "judge")
    assert [m.text for m in history] == ["q", "a2"]
    assert [a.id for a in answers] == [new.id]
