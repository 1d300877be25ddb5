"""Repositories on a real SQLite file migrated by Alembic."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.storage.database import Database, open_database
from bot.storage.dto import MessageStatus, Role, RouteDecisionRecord, TurnState, UpdateMark
from bot.storage.migrate import head_revision, upgrade
from bot.storage.uow import UnitOfWork


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'db' / 'bot.sqlite3'}")
    assert await upgrade(db) == head_revision()
    yield db
    await db.close()


def _pragmas(session: Session) -> tuple[object, object, object]:
    return (
        session.execute(text("PRAGMA journal_mode")).scalar(),
        session.execute(text("PRAGMA foreign_keys")).scalar(),
        session.execute(text("PRAGMA busy_timeout")).scalar(),
    )


async def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    await upgrade(db)
    # The writer's connection and the readers' alike.
    assert await db.write(lambda unit: _pragmas(unit.session)) == ("wal", 1, 5000)
    assert await db.read(lambda unit: _pragmas(unit.session)) == ("wal", 1, 5000)
    assert await upgrade(db) == head_revision()  # idempotent
    await db.close()


async def test_history_skips_failed_and_keeps_order(db: Database) -> None:
    def store(unit: UnitOfWork) -> int:
        unit.chats.upsert(1, type_="private", title=None)
        conv = unit.conversations.create(1)
        unit.messages.add(conv, Role.USER, [{"type": "text", "text": "q1"}])
        unit.messages.add(conv, Role.ASSISTANT, [], status=MessageStatus.FAILED)
        unit.messages.add(conv, Role.USER, [{"type": "text", "text": "q2"}])
        unit.messages.add(
            conv,
            Role.ASSISTANT,
            [{"type": "text", "text": "a2"}],
            model="gpt",
            input_tokens=10,
            output_tokens=3,
            telegram_message_ids=[7, 8],
        )
        return conv

    conv = await db.write(store)
    history, latest = await db.read(
        lambda unit: (
            unit.messages.history(conv, limit=10),
            unit.messages.history(conv, limit=1),
        )
    )
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


async def test_a_write_that_raises_stores_nothing(db: Database) -> None:
    # Was "without commit nothing is stored": there is no commit() any more; the equivalent is
    # that a work function that raises leaves nothing of it stored.
    def fail(unit: UnitOfWork) -> None:
        unit.users.upsert(5, username="u", first_name="U", language_code="en")
        raise RuntimeError("changed its mind")

    with pytest.raises(RuntimeError, match="changed its mind"):
        await db.write(fail)

    def store(unit: UnitOfWork) -> None:
        unit.chats.upsert(5, type_="private", title=None)
        assert unit.chats.get(6) is None

    await db.write(store)
    assert await db.read(lambda unit: unit.users.get(5)) is None
    assert await db.read(lambda unit: unit.chats.get(5)) is not None


async def test_the_update_log_keeps_the_inbox_until_handled(db: Database) -> None:
    raw = {"update_id": 42, "message": {"text": "hi"}}
    first = UpdateMark(42, "aaa")

    def receive_twice(unit: UnitOfWork) -> None:
        unit.updates.receive([(first, raw)])
        unit.updates.receive([(first, raw)])  # fetched again: nothing changes

    await db.write(receive_twice)

    def handle(unit: UnitOfWork) -> None:
        assert unit.updates.lookup(42) == ("received", "aaa")
        assert [(p.update_id, p.raw) for p in unit.updates.pending()] == [(42, raw)]
        unit.updates.mark([UpdateMark(42), UpdateMark(43, "ccc")])

    await db.write(handle)

    def reuse(unit: UnitOfWork) -> None:  # handled: out of the inbox, the fingerprint kept
        assert unit.updates.lookup(42) == ("handled", "aaa")
        assert unit.updates.lookup(43) == ("handled", "ccc")
        assert unit.updates.lookup(44) is None
        assert unit.updates.pending() == []
        # Another update that reuses id 42 (a reset server) is taken into the inbox again.
        unit.updates.receive([(UpdateMark(42, "bbb"), raw)])

    await db.write(reuse)

    def prune(unit: UnitOfWork) -> None:
        assert unit.updates.lookup(42) == ("received", "bbb")
        assert unit.updates.prune(datetime.now(UTC) + timedelta(seconds=1)) == 2

    await db.write(prune)
    assert await db.read(lambda unit: unit.updates.lookup(42)) is None


async def test_a_turn_records_its_outbox_until_delivered(db: Database) -> None:
    def open_turn(unit: UnitOfWork) -> int:
        unit.chats.upsert(8, type_="group", title="G")
        conv = unit.conversations.create(8)
        question = unit.messages.add(conv, Role.USER, [{"type": "text", "text": "q"}])
        answer = unit.messages.add(conv, Role.ASSISTANT, [])
        unit.turns.open(
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
        return answer.id

    answer_id = await db.write(open_turn)

    def progress(unit: UnitOfWork) -> None:
        [turn] = unit.turns.unfinished()
        assert (turn.state, turn.visible, turn.reply_to, turn.locale) == (
            TurnState.STREAMING,
            (100,),
            77,
            "ru",
        )
        assert turn.reservation == {"usage_id": 3, "user_id": 5, "bucket": "gpt"}
        unit.turns.set_visible(answer_id, [100, 101])
        unit.turns.generated(answer_id, [{"op": "edit"}, {"op": "send"}])
        unit.turns.delivered(answer_id, [[100], None], done=False)
        unit.turns.count_resume(answer_id)

    await db.write(progress)

    def deliver(unit: UnitOfWork) -> None:
        [turn] = unit.turns.unfinished()
        assert turn.state is TurnState.GENERATED
        assert (turn.visible, turn.delivered, turn.resumes) == ((100, 101), ((100,), None), 1)
        assert turn.parts == ({"op": "edit"}, {"op": "send"})
        unit.turns.delivered(answer_id, [[100], [102, 103]], done=True)

    await db.write(deliver)
    assert await db.read(lambda unit: unit.turns.last_message_id(8)) == 103
    assert await db.read(lambda unit: unit.turns.last_message_id(9)) == 0

    def prune(unit: UnitOfWork) -> None:
        assert unit.turns.unfinished() == []
        finished = unit.turns.get(answer_id)
        assert finished is not None
        assert finished.state is TurnState.DELIVERED
        assert unit.turns.prune(datetime.now(UTC) + timedelta(seconds=1)) == 1

    await db.write(prune)
    assert await db.read(lambda unit: unit.turns.get(answer_id)) is None


async def test_deleting_a_chat_cascades_to_its_conversations(db: Database) -> None:
    def store(unit: UnitOfWork) -> int:
        unit.chats.upsert(9, type_="group", title="G")
        conv = unit.conversations.create(9)
        unit.messages.add(conv, Role.USER, [{"type": "text", "text": "x"}])
        return conv

    conv = await db.write(store)
    await db.write(lambda unit: unit.session.execute(text("DELETE FROM chats WHERE id = 9")))
    assert await db.read(lambda unit: unit.messages.history(conv, limit=5)) == []


async def test_a_writer_waiting_behind_a_slow_transaction_never_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load a transaction can take longer than SQLite's busy timeout (here 0.1 s); the
    next writer must queue behind it instead of failing with "database is locked"."""
    monkeypatch.setattr("bot.storage.database.SQLITE_BUSY_TIMEOUT_MS", 100)
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'slow.sqlite3'}")
    await upgrade(db)
    order: list[str] = []

    def slow(unit: UnitOfWork) -> None:
        unit.chats.upsert(1, type_="private", title=None)
        time.sleep(0.4)  # e.g. the machine starved of CPU

    async def slow_writer() -> None:
        await db.write(slow)
        order.append("slow")

    async def second_writer() -> None:
        await asyncio.sleep(0.05)
        await db.write(lambda unit: unit.chats.upsert(2, type_="private", title=None))
        order.append("second")

    await asyncio.gather(slow_writer(), second_writer())
    assert order == ["slow", "second"]
    await db.close()


async def test_a_read_while_a_write_is_open_does_not_deadlock(db: Database) -> None:
    """Was "a nested unit of work in one task does not deadlock" (the per-task gate is gone):
    a read that starts while a write transaction is open (the writer holds SQLite's lock)
    runs beside it and sees what was committed before."""
    await db.write(lambda unit: unit.chats.upsert(77, type_="private", title=None))
    started, release = threading.Event(), threading.Event()

    def held_open(unit: UnitOfWork) -> None:
        unit.chats.upsert(78, type_="private", title=None)
        started.set()
        assert release.wait(10)

    writing = asyncio.ensure_future(db.write(held_open))
    try:
        assert await asyncio.to_thread(started.wait, 10)
        seen = await asyncio.wait_for(
            db.read(lambda unit: (unit.chats.get(77), unit.chats.get(78))), 5
        )
    finally:
        release.set()
    await writing
    assert seen[0] is not None
    assert seen[1] is None  # not committed yet when it was read


async def test_route_decisions_export_the_judged_messages_with_their_text(
    db: Database,
) -> None:
    def store(unit: UnitOfWork) -> None:
        unit.chats.upsert(1, type_="private", title=None)
        conversation = unit.conversations.create(1)
        for text_, stage, route in (("zzz", "judge", "writing"), ("hi", "local", "chat")):
            message = unit.messages.add(conversation, Role.USER, [{"type": "text", "text": text_}])
            unit.decisions.add(RouteDecisionRecord(message.id, 1, route, stage, 0.3, 1.5, "gpt"))

    await db.write(store)
    judged, both = await db.read(
        lambda unit: (
            unit.decisions.labelled(["judge"]),
            unit.decisions.labelled(["judge", "local"]),
        )
    )
    assert [(m.text, m.route, m.stage) for m in judged] == [("zzz", "writing", "judge")]
    assert [m.text for m in both] == ["zzz", "hi"]
    assert judged[0].created_at is not None
