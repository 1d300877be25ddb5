"""The pacer keeps Bot API calls under Telegram's limits, drops previews, never final answers."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageText,
    GetMe,
    GetUpdates,
    SendChatAction,
    SendMessage,
    SendMessageDraft,
    SendRichMessageDraft,
)
from aiogram.methods.base import Response, TelegramMethod, TelegramType
from aiogram.types import InputRichMessage

from bot.sandbox.telegram import SandboxClient, TelegramSandbox
from bot.telegram.pacing import Pacer, PacingDropped

START = 1000.0
# The default budgets plus the default 0.1 s jitter margin: seconds between paced calls.
GAP = 1.0 + 0.1
DRAFT_GAP = 0.25 + 0.1
BOT = Bot("42:TEST")


class FakeTime:
    """A virtual clock: ``sleep`` parks the caller until ``run`` advances time to its deadline."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), self._seq, future))
        self._seq += 1
        await future

    async def run(self, *calls: Awaitable[Any]) -> list[Any]:
        """Run ``calls`` concurrently in virtual time; results, or the exceptions raised."""
        tasks = [asyncio.ensure_future(call) for call in calls]
        while True:
            for _ in range(50):  # let every task run until it sleeps or finishes
                await asyncio.sleep(0)
            if all(task.done() for task in tasks):
                return list(await asyncio.gather(*tasks, return_exceptions=True))
            assert self._sleepers, "tasks are stuck without sleeping: a deadlock"
            deadline = self._sleepers[0][0]
            self.now = max(self.now, deadline)
            while self._sleepers and self._sleepers[0][0] <= deadline:
                heapq.heappop(self._sleepers)[2].set_result(None)


@dataclass
class Call:
    at: float
    method: str
    chat_id: Any
    text: str | None
    accepted: bool


class FakeTelegram:
    """Stands in for aiogram's ``make_request``: records calls; answers 429 when told to."""

    def __init__(self, fake_time: FakeTime) -> None:
        self.time = fake_time
        self.calls: list[Call] = []
        self.retry_after: dict[Any, list[int]] = {}  # chat_id -> retry_after of next 429s

    async def __call__(
        self, bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        chat_id = getattr(method, "chat_id", None)
        text = getattr(method, "text", None)
        pending = self.retry_after.get(chat_id)
        call = Call(self.time.now, method.__api_method__, chat_id, text, not pending)
        self.calls.append(call)
        if pending:
            seconds = pending.pop(0)
            raise TelegramRetryAfter(
                method=method,
                message=f"Too Many Requests: retry after {seconds}",
                retry_after=seconds,
            )
        return cast("Response[TelegramType]", True)

    def times(self, chat_id: Any = None, method: str | None = None) -> list[float]:
        return [
            call.at - START
            for call in self.calls
            if (chat_id is None or call.chat_id == chat_id)
            and (method is None or call.method == method)
        ]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def telegram(fake_time: FakeTime) -> FakeTelegram:
    return FakeTelegram(fake_time)


@pytest.fixture
def pacer(fake_time: FakeTime) -> Pacer:
    return Pacer(clock=fake_time.clock, sleep=fake_time.sleep)


def send(
    pacer: Pacer, telegram: FakeTelegram, method: TelegramMethod[Any]
) -> Coroutine[Any, Any, Any]:
    return pacer(telegram, BOT, method)


def message(chat_id: int | str, text: str = "x") -> SendMessage:
    return SendMessage(chat_id=chat_id, text=text)


def draft(chat_id: int, text: str = "…") -> SendMessageDraft:
    return SendMessageDraft(chat_id=chat_id, draft_id=7, text=text)


async def droppable(
    pacer: Pacer, telegram: FakeTelegram, method: TelegramMethod[Any], max_wait: float = 0.0
) -> Any:
    with pacer.droppable(max_wait=max_wait):
        return await pacer(telegram, BOT, method)


def max_in_window(times: list[float], span: float) -> int:
    """The most calls that fell inside any half-open window of ``span`` seconds."""
    return max(sum(1 for t in times if start <= t < start + span) for start in times)


async def test_a_burst_to_one_chat_is_spread_to_about_one_per_second_in_order(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(*(send(pacer, telegram, message(1, f"m{i}")) for i in range(7)))

    times = telegram.times(1)
    assert times[:3] == [0.0, 0.0, 0.0]  # the burst of 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(times[2:])]
    assert gaps == [pytest.approx(GAP)] * 4  # about one a second
    assert [call.text for call in telegram.calls] == [f"m{i}" for i in range(7)]  # FIFO
    assert len(fake_time.sleeps) <= 8  # waiting is sleeping, not polling


async def test_groups_get_at_most_twenty_messages_a_minute(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    group, private = -100123, 5
    await fake_time.run(
        *(send(pacer, telegram, message(group)) for _ in range(23)),
        *(send(pacer, telegram, message(private)) for _ in range(23)),
    )

    group_times = telegram.times(group)
    assert len(group_times) == 23
    assert max_in_window(group_times, 60.0) == 20
    assert group_times[20] >= group_times[0] + 60.0
    assert telegram.times(private)[-1] < 25.0  # a private chat is not held to 20 a minute


async def test_at_most_thirty_messages_a_second_across_chats(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(*(send(pacer, telegram, message(chat)) for chat in range(1, 46)))

    times = sorted(telegram.times())
    assert len(times) == 45
    assert times.count(0.0) == 30
    assert max_in_window(times, 1.0) == 30
    assert times[-1] == pytest.approx(GAP)  # the other 15 go once the second is over


async def test_username_targets_skip_chat_pacing_but_count_globally(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(*(send(pacer, telegram, message("@news")) for _ in range(31)))

    times = telegram.times("@news")
    assert times.count(0.0) == 30  # no per-chat burst of 3
    assert times[30] == pytest.approx(GAP)  # but the global 30/s holds
    assert pacer.tracked_chats == 0


async def test_drafts_have_their_own_budget_and_do_not_delay_messages(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(
        *(send(pacer, telegram, draft(1)) for _ in range(6)),
        *(send(pacer, telegram, message(1)) for _ in range(3)),
        *(send(pacer, telegram, message(chat)) for chat in range(2, 29)),
    )

    assert telegram.times(1, "sendMessage") == [0.0, 0.0, 0.0]
    assert len([t for t in telegram.times() if t == 0.0]) == 30 + 2  # drafts are not global
    drafts = telegram.times(1, "sendMessageDraft")
    assert drafts[:2] == [0.0, 0.0]  # burst of 2, then about 4 a second
    assert [b - a for a, b in itertools.pairwise(drafts[1:])] == [pytest.approx(DRAFT_GAP)] * 4


async def test_rich_drafts_spend_the_draft_budget_not_the_message_budget(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    rich = SendRichMessageDraft(chat_id=1, draft_id=1, rich_message=InputRichMessage(html="…"))
    await fake_time.run(*(send(pacer, telegram, message(1)) for _ in range(3)))
    await fake_time.run(*(send(pacer, telegram, rich) for _ in range(3)))

    assert telegram.times(1, "sendRichMessageDraft") == [0.0, 0.0, pytest.approx(DRAFT_GAP)]


async def test_droppable_call_without_budget_is_dropped_and_spends_nothing(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(*(send(pacer, telegram, message(1)) for _ in range(3)))
    edit = EditMessageText(chat_id=1, message_id=10, text="partial")

    [dropped] = await fake_time.run(droppable(pacer, telegram, edit))
    [final] = await fake_time.run(send(pacer, telegram, message(1, "final")))

    assert isinstance(dropped, PacingDropped)
    assert final is True
    assert [call.method for call in telegram.calls] == ["sendMessage"] * 4  # the edit never left
    assert telegram.times(1)[-1] == pytest.approx(GAP)  # the final took the first free slot
    assert pacer.stats.dropped == 1


async def test_droppable_call_waits_up_to_max_wait(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(*(send(pacer, telegram, message(1)) for _ in range(3)))
    edit = EditMessageText(chat_id=1, message_id=10, text="partial")

    [short] = await fake_time.run(droppable(pacer, telegram, edit, max_wait=0.5))
    [patient] = await fake_time.run(droppable(pacer, telegram, edit, max_wait=2.0))

    assert isinstance(short, PacingDropped)
    assert patient is True
    assert telegram.times(1, "editMessageText") == [pytest.approx(GAP)]


async def test_a_waiting_draft_is_dropped_at_once_when_its_answer_is_ready(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(*(send(pacer, telegram, draft(1)) for _ in range(2)))  # burst spent
    ready = asyncio.Event()

    async def waiting_draft() -> Any:
        with pacer.droppable(max_wait=5.0, abandon=ready):
            return await pacer(telegram, BOT, draft(1, "partial"))

    async def answer_ready() -> None:
        await asyncio.sleep(0)  # the draft is waiting for its budget by now
        ready.set()

    dropped, _ = await fake_time.run(waiting_draft(), answer_ready())

    assert isinstance(dropped, PacingDropped)
    assert fake_time.now == START  # dropped at once, not after its wait of DRAFT_GAP
    assert telegram.times(1, "sendMessageDraft") == [0.0, 0.0]


async def test_a_raised_chat_limit_is_not_capped_by_the_margin(fake_time: FakeTime) -> None:
    pacer = Pacer(chat_rate=100.0, chat_burst=1, clock=fake_time.clock, sleep=fake_time.sleep)
    telegram = FakeTelegram(fake_time)
    await fake_time.run(*(send(pacer, telegram, message(1)) for _ in range(11)))
    assert telegram.times(1)[-1] == pytest.approx(10 * 0.01 * 1.1)  # 10 % of 10 ms, not 0.1 s


async def test_a_waiting_final_call_makes_that_chats_drafts_drop(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(*(send(pacer, telegram, message(1)) for _ in range(3)))

    async def preview_while_final_waits() -> list[Any]:
        await asyncio.sleep(0)  # the final call is queued by now
        return list(
            await asyncio.gather(
                droppable(pacer, telegram, draft(1), max_wait=5.0),
                droppable(pacer, telegram, draft(2)),
                return_exceptions=True,
            )
        )

    final, previews = await fake_time.run(
        send(pacer, telegram, message(1, "answer")), preview_while_final_waits()
    )

    assert final is True
    assert isinstance(previews[0], PacingDropped)  # draft budget was full, yet it gave way
    assert previews[1] is True  # another chat's preview is unaffected
    assert telegram.times(1, "sendMessageDraft") == []


async def test_a_final_call_held_by_the_global_budget_drops_other_chats_previews(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    async def previews() -> list[Any]:
        await asyncio.sleep(0)
        edit = EditMessageText(chat_id=99, message_id=1, text="partial")
        return list(
            await asyncio.gather(
                droppable(pacer, telegram, edit, max_wait=5.0),
                droppable(pacer, telegram, draft(99)),
                return_exceptions=True,
            )
        )

    *finals, (edit, preview) = await fake_time.run(
        *(send(pacer, telegram, message(chat)) for chat in range(1, 32)), previews()
    )

    assert all(result is True for result in finals)
    assert isinstance(edit, PacingDropped)
    assert preview is True  # drafts do not spend the global budget


async def test_after_a_429_the_chat_is_left_alone_for_retry_after_then_the_final_succeeds(
    pacer: Pacer,
    telegram: FakeTelegram,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram.retry_after[1] = [3]

    async def later(delay: float, call: Awaitable[Any]) -> Any:
        await fake_time.sleep(delay)
        return await call

    with caplog.at_level(logging.WARNING, logger="bot.telegram.pacing"):
        results = await fake_time.run(
            send(pacer, telegram, message(1, "answer")),
            later(1.0, droppable(pacer, telegram, draft(1), max_wait=1.0)),
            later(1.5, send(pacer, telegram, DeleteMessage(chat_id=1, message_id=3))),
            later(2.0, send(pacer, telegram, message(2, "other chat"))),
        )

    answer, preview, deleted, other = results
    assert (answer, deleted, other) == (True, True, True)
    assert isinstance(preview, PacingDropped)
    chat_1 = telegram.times(1)
    assert chat_1[0] == 0.0
    assert not telegram.calls[0].accepted
    assert all(t >= 3.0 for t in chat_1[1:]), chat_1  # nothing reached chat 1 while blocked
    assert next(c.text for c in telegram.calls if c.chat_id == 1 and c.accepted) == "answer"
    assert telegram.times(2) == [2.0]  # other chats are not blocked
    assert pacer.stats.retry_after_received == 1
    assert any("chat 1" in r.getMessage() and "3 s" in r.getMessage() for r in caplog.records)


async def test_a_retried_final_call_keeps_its_place_ahead_of_later_ones(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(*(send(pacer, telegram, message(1)) for _ in range(3)))
    telegram.retry_after[1] = [3]

    await fake_time.run(
        send(pacer, telegram, message(1, "part 1")), send(pacer, telegram, message(1, "part 2"))
    )

    accepted = [(c.text, c.at - START) for c in telegram.calls[3:] if c.accepted]
    assert [text for text, _ in accepted] == ["part 1", "part 2"]  # the answer reads in order
    assert accepted[0][1] == pytest.approx(GAP + 3.0)


async def test_a_final_call_gives_up_after_five_429s(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    telegram.retry_after[1] = [2] * 10

    [result] = await fake_time.run(send(pacer, telegram, message(1)))

    assert isinstance(result, TelegramRetryAfter)
    assert telegram.times(1) == [0.0, 2.0, 4.0, 6.0, 8.0]


async def test_a_droppable_call_answered_429_is_dropped_and_blocks_the_chat(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    telegram.retry_after[1] = [4]

    [preview] = await fake_time.run(droppable(pacer, telegram, draft(1), max_wait=10.0))
    [answer] = await fake_time.run(send(pacer, telegram, message(1)))

    assert isinstance(preview, PacingDropped)
    assert answer is True
    assert telegram.times(1) == [0.0, 4.0]
    assert pacer.stats.dropped == 1


async def test_free_methods_pass_at_once_even_when_budgets_are_spent(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    await fake_time.run(*(send(pacer, telegram, message(chat)) for chat in range(1, 31)))
    free: list[TelegramMethod[Any]] = [
        GetMe(),
        GetUpdates(offset=1, timeout=30),
        AnswerCallbackQuery(callback_query_id="q"),
        DeleteMessage(chat_id=1, message_id=1),
        SendChatAction(chat_id=1, action="typing"),
    ]

    results = await fake_time.run(*(send(pacer, telegram, method) for method in free))

    assert results == [True] * 5
    assert fake_time.now == START  # nothing waited
    assert fake_time.sleeps == []


async def test_chat_action_is_skipped_while_its_chat_is_blocked(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    telegram.retry_after[1] = [5]
    typing = SendChatAction(chat_id=1, action="typing")
    await fake_time.run(droppable(pacer, telegram, draft(1)))

    during = await fake_time.run(send(pacer, telegram, typing))
    fake_time.now += 5.0
    after = await fake_time.run(send(pacer, telegram, typing))

    assert during == after == [True]
    assert telegram.times(1, "sendChatAction") == [5.0]  # only the call after the block
    assert pacer.stats.actions_skipped == 1


async def test_idle_chat_state_is_evicted_but_blocked_chats_are_kept(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    telegram.retry_after[-5] = [600]
    await fake_time.run(
        droppable(pacer, telegram, message(-5)),
        *(send(pacer, telegram, message(chat)) for chat in range(1, 21)),
    )
    assert pacer.tracked_chats == 21

    fake_time.now += 61.0
    await fake_time.run(send(pacer, telegram, message(1000)))

    assert pacer.tracked_chats == 2  # the new chat and the one still blocked
    [blocked] = await fake_time.run(droppable(pacer, telegram, message(-5), max_wait=1.0))
    assert isinstance(blocked, PacingDropped)


async def test_stats_count_sent_dropped_429s_and_waiting(
    pacer: Pacer, telegram: FakeTelegram, fake_time: FakeTime
) -> None:
    telegram.retry_after[2] = [3]
    await fake_time.run(
        *(send(pacer, telegram, message(1)) for _ in range(5)),
        send(pacer, telegram, message(2)),
    )
    fake_time.now += 2.1  # chat 1's bucket refills to ~2.6 tokens
    await fake_time.run(*(droppable(pacer, telegram, message(1)) for _ in range(4)))

    stats = pacer.stats
    assert stats.sent == 5 + 1 + 2
    assert stats.dropped == 2
    assert stats.retry_after_received == 1
    # Messages 4 and 5 waited one and two gaps; the 429'd message waited 3 s for its retry.
    assert stats.waited_seconds_total == pytest.approx(GAP + 2 * GAP + 3.0)
    assert len(telegram.calls) == 5 + 2 + 2  # chat 2 twice (429, retry), 2 droppables


class RecordingSession(BaseSession):
    """A real aiogram session whose transport records instead of sending."""

    def __init__(self) -> None:
        super().__init__()
        self.methods: list[str] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109  (aiogram's BaseSession signature)
    ) -> TelegramType:
        self.methods.append(method.__api_method__)
        return cast("TelegramType", True)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109  (aiogram's BaseSession signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        return None


async def test_droppable_flows_through_bot_methods_into_the_middleware(
    pacer: Pacer, fake_time: FakeTime
) -> None:
    session = RecordingSession()
    bot = Bot("42:TEST", session=session)
    bot.session.middleware(pacer)

    async def stream() -> None:
        for _ in range(3):
            await bot.send_message_draft(chat_id=1, draft_id=1, text="…")

    async def previews() -> list[bool]:
        sent: list[bool] = []
        for _ in range(3):
            with pacer.droppable():
                try:
                    sent.append(await bot.send_message_draft(chat_id=2, draft_id=1, text="…"))
                except PacingDropped:
                    sent.append(False)
        return sent

    _, sent = await fake_time.run(stream(), previews())

    assert sent == [True, True, False]  # burst of 2, the third had no budget and no patience
    assert session.methods.count("sendMessageDraft") == 5  # chat 1's third call waited
    assert fake_time.now > START  # ... which is how we know it was final outside the block


async def test_real_sandbox_sees_no_429_with_the_pacer_and_some_without() -> None:
    token = "123456:pacer-test-token"
    sandbox = TelegramSandbox(token, enforce_limits=True)
    # The sandbox allows 1 message/s per chat; 4/s on both sides keeps this test short.
    sandbox.core.limits.chat_rate = 4.0
    url = await sandbox.start()
    paced = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    plain = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    pacer = Pacer(chat_rate=4.0)
    paced.session.middleware(pacer)
    try:
        async with SandboxClient(url) as client:
            await client.send(801, "hi")
            await client.send(802, "hi")
            started = time.monotonic()
            await asyncio.gather(*(paced.send_message(801, f"paced {i}") for i in range(12)))
            elapsed = time.monotonic() - started
            unpaced = await asyncio.gather(
                *(plain.send_message(802, f"plain {i}") for i in range(12)),
                return_exceptions=True,
            )
            rejected = [r["chat_id"] for r in (await client.limits())["rejections"]]
            delivered = await client.bot_messages(801)
    finally:
        await paced.session.close()
        await plain.session.close()
        await sandbox.stop()

    assert [m["text"] for m in delivered] == [f"paced {i}" for i in range(12)]
    assert 801 not in rejected
    assert pacer.stats.retry_after_received == 0
    assert 2.4 < elapsed < 4.5  # 3 at once, then 9 at ~0.275 s (0.25 s and 10 %)
    assert 802 in rejected  # without the pacer the same burst is refused
    assert any(isinstance(r, TelegramRetryAfter) for r in unpaced)


async def test_group_progress_edits_leave_room_for_the_final_message() -> None:
    fake_time = FakeTime()
    telegram = FakeTelegram(fake_time)
    pacer = Pacer(clock=fake_time.clock, sleep=fake_time.sleep, chat_rate=100.0, chat_burst=100)
    group = -100123
    outcomes = []
    for _ in range(30):
        try:
            with pacer.droppable():
                await pacer(telegram, BOT, EditMessageText(chat_id=group, message_id=1, text="x"))
            outcomes.append("sent")
        except PacingDropped:
            outcomes.append("dropped")
    assert (outcomes.count("sent"), outcomes.count("dropped")) == (16, 14)  # 4 of 20 kept
    started = fake_time.now
    await fake_time.run(pacer(telegram, BOT, SendMessage(chat_id=group, text="final")))
    assert fake_time.now == started  # the final message did not wait for the window
    assert telegram.calls[-1].text == "final"


class LastFirstTime(FakeTime):
    """A virtual clock whose sleepers due at the same moment wake newest first: asyncio
    orders timers by their time only, so a pacer must not count on ties waking in order."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), -self._seq, future))
        self._seq += 1
        await future


async def test_the_global_budget_serves_chats_in_arrival_order() -> None:
    """90 final messages to 90 chats at once, three seconds' worth of the global budget:
    they leave in the order they arrived, however the waiting calls are woken."""
    fake_time = LastFirstTime()
    telegram = FakeTelegram(fake_time)
    pacer = Pacer(clock=fake_time.clock, sleep=fake_time.sleep)
    calls = [send(pacer, telegram, SendMessage(chat_id=chat, text=str(chat))) for chat in range(90)]
    started = [asyncio.ensure_future(call) for call in calls]  # arrival order: 0, 1, 2, ...
    await fake_time.run(*started)
    assert [int(call.text or -1) for call in telegram.calls] == list(range(90))
    assert telegram.times()[-1] < 3 * (1.0 + 0.1) + 0.01  # 30 a second, with the margin
