"""Start-up checks that turn the usual first-run mistakes into one line each.

Before the bot starts polling (or sets its webhook), it asks Telegram who it is and each
provider that has a key for its list of models, all at once: a rejected token, an unreachable
Telegram or a provider that refuses its key stop the start with a line that says what to
check (the command line exits with status 2), instead of a traceback. A provider that cannot
be reached is only a warning: a self-hosted server may come up later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramNotFound, TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError

from bot.config import ProviderConfig, Settings, provider_api_key

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 10.0
DEFAULT_BASES = {
    "openai_compatible": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}
TELEGRAM_DEFAULT = "https://api.telegram.org"


class StartupError(Exception):
    """The bot cannot start; the message (one line per problem) says what to check."""


async def preflight(settings: Settings, env: Mapping[str, str]) -> None:
    """Raise StartupError naming every problem found; log a warning for unreachable providers.

    Runs before anything is built (no migration, no classifier training for a wrong token)."""
    token = settings.telegram_bot_token
    api_base = settings.telegram.api_base
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    )
    try:
        bot = Bot(token.get_secret_value() if token else "", session=session)
    except TokenValidationError:
        await session.close()
        raise StartupError(
            "TELEGRAM_BOT_TOKEN is not a bot token: check it (in .env or the environment); it "
            "is the whole token @BotFather gave, like 123456:ABC-DEF..."
        ) from None
    try:
        checks = [_telegram(bot, settings)]
        checks += [
            _provider(name, provider, key)
            for name, provider in settings.providers.items()
            if (key := provider_api_key(provider, env))
        ]
        problems = [p for p in await asyncio.gather(*checks) if p]
    finally:
        await session.close()
    if problems:
        raise StartupError("\n".join(problems))


async def _telegram(bot: Bot, settings: Settings) -> str | None:
    where = settings.telegram.api_base or TELEGRAM_DEFAULT
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await bot.me()
    except (TelegramUnauthorizedError, TelegramNotFound):
        return (
            f"Telegram ({where}) rejected the bot token: check TELEGRAM_BOT_TOKEN (in .env or "
            "the environment); it is the whole token @BotFather gave, like 123456:ABC-DEF..."
        )
    except (TelegramNetworkError, TimeoutError, OSError) as exc:
        reason = _reason(exc)
        return (
            f"cannot reach Telegram at {where} ({reason}): check the network connection, a "
            "firewall or proxy, or telegram.api_base in the configuration"
        )
    return None


async def _provider(name: str, provider: ProviderConfig, key: str) -> str | None:
    base = (provider.base_url or DEFAULT_BASES[provider.type]).rstrip("/")
    if provider.type == "anthropic":
        url = f"{base}/v1/models"
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    else:
        url = f"{base}/models"
        headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers) as response,
        ):
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        logger.warning(
            "provider %s: cannot reach %s (%s); its models fail until it is up",
            name,
            base,
            _reason(exc),
        )
        return None
    if status in (401, 403):
        return (
            f"provider {name} ({base}) refused the key (HTTP {status}): check "
            f"{provider.api_key_env} (in .env or the environment) and that the key is active"
        )
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
