"""`python -m bot sandbox`: the fake Telegram server, the scripted LLM and the bot, wired up.

Every configured provider is pointed at the scripted LLM server, so the configured models can
be tried without any key or GPU; the chat page of the fake Telegram server plays the user. The
tools get a fake web: a SearXNG instance for web_search and pages fetch_url may read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.bootstrap import build_application
from bot.config import load_settings, read_environment, secret_values
from bot.logs import redact_secrets
from bot.runtime import run
from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.telegram import TelegramSandbox
from bot.sandbox.web import FakeWeb

logger = logging.getLogger(__name__)

SANDBOX_TOKEN = "1000001:sandbox-token"
SANDBOX_KEY = "sandbox-key"


def sandbox_overrides(
    config: dict[str, Any],
    telegram_url: str,
    llm_url: str,
    database_url: str,
    web_url: str | None = None,
) -> dict[str, Any]:
    """Point Telegram, every provider and the tools at the local fakes; keep the models."""
    providers = {
        name: {"base_url": f"{llm_url}/v1" if p.get("type") != "anthropic" else llm_url}
        for name, p in config.get("providers", {}).items()
    }
    overrides: dict[str, Any] = {
        "telegram": {"mode": "polling", "api_base": telegram_url},
        "storage": {"url": database_url},
        "providers": providers,
    }
    if web_url is not None:
        overrides["tools"] = sandbox_tools(config, web_url)
    return overrides


def sandbox_tools(config: dict[str, Any], web_url: str) -> dict[str, Any]:
    """The file's whole ``[tools]`` table with the fake web and the scripted LLM filled in.

    web_search uses the fake SearXNG unless the file names an instance; fetch_url may also read
    the fake web's pages (every other loopback or private address stays refused); generate_image
    uses the file's provider, else the first openai_compatible one (all lead to the scripted LLM).
    """
    tools: dict[str, Any] = dict(config.get("tools", {}))
    search = dict(tools.get("web_search", {}))
    search["searxng_url"] = search.get("searxng_url") or web_url
    fetch = dict(tools.get("fetch_url", {}))
    fetch["allow_hosts"] = [*fetch.get("allow_hosts", []), urlsplit(web_url).netloc]
    tools.update(web_search=search, fetch_url=fetch)
    image = dict(tools.get("generate_image", {}))
    compatible = [
        name
        for name, provider in config.get("providers", {}).items()
        if provider.get("type") == "openai_compatible"
    ]
    if not image.get("provider") and compatible:
        tools["generate_image"] = {**image, "provider": compatible[0]}
    return tools


def sandbox_environment(config: dict[str, Any]) -> dict[str, str]:
    env = read_environment(Path(".env"))
    for provider in config.get("providers", {}).values():
        if provider.get("api_key_env"):
            env[provider["api_key_env"]] = SANDBOX_KEY
    env["TELEGRAM_BOT_TOKEN"] = SANDBOX_TOKEN
    return env


async def run_sandbox(
    config_path: Path,
    *,
    host: str,
    port: int,
    data_dir: Path,
    on_ready: Callable[[str], None],
) -> None:
    """Run until stopped; `on_ready` gets the chat page's URL once everything is up."""
    with config_path.open("rb") as fh:
        raw = tomllib.load(fh)
    telegram = TelegramSandbox(SANDBOX_TOKEN, data_dir=data_dir)
    llm = ScriptedLLM()
    fake_web = FakeWeb()
    async with contextlib.AsyncExitStack() as servers:
        telegram_url = await telegram.start(host, port)
        servers.push_async_callback(telegram.stop)
        llm_url = await llm.start(host, 0)
        servers.push_async_callback(llm.stop)
        web_url = await fake_web.start("127.0.0.1", 0)  # only the bot reads it
        servers.push_async_callback(fake_web.stop)
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        database_url = f"sqlite+aiosqlite:///{data_dir / 'sandbox.sqlite3'}"
        env = sandbox_environment(raw)
        settings = load_settings(
            config_path,
            environ=env,
            overrides=sandbox_overrides(raw, telegram_url, llm_url, database_url, web_url),
        )
        redact_secrets(secret_values(settings, env))
        app = await build_application(settings, env)
        logger.info(
            "sandbox: scripted LLM at %s, fake web (SearXNG and pages) at %s, data in %s",
            llm_url,
            web_url,
            data_dir,
        )
        on_ready(f"{telegram_url}/")
        await run(app)
