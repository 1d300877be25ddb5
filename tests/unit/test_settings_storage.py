"""Migration 0002 and the settings, /retry, /history and feedback repositories, on a real SQLite
file migrated by Alembic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from bot.storage.dto import MessageStatus, Role
from bot.storage.engine import create_engine, create_session_factory
from bot.storage.migrate import alembic_config, head_revision, upgrade
from bot.storage.uow import UnitOfWorkFactory


def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"


@pytest.fixture
async def uow(tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    engine = create_engine(url(tmp_path))
    await upgrade(engine)
    yield UnitOfWorkFactory(create_session_factory(engine))
    await engine.dispose()


def text_part(value: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": value}]


async def test_upgrading_from_0001_keeps_chats_and_defaults_the_new_columns(
    tmp_path: Path,
) -> None:
    engine = create_engine(url(tmp_path))
    assert await upgrade(engine, "0001") == "0001"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO chats (id, type, title, temperature, created_at, updated_at) "
                "VALUES (-5, 'group', 'Old', 0.4, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    assert await upgrade(engine) == head_revision()
    async with UnitOfWorkFactory(create_session_factory(engine))() as unit:
        chat = await unit.chats.get(-5)
    assert chat is not None
    assert (
        chat.title,
        chat.temperature,
        chat.show_footer,
        chat.short_name,
        chat.routing_enabled,
    ) == ("Old", 0.4, False, None, True)
    await engine.dispose()


async def test_settings_setters_change_only_their_chat(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.chats.upsert(1, type_="private", title=None)
        await unit.chats.upsert(-2, type_="group", title="G")
        await unit.chats.set_system_prompt(1, "Be brief.")
        await unit.chats.set_temperature(1, 0.3)
        await unit.chats.set_top_p(1, 0.9)
        await unit.chats.set_max_output_tokens(1, 512)
        await unit.chats.set_show_footer(1, True)
        await unit.chats.set_short_name(-2, "Robo")
        await unit.commit()
    async with uow() as unit:
        mine = await unit.chats.get(1)
        other = await unit.chats.get(-2)
    assert mine is not None
    assert other is not None
    assert (mine.system_prompt, mine.temperature, mine.top_p) == ("Be brief.", 0.3, 0.9)
    assert (mine.max_output_tokens, mine.show_footer, mine.short_name) == (512, True, None)
    assert (other.system_prompt, other.temperature, other.top_p) == (None, None, None)
    assert (other.max_output_tokens, other.show_footer, other.short_name) == (None, False, "Robo")
    # Upserting (as every update does) keeps the settings.
    async with uow() as unit:
        again = await unit.chats.upsert(1, type_="private", title=None)
    assert (again.temperature, again.show_footer) == (0.3, True)


async def test_superseded_answers_leave_history_and_retry_sees_the_last_exchange(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as unit:
        await unit.chats.upsert(1, type_="private", title=None)
        conv = await unit.conversations.create(1)
        await unit.messages.add(conv, Role.USER, text_part("q1"))
        await unit.messages.add(conv, Role.ASSISTANT, text_part("a1"))
        question = await unit.messages.add(conv, Role.USER, text_part("q2"))
        first = await unit.messages.add(conv, Role.ASSISTANT, text_part("a2 first"))
        await unit.commit()
    async with uow() as unit:
        last, answers = await unit.messages.last_exchange(conv)
        assert last == question
        assert [a.text for a in answers] == ["a2 first"]
        await unit.messages.set_status([a.id for a in answers], MessageStatus.SUPERSEDED)
        streaming = await unit.messages.add(
            conv, Role.ASSISTANT, [], status=MessageStatus.INTERRUPTED
        )
        await unit.commit()
    async with uow() as unit:
        await unit.messages.update_answer(
            streaming.id,
            content=text_part("a2 second"),
            status=MessageStatus.COMPLETE,
            model="gpt",
            input_tokens=12,
            output_tokens=3,
            telegram_message_ids=[40, 41],
            error=None,
        )
        await unit.commit()
    async with uow() as unit:
        history = await unit.messages.history(conv, limit=10)
        transcript = await unit.messages.transcript(conv)
        last, answers = await unit.messages.last_exchange(conv)
    assert [m.text for m in history] == ["q1", "a1", "q2", "a2 second"]
    assert history[-1].telegram_message_ids == [40, 41]
    assert (history[-1].status, history[-1].model, history[-1].output_tokens) == (
        MessageStatus.COMPLETE,
        "gpt",
        3,
    )
    assert transcript == history
    assert last == question
    assert [a.id for a in answers] == [streaming.id]
    assert first.id not in [m.id for m in transcript]


async def test_last_exchange_of_an_empty_conversation(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.chats.upsert(1, type_="private", title=None)
        conv = await unit.conversations.create(1)
        assert await unit.messages.last_exchange(conv) == (None, [])


async def test_transcript_has_every_usable_message_in_order(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.chats.upsert(1, type_="private", title=None)
        conv = await unit.conversations.create(1)
        for i in range(250):  # more than the history cap of the chat service
            await unit.messages.add(conv, Role.USER, text_part(f"m{i}"))
        await unit.messages.add(conv, Role.ASSISTANT, [], status=MessageStatus.FAILED)
        await unit.messages.add(
            conv, Role.ASSISTANT, text_part("partial"), status=MessageStatus.INTERRUPTED
        )
        await unit.commit()
    async with uow() as unit:
        transcript = await unit.messages.transcript(conv)
    assert [m.text for m in transcript] == [f"m{i}" for i in range(250)] + ["partial"]


async def test_a_vote_is_one_per_user_and_answer_and_can_change(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.chats.upsert(1, type_="private", title=None)
        conv = await unit.conversations.create(1)
        answer = await unit.messages.add(conv, Role.ASSISTANT, text_part("a"))
        assert await unit.messages.chat_id_of(answer.id) == 1
        assert await unit.messages.chat_id_of(answer.id + 100) is None
        assert await unit.feedback.set(answer.id, 7, 1) is None
        assert await unit.feedback.set(answer.id, 8, -1) is None
        await unit.commit()
    async with uow() as unit:
        assert await unit.feedback.set(answer.id, 7, -1) == 1
        await unit.commit()
    async with uow() as unit:
        assert await unit.feedback.set(answer.id, 7, -1) == -1
        session = unit._require()
        rows = await session.execute(text("SELECT user_id, value FROM feedback ORDER BY user_id"))
        assert [tuple(r) for r in rows] == [(7, -1), (8, -1)]


async def test_feedback_rejects_values_other_than_plus_minus_one(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.chats.upsert(1, type_="private", title=None)
        conv = await unit.conversations.create(1)
        answer = await unit.messages.add(conv, Role.ASSISTANT, text_part("a"))
        with pytest.raises(IntegrityError):
            await unit.feedback.set(answer.id, 7, 5)


async def test_feedback_goes_with_its_message(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.chats.upsert(1, type_="private", title=None)
        conv = await unit.conversations.create(1)
        answer = await unit.messages.add(conv, Role.ASSISTANT, text_part("a"))
        await unit.feedback.set(answer.id, 7, 1)
        await unit.commit()
    async with uow() as unit:
        await unit._require().execute(text("DELETE FROM chats WHERE id = 1"))
        await unit.commit()
    async with uow() as unit:
        count = await unit._require().scalar(text("SELECT count(*) FROM feedback"))
    assert count == 0


async def test_0002_and_0003_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    engine = create_engine(url(tmp_path))
    await upgrade(engine)

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")

    async with engine.begin() as conn:
        await conn.run_sync(downgrade)
        tables = await conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        assert not {"feedback", "route_decisions"} & {row[0] for row in tables}
        columns = await conn.execute(text("PRAGMA table_info(chats)"))
        assert not {"show_footer", "routing_enabled"} & {row[1] for row in columns}
    assert await upgrade(engine) == head_revision()
    await engine.dispose()
