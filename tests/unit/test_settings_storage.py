"""Migration 0002 and the settings, /retry, /history and feedback repositories, on a real SQLite
file migrated by Alembic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from bot.storage.database import Database, open_database
from bot.storage.dto import MessageStatus, Role, StoredMessage
from bot.storage.migrate import alembic_config, head_revision, upgrade
from bot.storage.uow import UnitOfWork


def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    db = open_database(url(tmp_path))
    await upgrade(db)
    yield db
    await db.close()


def text_part(value: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": value}]


async def test_upgrading_from_0001_keeps_chats_and_defaults_the_new_columns(
    tmp_path: Path,
) -> None:
    db = open_database(url(tmp_path))
    assert await upgrade(db, "0001") == "0001"
    await db.run_connection(
        lambda conn: conn.execute(
            text(
                "INSERT INTO chats (id, type, title, temperature, created_at, updated_at) "
                "VALUES (-5, 'group', 'Old', 0.4, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    )
    assert await upgrade(db) == head_revision()
    chat = await db.read(lambda unit: unit.chats.get(-5))
    assert chat is not None
    assert (
        chat.title,
        chat.temperature,
        chat.show_footer,
        chat.short_name,
        chat.routing_enabled,
    ) == ("Old", 0.4, False, None, True)
    await db.close()


async def test_settings_setters_change_only_their_chat(db: Database) -> None:
    def store(unit: UnitOfWork) -> None:
        unit.chats.upsert(1, type_="private", title=None)
        unit.chats.upsert(-2, type_="group", title="G")
        unit.chats.set_system_prompt(1, "Be brief.")
        unit.chats.set_temperature(1, 0.3)
        unit.chats.set_top_p(1, 0.9)
        unit.chats.set_max_output_tokens(1, 512)
        unit.chats.set_show_footer(1, True)
        unit.chats.set_short_name(-2, "Robo")

    await db.write(store)
    mine, other = await db.read(lambda unit: (unit.chats.get(1), unit.chats.get(-2)))
    assert mine is not None
    assert other is not None
    assert (mine.system_prompt, mine.temperature, mine.top_p) == ("Be brief.", 0.3, 0.9)
    assert (mine.max_output_tokens, mine.show_footer, mine.short_name) == (512, True, None)
    assert (other.system_prompt, other.temperature, other.top_p) == (None, None, None)
    assert (other.max_output_tokens, other.show_footer, other.short_name) == (None, False, "Robo")
    # Upserting (as every update does) keeps the settings.
    again = await db.write(lambda unit: unit.chats.upsert(1, type_="private", title=None))
    assert (again.temperature, again.show_footer) == (0.3, True)


async def test_superseded_answers_leave_history_and_retry_sees_the_last_exchange(
    db: Database,
) -> None:
    def start(unit: UnitOfWork) -> tuple[int, StoredMessage, StoredMessage]:
        unit.chats.upsert(1, type_="private", title=None)
        conv = unit.conversations.create(1)
        unit.messages.add(conv, Role.USER, text_part("q1"))
        unit.messages.add(conv, Role.ASSISTANT, text_part("a1"))
        question = unit.messages.add(conv, Role.USER, text_part("q2"))
        first = unit.messages.add(conv, Role.ASSISTANT, text_part("a2 first"))
        return conv, question, first

    conv, question, first = await db.write(start)

    def retry(unit: UnitOfWork) -> StoredMessage:
        last, answers = unit.messages.last_exchange(conv)
        assert last == question
        assert [a.text for a in answers] == ["a2 first"]
        unit.messages.set_status([a.id for a in answers], MessageStatus.SUPERSEDED)
        return unit.messages.add(conv, Role.ASSISTANT, [], status=MessageStatus.INTERRUPTED)

    streaming = await db.write(retry)
    await db.write(
        lambda unit: unit.messages.update_answer(
            streaming.id,
            content=text_part("a2 second"),
            status=MessageStatus.COMPLETE,
            model="gpt",
            input_tokens=12,
            output_tokens=3,
            telegram_message_ids=[40, 41],
            error=None,
        )
    )
    history, transcript, (last, answers) = await db.read(
        lambda unit: (
            unit.messages.history(conv, limit=10),
            unit.messages.transcript(conv),
            unit.messages.last_exchange(conv),
        )
    )
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


async def test_last_exchange_of_an_empty_conversation(db: Database) -> None:
    def work(unit: UnitOfWork) -> None:
        unit.chats.upsert(1, type_="private", title=None)
        conv = unit.conversations.create(1)
        assert unit.messages.last_exchange(conv) == (None, [])

    await db.write(work)


async def test_transcript_has_every_usable_message_in_order(db: Database) -> None:
    def store(unit: UnitOfWork) -> int:
        unit.chats.upsert(1, type_="private", title=None)
        conv = unit.conversations.create(1)
        for i in range(250):  # more than the history cap of the chat service
            unit.messages.add(conv, Role.USER, text_part(f"m{i}"))
        unit.messages.add(conv, Role.ASSISTANT, [], status=MessageStatus.FAILED)
        unit.messages.add(
            conv, Role.ASSISTANT, text_part("partial"), status=MessageStatus.INTERRUPTED
        )
        return conv

    conv = await db.write(store)
    transcript = await db.read(lambda unit: unit.messages.transcript(conv))
    assert [m.text for m in transcript] == [f"m{i}" for i in range(250)] + ["partial"]


async def test_a_vote_is_one_per_user_and_answer_and_can_change(db: Database) -> None:
    def first_votes(unit: UnitOfWork) -> StoredMessage:
        unit.chats.upsert(1, type_="private", title=None)
        conv = unit.conversations.create(1)
        answer = unit.messages.add(conv, Role.ASSISTANT, text_part("a"))
        assert unit.messages.chat_id_of(answer.id) == 1
        assert unit.messages.chat_id_of(answer.id + 100) is None
        assert unit.feedback.set(answer.id, 7, 1) is None
        assert unit.feedback.set(answer.id, 8, -1) is None
        return answer

    answer = await db.write(first_votes)
    assert await db.write(lambda unit: unit.feedback.set(answer.id, 7, -1)) == 1

    def again(unit: UnitOfWork) -> None:
        assert unit.feedback.set(answer.id, 7, -1) == -1
        rows = unit.session.execute(text("SELECT user_id, value FROM feedback ORDER BY user_id"))
        assert [tuple(r) for r in rows] == [(7, -1), (8, -1)]

    await db.write(again)


async def test_feedback_rejects_values_other_than_plus_minus_one(db: Database) -> None:
    def vote_five(unit: UnitOfWork) -> None:
        unit.chats.upsert(1, type_="private", title=None)
        conv = unit.conversations.create(1)
        answer = unit.messages.add(conv, Role.ASSISTANT, text_part("a"))
        unit.feedback.set(answer.id, 7, 5)

    with pytest.raises(IntegrityError):
        await db.write(vote_five)


async def test_feedback_goes_with_its_message(db: Database) -> None:
    def store(unit: UnitOfWork) -> None:
        unit.chats.upsert(1, type_="private", title=None)
        conv = unit.conversations.create(1)
        answer = unit.messages.add(conv, Role.ASSISTANT, text_part("a"))
        unit.feedback.set(answer.id, 7, 1)

    await db.write(store)
    await db.write(lambda unit: unit.session.execute(text("DELETE FROM chats WHERE id = 1")))
    count = await db.read(lambda unit: unit.session.scalar(text("SELECT count(*) FROM feedback")))
    assert count == 0


async def test_0002_and_0003_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    db = open_database(url(tmp_path))
    await upgrade(db)

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
        tables = connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        assert not {"feedback", "route_decisions"} & {row[0] for row in tables}
        columns = connection.execute(text("PRAGMA table_info(chats)"))
        assert not {"show_footer", "routing_enabled"} & {row[1] for row in columns}

    await db.run_connection(downgrade)
    assert await upgrade(db) == head_revision()
    await db.close()
