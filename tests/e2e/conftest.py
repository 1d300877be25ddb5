"""E2E harness: the real bot process against the sandbox servers, over loopback HTTP.

The fake Telegram server and the scripted LLM server run inside the test process; the bot runs
as a separate `python -m bot run` process with a config pointing at them, a fresh SQLite file
migrated by Alembic at start, and the real aiogram, openai and anthropic clients.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.telegram import SandboxClient, TelegramSandbox
from bot.sandbox.web import FakeWeb

pytestmark = pytest.mark.e2e

TOKEN = "4242:e2e-token"
SYSTEM_PROMPT = "You are the e2e test assistant."
PROJECT_ROOT = Path(__file__).parents[2]
# A ceiling, not an expectation: the bot starts in ~10 s here, but CI machines are noisy.
STARTUP_TIMEOUT = 90.0
ADMIN_ID = 990_000_001  # the bot's operator in every stack's configuration

CONFIG_TEMPLATE = """
admins = [{admin_id}]

[telegram]
mode = "{mode}"
api_base = "{telegram_url}"
webhook_url = "{webhook_url}"
webhook_host = "127.0.0.1"
webhook_port = {webhook_port}
rich_messages = {rich}
group_edit_interval_seconds = {edit_interval}
request_timeout_seconds = {request_timeout}
global_messages_per_second = {global_rate}

[observability]
metrics_port = {metrics_port}

[storage]
url = "sqlite+aiosqlite:///{database}"

[llm]
connect_timeout = 2.0
read_timeout = {read_timeout}
max_retries = 2
retry_backoff_seconds = 0.05

[chat]
default_model = "{default_model}"
system_prompt = "{system_prompt}"
merge_window_seconds = 0.8
split_paste_threshold = 3000

[routing]
enabled = {routing}
routes_dir = "{routes_dir}"
cache_dir = "{cache_dir}"
judge_model = "judge"
judge_timeout_seconds = {judge_timeout}
auto_fallback_model = "gpt"

[routing.preferred_models]
chat = ["gemma", "gpt"]
code = ["claude", "gpt"]
math = ["gpt"]
translate = ["gemma"]
writing = ["gpt"]
image = ["gpt"]
search = ["gpt"]

[characters]
directory = "{characters_dir}"

[documents]
blob_dir = "{blob_dir}"
{documents_settings}

[providers.openai]
type = "openai_compatible"
base_url = "{llm_url}/v1"
api_key_env = "E2E_OPENAI_KEY"

[providers.anthropic]
type = "anthropic"
base_url = "{llm_url}"
api_key_env = "E2E_ANTHROPIC_KEY"

[providers.vllm]
type = "openai_compatible"
base_url = "{llm_url}/v1"

[models.gpt]
provider = "openai"
remote_name = "gpt-test"
display_name = "GPT Test"
capabilities = {{ context_tokens = 16000, max_output_tokens = 5000 }}

[models.claude]
provider = "anthropic"
remote_name = "claude-test"
display_name = "Claude Test"
capabilities = {{ vision = true, context_tokens = 16000, max_output_tokens = 1000 }}

[models.gemma]
provider = "vllm"
remote_name = "gemma-test"
display_name = "Gemma Test"
capabilities = {{ system_prompt = false, context_tokens = 8000, max_output_tokens = 500 }}

[models.judge]
provider = "openai"
remote_name = "judge-test"
display_name = "Judge Test"
capabilities = {{ context_tokens = 8000, max_output_tokens = 100 }}
{voice_models}
{extra_models}
{payments_settings}
{tools_settings}
{extra}
"""
# Speech to text at the scripted LLM's /v1/audio/transcriptions (docs/voice.md).
VOICE_MODELS = """
[models.whisper]
provider = "openai"
remote_name = "whisper-test"
display_name = "Whisper Test"
capabilities = { transcribe = true }

[voice]
max_duration_seconds = 300
"""
JUDGE_TIMEOUT = 1.0
PAYMENTS_SECRET = "e2e-payments-secret"
OPENAI_KEY = "openai-key-e2e-7d3f9a"
ANTHROPIC_KEY = "anthropic-key-e2e-41c2be"
PROVIDER_TOKEN = "381764678:TEST:e2e-provider-5b1d"
SECRETS = (TOKEN, OPENAI_KEY, ANTHROPIC_KEY, PAYMENTS_SECRET, PROVIDER_TOKEN)
"""Configured secret values: no bot log may contain them (checked when a stack stops)."""
# A Bot API call taking longer than this times out (and a final one is retried).
REQUEST_TIMEOUT = 5.0

# The payments stack: a free plan with 3 GPT messages a day and no Claude, a 7-day pass and a
# monthly subscription. Gemma is unlimited on every plan.
PAYMENTS_SETTINGS = """
[payments]
invoice_ttl_minutes = 30
support = { en = "Write to @e2e_support about payments.", ru = "Пишите @e2e_support." }

[plans.free]
kind = "free"
title = { en = "Free", ru = "Бесплатный" }

[plans.free.limits]
gpt = { messages = 3, window_hours = 24 }
claude = { messages = 0 }

[plans.free.audio]
minutes = 2

[plans.week]
kind = "pass"
price_stars = 50
days = 7
title = { en = "Week pass", ru = "Неделя" }
description = { en = "Seven days of more messages.", ru = "Семь дней больше сообщений." }

[plans.week.limits]
gpt = { messages = 100, window_hours = 24 }
claude = { messages = 10, window_hours = 24 }

[plans.pro]
kind = "subscription"
price_stars = 250
title = { en = "Pro", ru = "Про" }
description = { en = "A month of everything.", ru = "Месяц всего." }

[plans.pro.limits]
gpt = { messages = 1000, window_hours = 24 }
claude = { messages = 1000, window_hours = 24 }
"""

# The tools stack: models that call tools in both protocols, a fake SearXNG and web pages on
# loopback (allowed past the private-address guard by host and port), images from the
# scripted LLM server.
TOOLS_SETTINGS = """
[tools]
max_steps = 3
timeout_seconds = 5

[tools.web_search]
searxng_url = "{web_url}"
timeout_seconds = 5

[tools.fetch_url]
timeout_seconds = 2.5
max_chars = 4000
allow_hosts = ["127.0.0.1:{web_port}"]

[tools.generate_image]
provider = "openai"
model = "image-test"
size = "1024x1024"
"""
TOOL_MODELS = """
[models.gpt-tools]
provider = "openai"
remote_name = "gpt-tools"
display_name = "GPT Tools"
capabilities = { tools = true, context_tokens = 16000, max_output_tokens = 1000 }

[models.claude-tools]
provider = "anthropic"
remote_name = "claude-tools"
display_name = "Claude Tools"
capabilities = { tools = true, vision = true, context_tokens = 16000, max_output_tokens = 1000 }
"""

# The documents stack: a vision model that does not read PDFs, one that reads PDFs natively,
# and one with a small context window (documents are cut to fit it).
DOCUMENTS_SETTINGS = """
max_pages = 120
progress_min_pages = 30
scanned_max_pages = 3
image_history_turns = 2
album_window_seconds = 0.8
"""
DOCUMENT_MODELS = """
[models.vision]
provider = "openai"
remote_name = "vision-test"
display_name = "Vision Test"
capabilities = { vision = true, context_tokens = 16000, max_output_tokens = 1000 }

[models.claude-pdf]
provider = "anthropic"
remote_name = "claude-pdf-test"
display_name = "Claude PDF"

[models.claude-pdf.capabilities]
vision = true
pdf_native = true
context_tokens = 200000
max_output_tokens = 2000

[models.small]
provider = "openai"
remote_name = "small-test"
display_name = "Small Test"
capabilities = { context_tokens = 3000, max_output_tokens = 200 }
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


USER_IDS_PER_TEST = 10
_user_ids = itertools.count(int(time.time()) % 100_000 * 1000 + 1, USER_IDS_PER_TEST)


@pytest.fixture
def user_id() -> int:
    """A fresh Telegram user (and private chat) per test, so histories never mix. The next
    ids up to `user_id + 9` are the test's too (a group's second member, say): a test that
    writes as `user_id + 1` must not spend the next test's quota or share its chat."""
    return next(_user_ids)


def bot_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        E2E_OPENAI_KEY=OPENAI_KEY,
        E2E_ANTHROPIC_KEY=ANTHROPIC_KEY,
        BOT_LOG_LEVEL="INFO",
        PAYMENTS_SECRET=PAYMENTS_SECRET,
        PAYMENTS_PROVIDER_TOKEN=PROVIDER_TOKEN,
        PYTHONUNBUFFERED="1",
        E2E_MCP_VISIBLE="passed on by name",  # the MCP stack's server may see this one
    )
    env.update(extra)
    return env


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """SIGTERM (a graceful stop: answers in flight may finish), then SIGKILL."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    async def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash."""
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def start_bot(
    config_path: Path, log_path: Path, telegram: SandboxClient, ready_method: str
) -> BotProcess:
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config_path),
            cwd=PROJECT_ROOT,
            env=bot_environment(),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    bot = BotProcess(process, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not await telegram.calls(method=ready_method):
        if process.returncode is not None or time.monotonic() > deadline:
            await bot.stop()
            raise RuntimeError(f"the bot did not start:\n{bot.log()}")
        await asyncio.sleep(0.1)
    return bot


@dataclass
class Stack:
    telegram: SandboxClient
    llm: ScriptedLLM
    bot: BotProcess
    mode: str
    metrics_port: int = 0

    @property
    def characters(self) -> Path:
        """The character folder this bot serves (and watches)."""
        return self.bot.log_path.parent / "characters"

    async def restart(self, *, extra: str | None = None) -> None:
        """Stop the bot process (if it runs) and start a new one on the same database and
        sandbox; `extra` replaces the configuration's extra tables."""
        await self.bot.stop()
        await self.telegram.clear_calls()  # readiness is seen from the new process's calls
        folder = self.bot.log_path.parent
        config = folder / "config.toml"
        if extra is not None:
            base = config.read_text(encoding="utf-8").split(EXTRA_MARK, 1)[0]
            config.write_text(f"{base}{EXTRA_MARK}\n{extra}\n", encoding="utf-8")
        restarts = len(list(folder.glob("bot*.log")))
        ready = "setWebhook" if self.mode == "webhook" else "getUpdates"
        self.bot = await start_bot(config, folder / f"bot.{restarts}.log", self.telegram, ready)

    def logs(self) -> str:
        """Every log this stack's bot processes wrote, in order."""
        folder = self.bot.log_path.parent
        paths = sorted(folder.glob("bot*.log"), key=lambda p: p.stat().st_mtime)
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in paths)


@pytest.fixture(scope="session")
async def llm() -> AsyncIterator[ScriptedLLM]:
    server = ScriptedLLM()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(autouse=True)
def _fresh_llm_script(request: pytest.FixtureRequest) -> Iterator[None]:
    """Scripts, faults and knobs never leak from one test into the next."""
    yield
    if "llm" in request.fixturenames:
        server: ScriptedLLM = request.getfixturevalue("llm")
        server.reset()
    if "web" in request.fixturenames:
        fake: FakeWeb = request.getfixturevalue("web")
        fake.reset()


GROUP_EDIT_INTERVAL = 1.0
EXTRA_MARK = "# --- extra ---"


def assert_no_secrets(log: str) -> None:
    leaked = [secret for secret in SECRETS if secret in log]
    assert not leaked, f"the bot log contains configured secrets: {leaked}"


async def make_stack(
    tmp: Path,
    llm: ScriptedLLM,
    mode: str,
    *,
    read_timeout: float = 3.0,
    rich: bool = False,
    routing: bool = False,
    routing_cache: Path | None = None,
    documents: bool = False,
    payments: bool = False,
    web: FakeWeb | None = None,
    extra: str = "",
    mcp: str = "",
    routes_dir: Path | None = None,
    voice: bool = True,
    global_rate: int = 30,
) -> AsyncIterator[Stack]:
    """`mcp`: [mcp] settings (the stack's default model then calls tools)."""
    sandbox = TelegramSandbox(TOKEN, enforce_limits=True)
    telegram_url = await sandbox.start()
    client = SandboxClient(telegram_url)
    webhook_port = free_port()
    metrics_port = free_port()
    characters = tmp / "characters"  # a copy: tests edit characters while the bot runs
    shutil.copytree(PROJECT_ROOT / "characters", characters)
    config = tmp / "config.toml"
    config.write_text(
        CONFIG_TEMPLATE.format(
            mode=mode,
            telegram_url=telegram_url,
            webhook_url=f"http://127.0.0.1:{webhook_port}/telegram/webhook",
            webhook_port=webhook_port,
            database=tmp / "bot.sqlite3",
            read_timeout=read_timeout,
            rich="true" if rich else "false",
            edit_interval=GROUP_EDIT_INTERVAL,
            system_prompt=SYSTEM_PROMPT,
            llm_url=llm.base_url,
            routing="true" if routing else "false",
            admin_id=ADMIN_ID,
            routes_dir=routes_dir or PROJECT_ROOT / "routes",
            cache_dir=routing_cache or tmp / "cache",
            judge_timeout=JUDGE_TIMEOUT,
            characters_dir=characters,
            blob_dir=tmp / "blobs",
            voice_models=VOICE_MODELS if voice else "",
            documents_settings=DOCUMENTS_SETTINGS if documents else "",
            extra_models=DOCUMENT_MODELS if documents else (TOOL_MODELS if web or mcp else ""),
            payments_settings=PAYMENTS_SETTINGS if payments else "",
            tools_settings=_tools_settings(web) + mcp,
            default_model="gpt-tools" if web or mcp else "gpt",
            request_timeout=REQUEST_TIMEOUT,
            global_rate=global_rate,
            metrics_port=metrics_port,
            extra=f"{EXTRA_MARK}\n{extra}",
        ),
        encoding="utf-8",
    )
    ready = "setWebhook" if mode == "webhook" else "getUpdates"
    if global_rate != 30:  # Telegram's overall limit, raised alike on both sides
        await client.set_limits(True, global_per_second=global_rate)
    bot = await start_bot(config, tmp / "bot.log", client, ready)
    stack = Stack(client, llm, bot, mode, metrics_port)
    try:
        yield stack
    finally:
        await stack.bot.stop()
        await client.close()
        await sandbox.stop()
    assert_no_secrets(stack.logs())


@pytest.fixture(scope="session")
async def polling_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> AsyncIterator[Stack]:
    async for stack in make_stack(tmp_path_factory.mktemp("polling"), llm, "polling"):
        yield stack


@pytest.fixture(scope="session")
async def webhook_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> AsyncIterator[Stack]:
    async for stack in make_stack(tmp_path_factory.mktemp("webhook"), llm, "webhook"):
        yield stack


@pytest.fixture(scope="session")
async def rich_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> AsyncIterator[Stack]:
    """Final answers as rich messages (Telegram renders the Markdown)."""
    async for stack in make_stack(tmp_path_factory.mktemp("rich"), llm, "polling", rich=True):
        yield stack


@pytest.fixture(scope="session")
def routing_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The classifier for the shipped route files, trained once for the session.

    A first start trains it in a child process, which takes long on a busy CI machine; the
    stacks share this cache so that their start measures the bot, not scikit-learn.
    """
    from bot.routing.classifier import load_or_train
    from bot.routing.routes import load_routes

    cache = tmp_path_factory.mktemp("routing-cache")
    load_or_train(load_routes(PROJECT_ROOT / "routes", default="chat"), cache)
    return cache


@pytest.fixture(scope="session")
async def routing_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM, routing_cache: Path
) -> AsyncIterator[Stack]:
    """Intent routing on, with the shipped route files and an LLM judge (model "judge")."""
    tmp = tmp_path_factory.mktemp("routing")
    async for stack in make_stack(tmp, llm, "polling", routing=True, routing_cache=routing_cache):
        yield stack


@pytest.fixture(scope="session")
async def documents_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> AsyncIterator[Stack]:
    """Documents and images: extra models (vision without PDFs, native PDFs, a small context)."""
    tmp = tmp_path_factory.mktemp("documents")
    async for stack in make_stack(tmp, llm, "polling", documents=True):
        yield stack


def _tools_settings(web: FakeWeb | None) -> str:
    if web is None:  # the other stacks keep the defaults: calculator, time, pages
        return ""
    port = web.base_url.rsplit(":", 1)[1]
    return TOOLS_SETTINGS.format(web_url=web.base_url, web_port=port)


@pytest.fixture(scope="session")
async def web() -> AsyncIterator[FakeWeb]:
    server = FakeWeb()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
async def tools_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM, web: FakeWeb
) -> AsyncIterator[Stack]:
    """Tool calling (see TOOLS_SETTINGS and TOOL_MODELS); the default model calls tools."""
    tmp = tmp_path_factory.mktemp("tools")
    async for stack in make_stack(tmp, llm, "polling", web=web):
        yield stack


@pytest.fixture(scope="session")
async def payments_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> AsyncIterator[Stack]:
    """Plans, quotas and Telegram Stars payments (see PAYMENTS_SETTINGS)."""
    tmp = tmp_path_factory.mktemp("payments")
    async for stack in make_stack(tmp, llm, "polling", payments=True):
        yield stack


# The operations stack: Stars plans plus a plan sold for money (YooKassa, roubles), a raised
# global limit on both sides (so that 2,000 recipients take seconds, not a minute), broadcasts
# at half of it, with a short retry budget and frequent progress.
OPS_GLOBAL_RATE = 200
OPS_SETTINGS = """
[payments.money]
provider = "yookassa"
currency = "RUB"
vat_code = 1

[plans.month]
kind = "pass"
price_money = "990.00"
days = 30
title = { en = "Month pass", ru = "Месяц" }
description = { en = "Thirty days of more messages.", ru = "Тридцать дней больше сообщений." }

[plans.month.limits]
gpt = { messages = 500, window_hours = 24 }

[broadcasts]
share = 0.5
retry_seconds = 2
progress_interval_seconds = 1
"""


@pytest.fixture(scope="session")
async def ops_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> AsyncIterator[Stack]:
    """/stats, /broadcast, metrics and payments in money (see OPS_SETTINGS)."""
    tmp = tmp_path_factory.mktemp("ops")
    async for stack in make_stack(
        tmp, llm, "polling", payments=True, extra=OPS_SETTINGS, global_rate=OPS_GLOBAL_RATE
    ):
        yield stack


@pytest.fixture(params=["polling", "webhook"])
def stack(request: pytest.FixtureRequest) -> Stack:
    """Both delivery modes: long polling and webhook."""
    result: Stack = request.getfixturevalue(f"{request.param}_stack")
    return result


async def last_requests(llm: ScriptedLLM, count: int = 1) -> list[dict[str, Any]]:
    return llm.requests[-count:]


# The MCP stack: a real MCP server of the test suite (tests/mcp_server.py) started by the bot
# over stdio ("local"), the same server over streamable HTTP on loopback in this process
# ("remote", marked private: the address guard would refuse loopback), and two routes, one
# of which denies the local server's tools.
MCP_SETTINGS = """
[mcp]
startup_timeout_seconds = 30
restart_backoff_seconds = 3
max_backoff_seconds = 6

[mcp.servers.local]
description = {{ en = "Local test tools", ru = "Локальные тестовые инструменты" }}
command = "{python}"
args = ["-m", "tests.mcp_server", "local"]
cwd = "{root}"
pass_env = ["E2E_MCP_VISIBLE"]

[mcp.servers.remote]
url = "http://127.0.0.1:{port}/mcp"
private = true
timeout_seconds = 10
"""


def write_mcp_routes(directory: Path) -> Path:
    """Two routes: `chat` (the default) and `payroll`, which denies the local server."""
    directory.mkdir(parents=True, exist_ok=True)
    topics = {"chat": ("the weather", "погоду", ""), "payroll": ("salaries", "зарплаты", "")}
    topics["payroll"] = ("salaries", "зарплаты", "deny_tools: [local.*]\n")
    for route_id, (en, ru, extra) in topics.items():
        lines = [f"id: {route_id}", "description:", f"  en: about {en}", f"  ru: про {ru}"]
        lines += [extra.rstrip()] if extra else []
        lines += ["examples:", "  en:"] + [f'    - "tell me about {en} {n}"' for n in range(40)]
        lines += ["  ru:"] + [f'    - "расскажи про {ru} {n}"' for n in range(40)]
        text = "---\n" + "\n".join(lines) + f"\n---\nAnswer questions about {en}.\n"
        (directory / f"{route_id}.md").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
async def mcp_http_port() -> AsyncIterator[int]:
    from tests.mcp_server import serve_http

    port = free_port()
    async with serve_http(port, "remote"):
        yield port


@pytest.fixture(scope="session")
async def mcp_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM, mcp_http_port: int
) -> AsyncIterator[Stack]:
    tmp = tmp_path_factory.mktemp("mcp")
    settings = MCP_SETTINGS.format(python=sys.executable, root=PROJECT_ROOT, port=mcp_http_port)
    routes = write_mcp_routes(tmp / "routes")
    # Trained here (the bot would spawn a process for it): its start then measures the bot.
    await asyncio.to_thread(_train_routes, routes, tmp / "cache")
    async for stack in make_stack(
        tmp,
        llm,
        "polling",
        routing=True,
        routes_dir=routes,
        routing_cache=tmp / "cache",
        mcp=settings,
    ):
        yield stack


def _train_routes(routes: Path, cache: Path) -> None:
    from bot.routing.calibration import calibrate
    from bot.routing.classifier import load_or_train
    from bot.routing.routes import load_routes

    book = load_routes(routes, default="chat")
    load_or_train(book, cache)
    calibrate(book).save(routes / "calibration.json")


# The moderation stack: the content filter on in every group (answers and questions), with
# the shipped example topics and the "judge" model for the uncertain band; no transcription
# model (voice messages get the polite refusal there).
MODERATION_SETTINGS = """
[moderation]
enabled = true
topics_dir = "{topics}"
cache_dir = "{cache}"
check_questions = true
judge_model = "judge"
judge_timeout_seconds = 1.5
refusal = {{ en = "🛡 Not a topic for this chat." }}
"""


@pytest.fixture(scope="session")
async def moderation_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The content filter's classifier for the shipped topics, trained once per session (the
    bot would spawn a process for it): the starts of the bots that use it measure the bot."""
    cache = tmp_path_factory.mktemp("moderation-cache")
    await asyncio.to_thread(_train_topics, cache)
    return cache


@pytest.fixture(scope="session")
async def moderation_stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM, moderation_cache: Path
) -> AsyncIterator[Stack]:
    tmp = tmp_path_factory.mktemp("moderation")
    extra = MODERATION_SETTINGS.format(topics=PROJECT_ROOT / "moderation", cache=moderation_cache)
    async for stack in make_stack(tmp, llm, "polling", extra=extra, voice=False):
        yield stack


def _train_topics(cache: Path) -> None:
    from bot.moderation.config import ModerationConfig
    from bot.moderation.setup import prepare

    config = ModerationConfig(topics_dir=PROJECT_ROOT / "moderation", cache_dir=cache)
    prepare(config, PROJECT_ROOT / "routes")
