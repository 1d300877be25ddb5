"""`python -m bot sandbox`: the fake Telegram server, the scripted LLM and the bot, wired up.

Every configured provider is pointed at the scripted LLM server, so the configured models can
be tried without any key or GPU; the chat page of the fake Telegram server plays the user. The
tools get a fake web: a SearXNG instance for web_search and pages fetch_url may read.

The scripted LLM answers with the demo model (`bot/sandbox/llm/demo.py`) at a realistic pace,
and the sandbox shows everything by default (`showcase_overrides`): the page's user is an
operator, sandbox plans are sold for Stars and in money (a sandbox provider token) and the
content filter is on in the page's group, unless the file says otherwise. The chat page's URL
is printed as soon as the page is served; the bot's code loads and starts behind it (the page
shows what it is doing) and messages sent meanwhile wait in the fake Telegram's queue. The
bot's metrics take a free port when the configured one is taken; a start-up line says where.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib
import logging
import socket
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from bot.config import load_settings, read_environment, secret_values
from bot.logs import redact_secrets
from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.llm.demo import DemoModel
from bot.sandbox.panel import DEFAULT_SPEED, Panel, StatusLog, add_panel
from bot.sandbox.showcase import OPERATOR_ID, SANDBOX_PROVIDER_TOKEN, showcase_overrides
from bot.sandbox.telegram import TelegramSandbox
from bot.sandbox.web import FakeWeb

logger = logging.getLogger(__name__)

SANDBOX_TOKEN = "1000001:sandbox-token"
SANDBOX_KEY = "sandbox-key"
DEFAULT_METRICS_PORT = 9464  # ObservabilityConfig.metrics_port


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
    env["PAYMENTS_PROVIDER_TOKEN"] = SANDBOX_PROVIDER_TOKEN  # the fake Telegram's provider
    return env


async def run_sandbox(
    config_path: Path,
    *,
    host: str,
    port: int,
    data_dir: Path,
    on_ready: Callable[[str], None],
    on_progress: Callable[[str], None] = lambda _: None,
) -> None:
    """Run until stopped; `on_ready` gets the chat page's URL as soon as the page is served,
    `on_progress` what the start-up is doing while the bot loads behind it."""
    with config_path.open("rb") as fh:
        raw = tomllib.load(fh)
    fake_web = FakeWeb()
    async with contextlib.AsyncExitStack() as servers:
        web_url = await fake_web.start("127.0.0.1", 0)  # only the bot reads it
        servers.push_async_callback(fake_web.stop)
        llm = ScriptedLLM(demo=DemoModel(web_url))
        panel = Panel(llm, admins=tuple(raw.get("admins") or ()) or (OPERATOR_ID,))
        panel.set_speed(DEFAULT_SPEED)
        telegram = TelegramSandbox(SANDBOX_TOKEN, data_dir=data_dir)
        add_panel(telegram.app, panel)
        try:
            telegram_url = await telegram.start(host, port)
        except OSError as exc:
            raise SandboxStartError(_page_port_problem(host, port, exc)) from None
        servers.push_async_callback(telegram.stop)
        llm_url = await llm.start(host, 0)
        servers.push_async_callback(llm.stop)
        on_ready(f"{telegram_url}/")
        status = StatusLog(panel)
        logging.getLogger("bot").addHandler(status)
        servers.callback(logging.getLogger("bot").removeHandler, status)
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        database_url = f"sqlite+aiosqlite:///{data_dir / 'sandbox.sqlite3'}"
        env = sandbox_environment(raw)
        overrides = sandbox_overrides(raw, telegram_url, llm_url, database_url, web_url)
        overrides = _merged(overrides, metrics_overrides(raw))
        settings = load_settings(
            config_path, environ=env, overrides=_merged(overrides, showcase_overrides(raw))
        )
        redact_secrets(secret_values(settings, env))
        panel.retries = settings.llm.max_retries
        panel.status = "loading the bot's code (the first start also compiles it)"
        on_progress(panel.status)
        bootstrap = await import_in_background("bot.bootstrap")
        runtime = await import_in_background("bot.runtime")
        panel.status = "starting the bot: database, characters, tools, content filter"
        app = await bootstrap.build_application(settings, env)
        logger.info(
            "sandbox: demo model at %s, fake web (SearXNG and pages) at %s, data in %s",
            llm_url,
            web_url,
            data_dir,
        )
        panel.bot_up = True
        if settings.routing.enabled and not panel.classifier_ready:
            panel.status = "the bot is up; the message classifier is still loading"
        else:
            panel.status, panel.ready = "ready", True
        on_progress("the bot is up")
        if settings.observability.metrics:
            base = f"http://{settings.observability.metrics_host}:{settings.observability.metrics_port}"
            on_progress(f"metrics on {base}/metrics, health on {base}/healthz and {base}/readyz")
        await runtime.run(app)


class SandboxStartError(Exception):
    """The sandbox cannot start; the message says what to do (no traceback)."""


def _page_port_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is in use: is another sandbox (`make run`) running? "
            f"Open http://{host}:{port}/ to use it, stop it with Ctrl+C, or start this one "
            "with `python -m bot sandbox --port PORT --data-dir ANOTHER_DIR`"
        )
    return f"cannot serve the chat page on {host}:{port}: {exc.strerror or exc}"


def metrics_overrides(config: dict[str, Any]) -> dict[str, Any]:
    """A free port for the bot's /metrics when the configured one (9464) is taken: by a bot
    running beside the sandbox, or by a second sandbox."""
    observability = config.get("observability", {})
    if not observability.get("metrics", True):
        return {}
    host = str(observability.get("metrics_host", "127.0.0.1"))
    wanted = int(observability.get("metrics_port", DEFAULT_METRICS_PORT))
    port = free_port_near(host, wanted)
    if port == wanted:
        return {}
    logger.info("sandbox: port %s is in use; the bot's metrics are on port %s", wanted, port)
    return {"observability": {"metrics_port": port}}


def free_port_near(host: str, port: int) -> int:
    """`port` if it can be bound on `host`, else a free port the system picks."""
    for candidate in (port, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    return port  # nothing can be bound: the bot's own server reports it


IMPORT_THREAD = "sandbox-import"


def importing() -> bool:
    """Whether a background import is still running (see `import_in_background`)."""
    return any(t.name.startswith(IMPORT_THREAD) and t.is_alive() for t in threading.enumerate())


async def import_in_background(name: str) -> ModuleType:
    """Import a module on a daemon thread while the event loop serves the page.

    Not the default executor: Ctrl+C during the first start (which also compiles the code)
    would wait for the import to finish; a daemon thread is simply left behind at exit."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[ModuleType] = loop.create_future()

    def settle(result: ModuleType | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            assert result is not None
            done.set_result(result)

    def work() -> None:
        try:
            module, error = importlib.import_module(name), None
        except BaseException as exc:  # handed to the awaiting task
            module, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, module, error)

    threading.Thread(target=work, name=f"{IMPORT_THREAD} {name}", daemon=True).start()
    return await done


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged
