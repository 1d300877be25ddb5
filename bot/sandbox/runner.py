"""`python -m bot sandbox`: the fake Telegram server, the scripted LLM and the bot, wired up.

Every configured provider is pointed at the scripted LLM server, so the configured models can
be tried without any key or GPU; the chat page of the fake Telegram server plays the user.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.bootstrap import build_application, run
from bot.config import load_settings, read_environment
from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.telegram import TelegramSandbox

logger = logging.getLogger(__name__)

SANDBOX_TOKEN = "1000001:sandbox-token"
SANDBOX_KEY = "sandbox-key"


def sandbox_overrides(
    config: dict[str, Any], telegram_url: str, llm_url: str, database_url: str
) -> dict[str, Any]:
    """Point Telegram and every provider at the local fakes; keep the models as configured."""
    providers = {
        name: {"base_url": f"{llm_url}/v1" if p.get("type") != "anthropic" else llm_url}
        for name, p in config.get("providers", {}).items()
    }
    return {
        "telegram": {"mode": "polling", "api_base": telegram_url},
        "storage": {"url": database_url},
        "providers": providers,
    }


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
    telegram = TelegramSandbox(SANDBOX_TOKEN)
    llm = ScriptedLLM()
    telegram_url = await telegram.start(host, port)
    llm_url = await llm.start(host, 0)
    try:
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        database_url = f"sqlite+aiosqlite:///{data_dir / 'sandbox.sqlite3'}"
        env = sandbox_environment(raw)
        settings = load_settings(
            config_path,
            environ=env,
            overrides=sandbox_overrides(raw, telegram_url, llm_url, database_url),
        )
        app = await build_application(settings, env)
        logger.info("sandbox: scripted LLM at %s, data in %s", llm_url, data_dir)
        on_ready(f"{telegram_url}/")
        await run(app)
    finally:
        await llm.stop()
        await telegram.stop()
