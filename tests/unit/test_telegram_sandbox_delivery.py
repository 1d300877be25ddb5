"""Webhook delivery, long-poll conflicts and shutdown of the fake Telegram server."""

from __future__ import annotations

import asyncio
import html
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramConflictError
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.sandbox.telegram import SandboxClient, TelegramSandbox
from bot.sandbox.telegram.delivery import UpdateIds

TOKEN = "123456:sandbox-test-token"
SECRET = "s3cr3t-token"


class Receiver:
    """A webhook endpoint that records deliveries, concurrency and the secret header."""

    def __init__(self, delay: float = 0.0, fail_once: set[str] | None = None) -> None:
        self.delay = delay
        self.fail_once = set(fail_once or ())
        self.delivered: list[tuple[int, str]] = []
        self.secrets: list[str | None] = []
        self.in_flight: defaultdict[int, int] = defaultdict(int)
        self.max_per_chat = 0
        self.max_total = 0
        self.reply: dict[str, Any] | None = None
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        text = update["message"]["text"]
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        self.in_flight[chat_id] += 1
        self.max_per_chat = max(self.max_per_chat, self.in_flight[chat_id])
        self.max_total = max(self.max_total, sum(self.in_flight.values()))
        try:
            await asyncio.sleep(self.delay)
            if text in self.fail_once:
                self.fail_once.discard(text)
                return web.Response(status=500, text="boom")
            self.delivered.append((chat_id, text))
            return web.json_response(self.reply or {})
        finally:
            self.in_flight[chat_id] -= 1

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def eventually(check: Any, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def sandbox() -> AsyncIterator[TelegramSandbox]:
    server = TelegramSandbox(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(sandbox: TelegramSandbox) -> AsyncIterator[Bot]:
    assert sandbox.base_url is not None
    api = TelegramAPIServer.from_base(sandbox.base_url)
    client_bot = Bot(TOKEN, session=AiohttpSession(api=api))
    yield client_bot
    await client_bot.session.close()


@pytest.fixture
async def client(sandbox: TelegramSandbox) -> AsyncIterator[SandboxClient]:
    assert sandbox.base_url is not None
    async with SandboxClient(sandbox.base_url) as sandbox_client:
        yield sandbox_client


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver(delay=0.15, fail_once={"a1"})
    await hook.start()
    yield hook
    await hook.stop()


async def test_webhook_delivers_in_order_per_chat_and_retries(
    bot: Bot, client: SandboxClient, receiver: Receiver
) -> None:
    assert await bot.set_webhook(receiver.url, secret_token=SECRET, max_connections=10)
    for n in (1, 2, 3):
        await client.send(1, f"a{n}")
        await client.send(2, f"b{n}")
    await eventually(lambda: len(receiver.delivered) == 6)
    by_chat = defaultdict(list)
    for chat_id, text in receiver.delivered:
        by_chat[chat_id].append(text)
    assert by_chat == {1: ["a1", "a2", "a3"], 2: ["b1", "b2", "b3"]}
    assert receiver.max_per_chat == 1
    assert receiver.max_total == 2
    assert set(receiver.secrets) == {SECRET}
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_max_connections_caps_parallel_deliveries(
    bot: Bot, client: SandboxClient, receiver: Receiver
) -> None:
    receiver.fail_once.clear()
    await bot.set_webhook(receiver.url, max_connections=2)
    for user in range(10, 16):
        await client.send(user, "hello")
    await eventually(lambda: len(receiver.delivered) == 6)
    assert receiver.max_total == 2
    assert set(receiver.secrets) == {None}


async def test_get_updates_conflicts_with_webhook(
    bot: Bot, client: SandboxClient, receiver: Receiver
) -> None:
    await client.send(3, "queued before the webhook")
    await bot.set_webhook("http://127.0.0.1:9/unreachable")
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["queued before the webhook"]
    await bot.set_webhook(receiver.url, drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_webhook_reply_method_is_executed(
    bot: Bot, client: SandboxClient, receiver: Receiver
) -> None:
    receiver.fail_once.clear()
    receiver.reply = {"method": "sendMessage", "chat_id": 4, "text": "pong from reply"}
    await bot.set_webhook(receiver.url)
    await client.send(4, "ping")
    [message] = await client.wait_bot_messages(4, 1, timeout=5)
    assert message["text"] == "pong from reply"


async def test_aiogram_webhook_handler_answer_in_response(
    sandbox: TelegramSandbox, bot: Bot, client: SandboxClient
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> Any:
        return message.answer(f"<b>echo</b>: {html.escape(message.text or '')}", parse_mode="HTML")

    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False).register(app, path="/tg")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/tg")
        await client.send(5, "hi <there>")
        [message] = await client.wait_bot_messages(5, 1, timeout=5)
        assert message["text"] == "echo: hi <there>"
        assert message["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
        [call] = await client.calls(method="sendMessage", chat_id=5)
        assert call["status"] == 200
    finally:
        await runner.cleanup()


async def test_stop_does_not_hang_on_polls_or_retries() -> None:
    server = TelegramSandbox(TOKEN)
    base_url = await server.start()
    poller = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    try:
        poll = asyncio.create_task(poller.get_updates(timeout=30))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await server.stop()
        assert await asyncio.wait_for(poll, 5) == []
        assert time.monotonic() - started < 3
    finally:
        await poller.session.close()

    retrying = TelegramSandbox(TOKEN)
    base_url = await retrying.start()
    async with SandboxClient(base_url) as users:
        retry_bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
        try:
            await retry_bot.set_webhook("http://127.0.0.1:9/nobody-listens")
            await users.send(6, "never delivered")
            await asyncio.sleep(0.3)
            info = await retry_bot.get_webhook_info()
            assert info.pending_update_count == 1
            assert info.last_error_message == "Connection refused"
        finally:
            await retry_bot.session.close()
    started = time.monotonic()
    await retrying.stop()
    assert time.monotonic() - started < 3


async def test_many_chats_round_trip_through_polling(bot: Bot, client: SandboxClient) -> None:
    users = range(1000, 1200)
    await asyncio.gather(*(client.send(user, f"question {user}") for user in users))
    answered: set[int] = set()
    offset = None
    started = time.monotonic()
    while len(answered) < len(users):
        updates = await bot.get_updates(offset=offset, timeout=1)
        for update in updates:
            assert update.message is not None
            await bot.send_message(update.message.chat.id, f"answer {update.message.chat.id}")
            answered.add(update.message.chat.id)
            offset = update.update_id + 1
    done = await asyncio.gather(*(client.wait_bot_messages(user, 1, timeout=5) for user in users))
    assert all(
        messages[0]["text"] == f"answer {user}" for user, messages in zip(users, done, strict=True)
    )
    assert time.monotonic() - started < 20


def test_update_ids_go_on_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data" / "telegram-update-id"
    first = UpdateIds(path, block=10)
    taken = [first.take() for _ in range(25)]
    assert taken == list(range(UpdateIds.FIRST, UpdateIds.FIRST + 25))
    again = UpdateIds(path, block=10)  # a restart (or a crash: the leased block is skipped)
    assert again.take() > taken[-1]
    assert UpdateIds().take() == UpdateIds.FIRST  # without a file: as before
