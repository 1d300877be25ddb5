"""Final messages are retried through Telegram's bad moments, stored parts are sent exactly as
planned, and an edit that cannot be made becomes a new message. The real aiogram session
talks to the sandbox over loopback; faults are the sandbox's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendMessage
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.chat.ports import DeliveryError
from bot.sandbox.telegram import SandboxClient, TelegramSandbox
from bot.telegram.formatting import Chunk, render_plain
from bot.telegram.outbox import PartSender, delete_part, edit_part, keep_part, send_part
from bot.telegram.pacing import DeliveryRetry, Pacer, retry_for
from bot.telegram.sender import MessageSender
from bot.telegram.views.final import AnswerMessages
from tests.unit.test_telegram_sandbox import png

TOKEN = "4242:delivery-test"
USER = 5001
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x"}


@dataclass
class Telegram:
    bot: Bot
    users: SandboxClient
    retry: DeliveryRetry
    pacer: Pacer
    parts: PartSender


@pytest.fixture
async def telegram() -> AsyncIterator[Telegram]:
    sandbox = TelegramSandbox(TOKEN)
    url = await sandbox.start()
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(url), timeout=1.0))
    retry = DeliveryRetry(deadline=5.0, short_deadline=0.5, base_delay=0.01, max_delay=0.05)
    pacer = Pacer(chat_rate=1000.0, chat_burst=1000, global_per_second=1000)
    bot.session.middleware(retry)
    bot.session.middleware(pacer)
    users = SandboxClient(url)
    await users.send(USER, "hi")
    try:
        yield Telegram(
            bot, users, retry, pacer, PartSender(bot, MessageSender(bot), edit_budget=0.3)
        )
    finally:
        await users.close()
        await bot.session.close()
        await sandbox.stop()


async def texts(telegram: Telegram) -> list[str]:
    return [m["text"] for m in await telegram.users.bot_messages(USER)]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_final_message_is_retried_through_server_errors(
    telegram: Telegram, status: int
) -> None:
    await telegram.users.fault("sendMessage", status=status, times=3, chat_id=USER)
    await telegram.bot.send_message(USER, "the answer")
    assert await texts(telegram) == ["the answer"]
    assert telegram.retry.retries == 3


async def test_a_call_that_times_out_is_retried_without_a_duplicate(telegram: Telegram) -> None:
    await telegram.users.fault("sendMessage", status=504, times=2, chat_id=USER, delay=1.5)
    await telegram.bot.send_message(USER, "late answer")
    assert await texts(telegram) == ["late answer"]
    assert telegram.retry.retries == 2


async def test_retries_end_at_the_deadline(telegram: Telegram) -> None:
    await telegram.users.fault("sendMessage", status=500, times=10_000, chat_id=USER)
    with pytest.raises(TelegramServerError), retry_for(0.2):
        await telegram.bot.send_message(USER, "never")
    assert await texts(telegram) == []
    assert 1 <= telegram.retry.retries < 100


async def test_refusals_and_progress_updates_are_not_retried(telegram: Telegram) -> None:
    await telegram.users.fault("sendMessage", status=400, description="Bad Request: no", times=1)
    with pytest.raises(TelegramBadRequest):
        await telegram.bot.send_message(USER, "refused")
    await telegram.users.fault("sendMessageDraft", status=500, times=1)
    with pytest.raises(TelegramServerError), telegram.pacer.droppable():
        await telegram.bot.send_message_draft(chat_id=USER, draft_id=7, text="…")
    assert telegram.retry.retries == 0


async def test_a_429_the_pacer_gave_up_on_is_waited_out() -> None:
    request = SendMessage(chat_id=1, text="x")
    attempts = 0

    sent = Response[Message](ok=True, result=Message.model_validate(MESSAGE))

    async def telegram(bot: Bot, method: TelegramMethod[Message]) -> Response[Message]:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise TelegramRetryAfter(method, "Too Many Requests: retry after 7", 7)
        return sent

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    result = await DeliveryRetry(sleep=sleep)(telegram, Bot("1:x"), request)
    assert result is sent
    assert slept == [7.0, 7.0]


async def test_stored_parts_are_sent_as_planned(telegram: Telegram) -> None:
    bot = telegram.bot
    placeholder = (await bot.send_message(USER, "✍️ Thinking…")).message_id
    stale = (await bot.send_message(USER, "half an answer")).message_id
    button = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="👍", callback_data="up")]]
    )
    parts = [
        edit_part(placeholder, Chunk("part one")),
        send_part(Chunk("part two"), markup=button),
        keep_part(42),
        delete_part(stale),
    ]
    ids = [await telegram.parts(USER, part) for part in parts]
    assert ids[0] == [placeholder]
    assert ids[2] == [42]
    assert ids[3] == []
    messages = await telegram.users.bot_messages(USER)
    assert [m["text"] for m in messages] == ["part one", "part two"]
    assert messages[1]["reply_markup"] is not None


async def test_an_edit_that_cannot_be_made_becomes_a_new_message(telegram: Telegram) -> None:
    bot = telegram.bot
    placeholder = (await bot.send_message(USER, "✍️ Thinking…")).message_id
    await bot.delete_message(USER, placeholder)  # gone: "message to edit not found"
    [new] = await telegram.parts(USER, edit_part(placeholder, Chunk("the answer"), reply_to=None))
    assert new != placeholder
    assert await texts(telegram) == ["the answer"]
    # An edit that keeps failing (5xx past its budget) also becomes a new message, and the
    # placeholder it could not edit is deleted.
    stuck = (await bot.send_message(USER, "✍️ Thinking…")).message_id
    await telegram.users.fault("editMessageText", status=502, times=1000, chat_id=USER)
    [other] = await telegram.parts(USER, edit_part(stuck, Chunk("second answer")))
    assert other != stuck
    assert await texts(telegram) == ["the answer", "second answer"]


async def test_a_part_telegram_refuses_for_good_is_a_permanent_delivery_error(
    telegram: Telegram,
) -> None:
    await telegram.users.fault("sendMessage", status=403, description="Forbidden: blocked")
    with pytest.raises(DeliveryError) as refused:
        await telegram.parts(USER, send_part(Chunk("hello")))
    assert refused.value.permanent
    await telegram.users.fault("sendMessage", status=500, times=10_000, chat_id=USER)
    with pytest.raises(DeliveryError) as failing, retry_for(0.1):
        await telegram.parts(USER, send_part(Chunk("hello")))
    assert not failing.value.permanent


def chunk(text: str) -> Chunk:
    [only] = render_plain(text)
    return only


def test_the_final_parts_reuse_what_streaming_showed() -> None:
    messages = AnswerMessages(1, reply_to=9)
    assert messages.parts([chunk("a"), chunk("b")], None) == [
        send_part(chunk("a"), reply_to=9),
        send_part(chunk("b")),
    ]


async def test_messages_shown_while_streaming_are_kept_edited_or_deleted() -> None:
    recorded: list[list[int]] = []

    async def journal(ids: Sequence[int]) -> None:
        recorded.append(list(ids))

    messages = AnswerMessages(1, reply_to=9, stale=[70])
    await messages.bind(journal, recorded=[70])
    assert recorded == []  # nothing new to record
    await messages.add([100], chunk("part one"), None)
    await messages.add([101], chunk("part tw"), None)
    await messages.add([102], chunk("✍️"), None)
    assert recorded[-1] == [70, 100, 101, 102]
    parts = messages.parts([chunk("part one"), chunk("part two")], None)
    assert parts == [
        keep_part(100),  # already shows its final text
        edit_part(101, chunk("part two")),  # shows something else
        delete_part(102),  # not needed any more
        delete_part(70),  # left by an earlier attempt
    ]


async def test_a_part_sent_before_a_crash_is_found_among_the_next_messages(
    telegram: Telegram,
) -> None:
    """The user's first message is 1: the bot's earlier answer, the part in question (taken by
    Telegram, its id never recorded), the user's messages and a picture of the bot's
    meanwhile follow it."""
    button = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="👍", callback_data="rate")]]
    )
    earlier = send_part(Chunk("the earlier answer", []), reply_to=1)
    part = send_part(render_plain("the lost answer")[0], reply_to=1, markup=button)
    [earlier_id] = await telegram.parts(USER, earlier)
    assert await telegram.parts.find_sent(USER, part, earlier_id) is None  # nothing after it
    await telegram.users.send(USER, "and another question")  # the user's: skipped
    picture = BufferedInputFile(png(8, 8), "picture.png")
    await telegram.bot.send_photo(USER, picture)  # no text to edit: skipped
    [sent] = await telegram.parts(USER, part)
    await telegram.users.send(USER, "one more")
    assert await telegram.parts.find_sent(USER, part, earlier_id) == [sent]
    assert await texts(telegram) == ["the earlier answer", None, "the lost answer"]
    assert await telegram.parts.find_sent(USER, edit_part(sent, Chunk("x", [])), 1) is None
