"""Nothing lost: answers survive Telegram's errors, a crash, a restart and a shutdown.

Faults are injected into the real processes: the sandbox answers Bot API calls with 5xx or
lets them time out; the bot process is killed (SIGKILL) or stopped (SIGTERM) in the middle of
a streamed answer and started again on the same database and sandbox.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.sandbox.llm import ScriptedLLM
from tests.e2e.conftest import OPENAI_KEY, REQUEST_TIMEOUT, Stack, make_stack
from tests.e2e.test_groups import bot_username, make_group

pytestmark = pytest.mark.e2e

RESUMED = "I restarted while answering; this is the complete answer."
RESTARTING = "I'm restarting right now."
THINKING = "✍️ Thinking…"


def slow(llm: ScriptedLLM, token_delay_ms: float = 120) -> None:
    """About 4 s of streaming (the echo in 2-character chunks): long enough to cut."""
    llm.set_knobs(ttft_ms=200, token_delay_ms=token_delay_ms, chunk_chars=2)


def echo(text: str) -> str:
    """What the scripted model answers to `text` (the GPT test model)."""
    return f'This is the sandbox model "gpt-test". You wrote: {text}'


@pytest.fixture(scope="session", params=["polling", "webhook"])
async def reliability_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    llm: ScriptedLLM,
) -> AsyncIterator[Stack]:
    """A stack these tests may kill and restart; plans on (a quota is charged once)."""
    tmp = tmp_path_factory.mktemp(f"reliability-{request.param}")
    async for stack in make_stack(tmp, llm, request.param, payments=True):
        yield stack


@pytest.fixture
async def running(reliability_stack: Stack) -> AsyncIterator[Stack]:
    """The stack, with its bot process running again after the test if the test stopped it."""
    yield reliability_stack
    if reliability_stack.bot.process.returncode is not None:
        await reliability_stack.restart()


async def until(
    check: Callable[[], Awaitable[Any]],
    timeout: float,  # noqa: ASYNC109  (a deadline for the polling below)
    what: str,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.1)


async def visible(stack: Stack, chat_id: int) -> list[dict[str, Any]]:
    """The bot's messages in the chat that are still there."""
    return await stack.telegram.bot_messages(chat_id)


async def answered(stack: Stack, chat_id: int, *parts: str, count: int = 1) -> bool:
    messages = await visible(stack, chat_id)
    text = "\n".join(m["text"] or "" for m in messages)
    return len(messages) == count and all(part in text for part in parts)


async def wait_answer(stack: Stack, chat_id: int, *parts: str, timeout: float = 60) -> None:  # noqa: ASYNC109
    """Until the chat shows exactly one bot message with all of `parts`."""
    try:
        await until(lambda: answered(stack, chat_id, *parts), timeout, f"chat {chat_id}")
    except TimeoutError:
        shown = [(m["text"], m["deleted"]) for m in await stack.telegram.transcript(chat_id)]
        raise AssertionError(f"chat {chat_id} shows {shown}, not one answer with {parts}") from None


def quota_rows(stack: Stack, user_id: int) -> list[tuple[str, int]]:
    database = stack.bot.log_path.parent / "bot.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT bucket, settled FROM quota_usage WHERE user_id = ?", (user_id,)
        ).fetchall()
    return [(str(bucket), int(settled)) for bucket, settled in rows]


async def streaming(stack: Stack, chat_id: int, private: bool) -> bool:
    """Part of the answer is shown: a draft with text, or an edited placeholder."""
    if private:
        return any(d.get("text") for d in await stack.telegram.drafts(chat_id))
    return any(m["text"] not in ("", THINKING) for m in await visible(stack, chat_id))


# --- Telegram's errors ----------------------------------------------------------------------

FAULTS: list[tuple[int | str, int]] = [
    (500, 1),
    (502, 5),
    ("timeout", 1),
    ("timeout", 5),
    (500, 5),
    (502, 1),
]


@pytest.mark.parametrize("reliability_stack", ["polling"], indirect=True)
async def test_final_messages_survive_server_errors_and_timeouts(
    running: Stack, user_id: int
) -> None:
    """A private answer's final sendMessage, a group's final edit and its placeholder fail
    (5xx or no reply in time), once or several times in a row: the complete answer arrives,
    each part once. (Delivery does not depend on how updates arrive: polling only.)"""
    stack = running
    name = await bot_username(stack)
    long_text = " ".join(f"Sentence {i} of a long answer." for i in range(260))  # 2 messages
    cases: list[Awaitable[None]] = []
    for index, (status, times) in enumerate(FAULTS):
        user = user_id * 100 + 10 * index  # clear of the ids other tests get
        cases += [
            _private_case(stack, user, status, times, long_text),
            _group_case(stack, name, user + 1, "editmessagetext", status, times),
            _group_case(stack, name, user + 2, "sendmessage", status, times),
        ]
    await asyncio.gather(*cases)


async def _fault(stack: Stack, method: str, chat_id: int, status: int | str, times: int) -> None:
    if status == "timeout":  # no reply before the bot's time-out; the call is not carried out
        await stack.telegram.fault(
            method, status=504, times=times, chat_id=chat_id, delay=REQUEST_TIMEOUT + 1.5
        )
    else:
        assert isinstance(status, int)
        await stack.telegram.fault(method, status=status, times=times, chat_id=chat_id)


async def _private_case(
    stack: Stack, user: int, status: int | str, times: int, long_text: str
) -> None:
    question = f"long {user}"
    stack.llm.script(long_text, match=question)
    await _fault(stack, "sendmessage", user, status, times)
    await stack.telegram.send(user, question)
    await until(lambda: answered(stack, user, count=2), 120, f"private answer for {status}x{times}")
    messages = await visible(stack, user)
    sent = "".join(m["text"] for m in messages)
    assert "".join(sent.split()) == "".join(long_text.split())  # every part, each once


async def _group_case(
    stack: Stack, name: str, user: int, method: str, status: int | str, times: int
) -> None:
    chat = await make_group(stack, admin=user, member=user)
    question = f"@{name} group {method} {user}"
    await _fault(stack, method, chat["id"], status, times)
    await stack.telegram.send(user, question, chat=chat)
    expected = echo(f"group {method} {user}")
    await until(lambda: answered(stack, chat["id"], expected), 120, f"group {method} {status}")
    [message] = await visible(stack, chat["id"])
    assert message["text"] == expected  # not "Thinking…", not twice


# --- crashes, restarts and shutdowns --------------------------------------------------------


async def test_an_answer_cut_off_by_a_crash_arrives_after_the_restart(
    running: Stack, user_id: int
) -> None:
    """SIGKILL in the middle of a private and a group answer; after the restart both arrive
    complete (the group's partial placeholder replaced) without the users writing again, and
    each user's quota is charged once."""
    stack = running
    slow(stack.llm)
    group = await make_group(stack, admin=user_id + 1, member=user_id + 1)
    name = await bot_username(stack)
    await stack.telegram.send(user_id, "private crash question")
    await stack.telegram.send(user_id + 1, f"@{name} group crash question", chat=group)
    await until(lambda: streaming(stack, user_id, True), 30, "the private answer streams")
    await until(lambda: streaming(stack, group["id"], False), 30, "the group answer streams")
    await stack.bot.kill()
    await stack.restart()
    await wait_answer(stack, user_id, echo("private crash question"), RESUMED)
    await wait_answer(stack, group["id"], echo("group crash question"), RESUMED)
    for user in (user_id, user_id + 1):
        assert quota_rows(stack, user) == [("gpt", 1)]


@pytest.mark.parametrize("reliability_stack", ["polling"], indirect=True)
async def test_a_crash_after_telegram_took_the_answer_does_not_send_it_twice(
    running: Stack, user_id: int
) -> None:
    """SIGKILL after Telegram took the final message but before the bot heard back (the
    sandbox holds its reply), so its id was never recorded: after the restart the bot finds
    the message it had sent instead of sending it again. (Finding it does not depend on how
    updates arrive: polling only.)"""
    stack = running
    question = "taken just before the crash"
    await stack.telegram.send(user_id, "first, to have a message before")
    await wait_answer(stack, user_id, echo("first, to have a message before"))
    await stack.telegram.fault(
        "sendMessage", status=500, chat_id=user_id, delay=REQUEST_TIMEOUT * 4, after=True
    )
    await stack.telegram.send(user_id, question)
    await until(
        lambda: answered(stack, user_id, echo(question), count=2), 30, "Telegram has the answer"
    )
    await stack.bot.kill()
    await stack.restart()
    await stack.telegram.send(user_id, "and after it")  # answered once the recovery is done
    await until(lambda: _last_is(stack, user_id, echo("and after it")), 30, "the next answer")
    texts = [m["text"] for m in await visible(stack, user_id)]
    assert texts == [echo(t) for t in ("first, to have a message before", question, "and after it")]
    assert "part 0 had been delivered" in stack.bot.log()


@pytest.mark.parametrize("reliability_stack", ["polling"], indirect=True)
async def test_an_answer_cut_before_telegram_had_it_never_replaces_an_earlier_one(
    running: Stack, user_id: int
) -> None:
    """Two questions back to back, so the first answer comes after the second question; the
    second answer's message is cut by a crash before Telegram has it (the sandbox holds the
    call). After the restart the second answer is sent, and the first stays as it was.
    (Polling only, as above.)"""
    stack = running
    slow(stack.llm)
    await stack.telegram.send(user_id, "first of two")
    await stack.telegram.send(user_id, "second of two")
    await until(lambda: answered(stack, user_id, echo("first of two")), 30, "the first answer")
    await stack.telegram.fault(
        "sendMessage", status=500, chat_id=user_id, delay=REQUEST_TIMEOUT * 4
    )

    async def held() -> bool:
        calls = await stack.telegram.calls("sendMessage", user_id)
        return any(call.get("status") is None for call in calls)

    await until(held, 30, "the second answer is on its way")
    await stack.bot.kill()
    await stack.restart()
    await until(lambda: _last_is(stack, user_id, echo("second of two")), 30, "the second")
    texts = [m["text"] for m in await visible(stack, user_id)]
    assert texts == [echo("first of two"), echo("second of two")]


async def _last_is(stack: Stack, chat_id: int, text: str) -> bool:
    messages = await visible(stack, chat_id)
    return bool(messages) and messages[-1]["text"] == text


async def test_a_message_received_just_before_a_crash_is_answered(
    running: Stack, user_id: int
) -> None:
    """SIGKILL while a split paste waits for its other parts: the bot had taken the update
    (polling confirmed it, the webhook answered 200) but stored no turn yet. The inbox keeps
    it; after the restart it is answered."""
    stack = running
    paste = "word " * 700  # long enough to wait for a further part (3000 characters)

    async def taken() -> bool:
        info = await stack.telegram.info()
        return int(info["webhook"]["pending_update_count"]) == 0

    await stack.telegram.send(user_id, paste)
    await until(taken, 10, "the bot takes the update")
    await stack.bot.kill()
    await stack.restart()
    await wait_answer(stack, user_id, "You wrote: word word")


async def test_sigterm_lets_an_answer_in_flight_finish(running: Stack, user_id: int) -> None:
    stack = running
    slow(stack.llm)
    await stack.telegram.send(user_id, "question before a deploy")
    await until(lambda: streaming(stack, user_id, True), 30, "the answer streams")
    started = time.monotonic()
    stack.bot.process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(stack.bot.process.wait(), 40)
    assert stack.bot.process.returncode == 0
    [message] = await visible(stack, user_id)
    assert message["text"] == echo("question before a deploy")  # complete, not resumed
    assert time.monotonic() - started < 20
    assert "waiting up to 20.0 s for 1 updates in flight" in stack.bot.log()


@pytest.mark.parametrize("reliability_stack", ["polling"], indirect=True)
async def test_after_a_short_grace_period_the_answer_is_marked_then_resumed(
    running: Stack, user_id: int
) -> None:
    """SIGTERM with a grace period shorter than the answer: the user is told, and the answer
    replaces the notice after the restart. (Marking and resuming do not depend on how updates
    arrive: polling only; a webhook bot's SIGTERM is tested above.)"""
    stack = running
    await stack.restart(extra="[reliability]\nshutdown_grace_seconds = 1")
    try:
        slow(stack.llm, token_delay_ms=220)  # about 7 s
        await stack.telegram.send(user_id, "question during a restart")
        await until(lambda: streaming(stack, user_id, True), 30, "the answer streams")
        stack.bot.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(stack.bot.process.wait(), 30)
        [notice] = await visible(stack, user_id)
        assert RESTARTING in notice["text"]
    finally:
        await stack.restart(extra="")
    await wait_answer(stack, user_id, echo("question during a restart"), RESUMED)
    [answer] = await visible(stack, user_id)  # the notice made way for the answer
    assert RESTARTING not in answer["text"]
    assert quota_rows(stack, user_id) == [("gpt", 1)]


async def test_a_provider_error_echoing_the_key_is_logged_without_it(
    running: Stack, user_id: int
) -> None:
    stack = running
    stack.llm.add_fault(
        "status", status=401, message=f"Incorrect API key provided: {OPENAI_KEY}", times=3
    )
    await stack.telegram.send(user_id, "is my key safe?")
    [reply] = await stack.telegram.wait_bot_messages(user_id, 1, timeout=30)
    assert "key was refused" in reply["text"]
    log = stack.bot.log()
    assert OPENAI_KEY not in log
    assert "Incorrect API key provided: [redacted]" in log
