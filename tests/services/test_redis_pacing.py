"""Two bot processes' pacers sharing Telegram's global budget through the real Redis, against
the sandbox's Telegram, which enforces the limit and counts its 429s."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

from bot.coordination.budgets import RedisBudgets
from bot.sandbox.telegram import SandboxClient, TelegramSandbox
from bot.telegram.pacing import Pacer
from tests.services.conftest import redis_client

pytestmark = pytest.mark.services

TOKEN = "123456:shared-pacing"
GLOBAL = 6  # messages a second, for the sandbox and for each pacer
CHATS = range(901, 913)


async def _burst(redis_prefix: str | None) -> tuple[Sequence[object], int]:
    """Two processes send one message to each of 12 chats at once (24 in all): what they
    got back, and how many the sandbox refused."""
    sandbox = TelegramSandbox(TOKEN, enforce_limits=True)
    sandbox.core.limits.global_per_second = GLOBAL
    url = await sandbox.start()
    clients = [redis_client(), redis_client()] if redis_prefix else []
    bots = []
    try:
        for index in range(2):
            bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
            shared = (
                RedisBudgets(
                    clients[index],
                    redis_prefix,
                    global_per_second=GLOBAL,
                    chat_per_second=1.0,
                    chat_burst=3,
                )
                if redis_prefix
                else None
            )
            bot.session.middleware(Pacer(global_per_second=GLOBAL, max_attempts=1, shared=shared))
            bots.append(bot)
        async with SandboxClient(url) as client:
            for chat in CHATS:
                await client.send(chat, "hi")
            results = await asyncio.gather(
                *(bot.send_message(chat, "x") for bot in bots for chat in CHATS),
                return_exceptions=True,
            )
            refused = len((await client.limits())["rejections"])
    finally:
        for bot in bots:
            await bot.session.close()
        for redis in clients:
            await redis.aclose()
        await sandbox.stop()
    return results, refused


async def test_two_processes_keep_the_global_limit_together(redis_prefix: str) -> None:
    results, refused = await _burst(redis_prefix)
    assert refused == 0
    assert not [r for r in results if isinstance(r, BaseException)]


async def test_without_shared_budgets_two_processes_break_the_global_limit(
    redis_prefix: str,
) -> None:
    """The control: each pacer alone keeps its own limit, and together they exceed it."""
    results, refused = await _burst(None)
    assert refused > 0
    assert any(isinstance(r, TelegramRetryAfter) for r in results)
