"""The broadcast runner on a real migrated SQLite file, with a fake sender at our own port:
everyone reached once, a stop resumed by the next process, blocked users marked inactive, a
failing recipient given up without holding the others, a crash said rather than swallowed."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.broadcasts.content import BroadcastContent
from bot.broadcasts.runner import (
    BroadcastRunner,
    Limiter,
    Pace,
    RecipientBlockedError,
    RecipientFailedError,
)
from bot.broadcasts.service import BroadcastService
from bot.storage.database import Database
from bot.storage.dto import Broadcast, BroadcastState, Recipient, RecipientState
from bot.storage.uow import UnitOfWork
from tests.unit.payments_fixtures import migrated_database

AUTHOR = 1
AUDIENCE = range(100, 160)  # 60 users with a private chat
CONTENT = BroadcastContent("Version 2 is out.")
FAST = Pace(rate=1000.0, progress_interval=0.05)  # 32 sends in flight
WAIT = 10.0  # seconds: a runner that hangs fails the test instead of stalling it


class FakeSender:
    """Records each copy sent (when the call returns, as Telegram's answer would)."""

    def __init__(
        self,
        *,
        blocked: frozenset[int] = frozenset(),
        failing: frozenset[int] = frozenset(),
        crash_on: int | None = None,
        hold_after: int | None = None,
    ) -> None:
        self.sent: list[int] = []
        self.attempts: Counter[int] = Counter()
        self.blocked, self.failing, self.crash_on = blocked, failing, crash_on
        self.hold_after = hold_after  # sends past this many hang (a process about to stop)
        self.others_done = asyncio.Event()
        self.expected_others = 0

    async def send(self, recipient: Recipient, content: BroadcastContent) -> int:
        user = recipient.user_id
        self.attempts[user] += 1
        assert content == CONTENT
        if self.hold_after is not None and len(self.sent) >= self.hold_after:
            await asyncio.Event().wait()
        if user == self.crash_on:
            raise RuntimeError("database is locked")
        if user in self.blocked:
            raise RecipientBlockedError("Forbidden: bot was blocked by the user")
        if user in self.failing:
            # Retried until the budget ends, which comes only after everyone else is served:
            # a runner that waited for this recipient before serving the others would hang.
            await self.others_done.wait()
            raise RecipientFailedError("TelegramServerError: Bad Gateway")
        self.sent.append(user)
        if len(self.sent) >= self.expected_others:
            self.others_done.set()
        return 10_000 + user


class FakeProgress:
    def __init__(self) -> None:
        self.updates: list[dict[RecipientState, int]] = []
        self.report: dict[RecipientState, int] | None = None
        self.crashes: list[int] = []
        self.done = asyncio.Event()

    async def update(self, broadcast: Broadcast, counts: dict[RecipientState, int]) -> None:
        self.updates.append(counts)

    async def finished(
        self, broadcast: Broadcast, counts: dict[RecipientState, int], seconds: float
    ) -> None:
        self.report = counts
        self.done.set()

    async def crashed(self, broadcast: Broadcast) -> None:
        self.crashes.append(broadcast.id)
        self.done.set()


@pytest.fixture
async def db(template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(template, tmp_path) as database:
        await database.write(_users)
        yield database


def _users(unit: UnitOfWork) -> None:
    for user in (AUTHOR, *AUDIENCE):
        unit.users.upsert(user, username=None, first_name="U", language_code="en")
        unit.chats.upsert(user, type_="private", title=None)


def runner(db: Database, sender: FakeSender, progress: FakeProgress) -> BroadcastRunner:
    return BroadcastRunner(db, sender, progress, FAST)


async def confirmed(service: BroadcastService) -> int:
    """A draft confirmed by its operator: sending has started."""
    broadcast_id, _ = await service.draft(AUTHOR, CONTENT)
    assert await service.send(broadcast_id, progress_message_id=None) is not None
    return broadcast_id


async def states(db: Database, broadcast_id: int) -> dict[RecipientState, int]:
    return await db.read(lambda unit: unit.broadcasts.counts(broadcast_id))


async def test_everyone_who_has_not_opted_out_gets_it_once(db: Database) -> None:
    await db.write(lambda unit: unit.users.set_unsubscribed(AUDIENCE[3], True))
    sender, progress = FakeSender(), FakeProgress()
    service = BroadcastService(db, runner(db, sender, progress))
    broadcast_id, audience = await service.draft(AUTHOR, CONTENT)
    assert audience == len(AUDIENCE)  # the author, minus the user who opted out
    assert await service.send(broadcast_id, progress_message_id=None) == audience
    await asyncio.wait_for(service.runner.wait(broadcast_id), WAIT)
    assert sorted(sender.sent) == sorted({AUTHOR, *AUDIENCE} - {AUDIENCE[3]})
    assert max(sender.attempts.values()) == 1
    assert progress.report == {RecipientState.SENT: audience}

    # What a restarted bot looking for an unrecorded answer in a chat skips past.
    def last(unit: UnitOfWork) -> list[int]:
        return [unit.broadcasts.last_message_id(user) for user in (AUDIENCE[0], AUDIENCE[3])]

    assert await db.read(last) == [10_000 + AUDIENCE[0], 0]
    broadcast = await db.read(lambda unit: unit.broadcasts.get(broadcast_id))
    assert broadcast is not None
    assert broadcast.state is BroadcastState.DONE
    # A second press of Send changes nothing.
    assert await service.send(broadcast_id, progress_message_id=None) is None


async def test_a_stopped_broadcast_resumes_where_it_was_and_nobody_gets_it_twice(
    db: Database,
) -> None:
    first = FakeSender(hold_after=25)
    service = BroadcastService(db, runner(db, first, FakeProgress()))
    broadcast_id = await confirmed(service)
    async with asyncio.timeout(WAIT):
        while (await states(db, broadcast_id)).get(RecipientState.SENT, 0) < 25:
            await asyncio.sleep(0.01)
    await service.runner.stop()  # the process stops with sends in flight
    counts = await states(db, broadcast_id)
    assert counts == {RecipientState.SENT: 25, RecipientState.PENDING: len(AUDIENCE) + 1 - 25}

    second, progress = FakeSender(), FakeProgress()
    restarted = runner(db, second, progress)  # the next process
    assert await restarted.resume() == 1
    await asyncio.wait_for(progress.done.wait(), WAIT)
    assert sorted(first.sent + second.sent) == sorted({AUTHOR, *AUDIENCE})
    assert not set(first.sent) & set(second.sent), "someone got the broadcast twice"
    assert progress.report == {RecipientState.SENT: len(AUDIENCE) + 1}
    assert await restarted.resume() == 0  # done: nothing left to resume


async def test_a_user_who_blocked_the_bot_is_marked_inactive_and_skipped_next_time(
    db: Database,
) -> None:
    blocked = AUDIENCE[7]
    sender, progress = FakeSender(blocked=frozenset({blocked})), FakeProgress()
    service = BroadcastService(db, runner(db, sender, progress))
    broadcast_id = await confirmed(service)
    await asyncio.wait_for(progress.done.wait(), WAIT)
    assert progress.report == {RecipientState.SENT: len(AUDIENCE), RecipientState.BLOCKED: 1}
    assert blocked not in sender.sent
    _, audience = await service.draft(AUTHOR, CONTENT)
    assert audience == len(AUDIENCE)  # the author and everyone but the blocked user
    await service.set_blocked(blocked, False)  # Telegram says they unblocked the bot
    _, audience = await service.draft(AUTHOR, CONTENT)
    assert audience == len(AUDIENCE) + 1
    assert broadcast_id


async def test_a_failing_recipient_is_given_up_without_holding_the_others(db: Database) -> None:
    failing = AUDIENCE[0]  # among the first taken
    sender, progress = FakeSender(failing=frozenset({failing})), FakeProgress()
    sender.expected_others = len(AUDIENCE)  # the author and all but the failing one
    service = BroadcastService(db, runner(db, sender, progress))
    broadcast_id = await confirmed(service)
    await asyncio.wait_for(progress.done.wait(), WAIT)
    assert progress.report == {RecipientState.SENT: len(AUDIENCE), RecipientState.FAILED: 1}
    assert sender.attempts[failing] == 1  # given up, not retried by the runner forever
    assert not await db.read(lambda unit: unit.users.is_unsubscribed(failing))
    _, audience = await service.draft(AUTHOR, CONTENT)
    assert audience == len(AUDIENCE) + 1, "a failure is not a block: they stay in the audience"
    assert broadcast_id


async def test_a_crashed_broadcast_is_logged_and_told_then_resumed(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    crash_on = AUDIENCE[10]
    sender, progress = FakeSender(crash_on=crash_on), FakeProgress()
    service = BroadcastService(db, runner(db, sender, progress))
    with caplog.at_level(logging.ERROR, logger="bot.broadcasts.runner"):
        broadcast_id = await confirmed(service)
        await asyncio.wait_for(progress.done.wait(), WAIT)
    assert progress.crashes == [broadcast_id]
    [record] = [r for r in caplog.records if "stopped by an error" in r.getMessage()]
    assert record.exc_info is not None
    assert "database is locked" in str(record.exc_info[1])
    assert progress.report is None
    counts = await states(db, broadcast_id)
    assert counts.get(RecipientState.PENDING, 0) >= 1  # left for the next start

    again, after = FakeSender(), FakeProgress()
    assert await runner(db, again, after).resume() == 1
    await asyncio.wait_for(after.done.wait(), WAIT)
    assert after.report == {RecipientState.SENT: len(AUDIENCE) + 1}
    assert crash_on in again.sent


async def test_the_limiter_spaces_sends_at_the_rate() -> None:
    now = 100.0
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    limiter = Limiter(4.0, clock=lambda: now, sleep=sleep)
    for _ in range(5):
        await limiter.wait()
    assert slept == [0.25, 0.5, 0.75, 1.0]  # the first goes at once, then every 1/4 s
    assert Pace(rate=15.0, progress_interval=5).workers == 8
    assert Pace(rate=500.0, progress_interval=5).workers == 32
