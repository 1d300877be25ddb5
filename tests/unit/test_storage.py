"""Repositories on a real SQLite file migrated by Alembic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.dto import MessageStatus, Role, RouteDecisionRecord, TurnState, UpdateMark
from bot.storage.engine import create_engine, create_session_factory
from bot.storage.migrate import head_revision, upgrade
from bot.storage.uow import UnitOfWorkFactory


@pytest.fixture
async def uow(tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db' / 'bot.sqlite3'}")
    assert await upgrade(engine) == head_revision()
    yield UnitOfWorkFactory(create_session_factory(engine))
    await engine.dispose()


async def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    await upgrade(engine)
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    assert await upgrade(engine) == head_revision()  # idempotent
    await engine.dispose()


async def test_history_skips_failed_and_keeps_order(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.chats.upsert(1, type_="private", title=None)
        conv = await unit.conversations.create(1)
        await unit.messages.add(conv, Role.USER, [{"type": "text", "text": "q1"}])
        await unit.messages.add(conv, Role.ASSISTANT, [], status=MessageStatus.FAILED)
        await unit.messages.add(conv, Role.USER, [{"type": "text", "text": "q2"}])
        await unit.messages.add(
            conv,
            Role.ASSISTANT,
            [{"type": "text", "text": "a2"}],
            model="gpt",
            input_tokens=10,
            output_tokens=3,
            telegram_message_ids=[7, 8],
        )
        await unit.commit()
    async with uow() as unit:
        history = await unit.messages.history(conv, limit=10)
        latest = await unit.messages.history(conv, limit=1)
    assert [m.text for m in history] == ["q1", "q2", "a2"]
    assert history[-1].telegram_message_ids == [7, 8]
    assert (history[-1].model, history[-1].input_tokens, history[-1].output_tokens) == (
        "gpt",
        10,
        3,
    )
    assert [m.text for m in latest] == ["a2"]
    assert history[0].created_at is not None
    assert history[0].created_at.tzinfo is UTC


async def test_without_commit_nothing_is_stored(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.users.upsert(5, username="u", first_name="U", language_code="en")
    async with uow() as unit:
        await unit.chats.upsert(5, type_="private", title=None)
        assert await unit.chats.get(6) is None
        await unit.commit()
    async with uow() as unit:
        assert await unit.chats.get(5) is not None


async def test_the_update_log_keeps_the_inbox_until_handled(uow: UnitOfWorkFactory) -> None:
    raw = {"update_id": 42, "message": {"text": "hi"}}
    first = UpdateMark(42, "aaa")
    async with uow() as unit:
        await unit.updates.receive([(first, raw)])
        await unit.updates.receive([(first, raw)])  # fetched again: nothing changes
        await unit.commit()
    async with uow() as unit:
        assert await unit.updates.lookup(42) == ("received", "aaa")
        assert [(p.update_id, p.raw) for p in await unit.updates.pending()] == [(42, raw)]
        await unit.updates.mark([UpdateMark(42), UpdateMark(43, "ccc")])
        await unit.commit()
    async with uow() as unit:  # handled: out of the inbox, the fingerprint kept
        assert await unit.updates.lookup(42) == ("handled", "aaa")
        assert await unit.updates.lookup(43) == ("handled", "ccc")
        assert await unit.updates.lookup(44) is None
        assert await unit.updates.pending() == []
        # Another update that reuses id 42 (a reset server) is taken into the inbox again.
        await unit.updates.receive([(UpdateMark(42, "bbb"), raw)])
        await unit.commit()
    async with uow() as unit:
        assert await unit.updates.lookup(42) == ("received", "bbb")
        assert await unit.updates.prune(datetime.now(UTC) + timedelta(seconds=1)) == 2
        await unit.commit()
    async with uow() as unit:
        assert await unit.updates.lookup(42) is None


async def test_a_turn_records_its_outbox_until_delivered(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.chats.upsert(8, type_="group", title="G")
        conv = await unit.conversations.create(8)
        question = await unit.messages.add(conv, Role.USER, [{"type": "text", "text": "q"}])
        answer = await unit.messages.add(conv, Role.ASSISTANT, [])
        await unit.turns.open(
            answer.id,
            chat_id=8,
            question_id=question.id,
            user_id=5,
            reply_to=77,
            private=False,
            locale="ru",
            reservation={"usage_id": 3, "user_id": 5, "bucket": "gpt"},
            visible=[100],
        )
        await unit.commit()
    async with uow() as unit:
        [turn] = await unit.turns.unfinished()
        assert (turn.state, turn.visible, turn.reply_to, turn.locale) == (
            TurnState.STREAMING,
            (100,),
            77,
            "ru",
        )
        assert turn.reservation == {"usage_id": 3, "user_id": 5, "bucket": "gpt"}
        await unit.turns.set_visible(answer.id, [100, 101])
        await unit.turns.generated(answer.id, [{"op": "edit"}, {"op": "send"}])
        await unit.turns.delivered(answer.id, [[100], None], done=False)
        await unit.turns.count_resume(answer.id)
        await unit.commit()
    async with uow() as unit:
        [turn] = await unit.turns.unfinished()
        assert turn.state is TurnState.GENERATED
        assert (turn.visible, turn.delivered, turn.resumes) == ((100, 101), ((100,), None), 1)
        assert turn.parts == ({"op": "edit"}, {"op": "send"})
        await unit.turns.delivered(answer.id, [[100], [102, 103]], done=True)
        await unit.commit()
    async with uow() as unit:
        assert await unit.turns.unfinished() == []
        finished = await unit.turns.get(answer.id)
        assert finished is not None
        assert finished.state is TurnState.DELIVERED
        assert await unit.turns.prune(datetime.now(UTC) + timedelta(seconds=1)) == 1
        await unit.commit()
    async with uow() as unit:
        assert await unit.turns.get(answer.id) is None


async def test_deleting_a_chat_cascades_to_its_conversations(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.chats.upsert(9, type_="group", title="G")
        conv = await unit.conversations.create(9)
        await unit.messages.add(conv, Role.USER, [{"type": "text", "text": "x"}])
        await unit.commit()
    async with uow() as unit:
        session = unit._require()
        await session.execute(text("DELETE FROM chats WHERE id = 9"))
        await unit.commit()
    async with uow() as unit:
        assert await unit.messages.history(conv, limit=5) == []


async def test_a_writer_waiting_behind_a_slow_transaction_never_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load a transaction can take longer than SQLite's busy timeout (here 0.1 s); the
    next writer must queue behind it instead of failing with "database is locked"."""
    monkeypatch.setattr("bot.storage.engine.SQLITE_BUSY_TIMEOUT_MS", 100)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'slow.sqlite3'}")
    await upgrade(engine)
    uow = UnitOfWorkFactory(create_session_factory(engine))
    order: list[str] = []

    async def slow_writer() -> None:
        async with uow() as unit:
            await unit.chats.upsert(1, type_="private", title=None)
            await asyncio.sleep(0.4)  # e.g. the event loop starved of CPU
            await unit.commit()
            order.append("slow")

    async def second_writer() -> None:
        await asyncio.sleep(0.05)
        async with uow() as unit:
            await unit.chats.upsert(2, type_="private", title=None)
            await unit.commit()
            order.append("second")

    await asyncio.gather(slow_writer(), second_writer())
    assert order == ["slow", "second"]
    await engine.dispose()


async def test_a_nested_unit_of_work_in_one_task_does_not_deadlock(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as outer:
        await outer.chats.upsert(77, type_="private", title=None)
        await outer.commit()
        async with uow() as inner:
            assert await inner.chats.get(77) is not None


async def test_route_decisions_export_the_judged_messages_with_their_text(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as unit:
        await unit.chats.upsert(1, type_="private", title=None)
        conversation = await unit.conversations.create(1)
        for text_, stage, route in (("zzz", "judge", "writing"), ("hi", "local", "chat")):
            message = await unit.messages.add(
                conversation, Role.USER, [{"type": "text", "text": text_}]
            )
            await unit.decisions.add(
                RouteDecisionRecord(message.id, 1, route, stage, 0.3, 1.5, "gpt")
            )
        await unit.commit()
    async with uow(read_only=True) as unit:
        judged = await unit.decisions.labelled(["judge"])
        both = await unit.decisions.labelled(["judge", "local"])
    assert [(m.text, m.route, m.stage) for m in judged] == [("zzz", "writing", "judge")]
    assert [m.text for m in both] == ["zzz", "hi"]
    assert judged[0].created_at is not None
