"""The system under test: sandbox servers in this process, the real bot as a subprocess.

Everything listens on 127.0.0.1 and lives in a temporary directory (config, SQLite database,
bot log) that is removed afterwards. One :class:`Stack` serves one benchmark run, so the bot's
peak memory (VmHWM) belongs to that run alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.telegram import SandboxClient, TelegramSandbox

TOKEN = "4242:bench-token"
LLM_KEY_ENV = "BENCH_LLM_KEY"
MODEL_NAME = "bench-model"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 120.0  # a first start trains the routing classifier
ROUTING_READY = "routing: ready"
ROUTING_CACHE = PROJECT_ROOT / "data" / "bench-cache"
STOP_TIMEOUT = 10.0
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

CONFIG_TEMPLATE = """
[telegram]
mode = "{mode}"
api_base = "{telegram_url}"
{pacer}{telegram_extra}
[storage]
url = "{database_url}"

[llm]
connect_timeout = 5.0
read_timeout = 60.0
max_retries = 2
retry_backoff_seconds = 0.5

[chat]
default_model = "bench"
system_prompt = "You are a helpful assistant."

[routing]
# Kept between runs (and benchmarks): the classifier is trained once per machine.
cache_dir = "{routing_cache}"

[providers.local]
type = "openai_compatible"
base_url = "{llm_url}/v1"
api_key_env = "{key_env}"

[models.bench]
provider = "local"
remote_name = "{model}"
display_name = "Benchmark model"
capabilities = {{ context_tokens = 32768, max_output_tokens = 2048 }}
"""
# Limits far above what a run uses: the quota work is done on every turn, nobody is refused.
QUOTAS_CONFIG = """
[plans.free]
kind = "free"
title = { en = "Free" }

[plans.free.limits]
bench = { messages = 1000000, tokens = 1000000000, window_hours = 24 }
"""


PACER_KEYS = (
    "global_messages_per_second",
    "chat_messages_per_second",
    "group_messages_per_minute",
)
"""The bot's pacer limits under ``[telegram]`` (Telegram's: 30 / 1.0 / 20)."""
PACER_OFF = 100_000
""""Pacer off": every pacer limit this high (or as high as the bot's config allows)."""
LOOP_LAG_ENV = "BOT_LOOP_LAG_SECONDS"


def bot_has_pacer_settings() -> bool:
    """Whether this version of the bot reads its pacer limits from ``[telegram]``."""
    from bot.config_sections import TelegramConfig

    return all(key in TelegramConfig.model_fields for key in PACER_KEYS)


def bot_accepts_env(name: str) -> bool:
    """Whether the bot starts with ``name`` in its environment: it refuses BOT_ variables it
    does not know (a bot without the loop-lag logger would not start with
    BOT_LOOP_LAG_SECONDS). Asks the bot's own check where it has one."""
    import bot.config as config

    check = getattr(config, "_override_problems", None)
    if callable(check):
        return not check({name: "1"})
    return name in getattr(config, "CLI_VARIABLES", {name})


def bot_draft_interval() -> float:
    """The bot's default ``[telegram] draft_interval_seconds`` (the benchmark keeps it)."""
    from bot.config_sections import TelegramConfig

    default = TelegramConfig.model_fields["draft_interval_seconds"].default
    return float(default)


def pacer_off_values() -> dict[str, float]:
    """Each pacer limit at PACER_OFF, or at the highest value the bot's config accepts."""
    from annotated_types import Le, Lt

    from bot.config_sections import TelegramConfig

    values: dict[str, float] = {}
    for key in PACER_KEYS:
        value: float = PACER_OFF
        field = TelegramConfig.model_fields.get(key)
        for constraint in field.metadata if field is not None else ():
            if isinstance(constraint, Le):
                value = min(value, float(constraint.le))  # type: ignore[arg-type]
            elif isinstance(constraint, Lt):
                value = min(value, float(constraint.lt) - 1)  # type: ignore[arg-type]
        values[key] = value
    return values


def pacer_config(pacer_off: bool) -> str:
    """The ``[telegram]`` lines that switch the bot's pacer off (none when it stays on, or
    when this bot has no such settings: unknown keys would stop it from starting)."""
    if not pacer_off or not bot_has_pacer_settings():
        return ""
    return "".join(f"{key} = {value:g}\n" for key, value in pacer_off_values().items())


def database_kind(url: str | None) -> str:
    """``sqlite`` or ``postgresql`` (the bot's storage URL scheme, without the driver)."""
    if url is None:
        return "sqlite"
    return url.split(":", 1)[0].split("+", 1)[0]


async def reset_database(url: str) -> None:
    """An empty ``public`` schema on the bot's PostgreSQL database (the bot migrates at start).

    Every table of that database's public schema is dropped: use a database of its own.
    """
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


class BenchClient(SandboxClient):
    """SandboxClient on one session whose connection pool fits every simulated user.

    aiohttp's default pool holds 100 connections; hundreds of users each waiting on
    ``/sandbox/wait`` would otherwise queue their next message behind other users' waits.
    """

    def __init__(self, base_url: str, connections: int) -> None:
        super().__init__(base_url)
        self._connections = connections

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session


@dataclass(frozen=True)
class ProcessSample:
    """Memory and CPU time of a process at one moment (from /proc)."""

    rss_bytes: int
    hwm_bytes: int
    cpu_seconds: float


def sample_process(pid: int) -> ProcessSample | None:
    """VmRSS, VmHWM and user+system CPU time of ``pid``; None when /proc cannot tell."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields: dict[str, int] = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024  # reported in kB
    # The command name (field 2) may contain spaces: count fields after its closing ")".
    after_name = stat.rsplit(")", 1)[-1].split()
    utime, stime = int(after_name[11]), int(after_name[12])
    return ProcessSample(
        rss_bytes=fields.get("VmRSS", 0),
        hwm_bytes=fields.get("VmHWM", 0),
        cpu_seconds=(utime + stime) / _CLOCK_TICKS,
    )


@dataclass(frozen=True)
class BotOptions:
    """How the bot process is started: its log level, and where its bytecode is cached.

    ``pycache`` (a ``PYTHONPYCACHEPREFIX``) is used when this environment forbids writing
    bytecode (``PYTHONDONTWRITEBYTECODE``): otherwise every bot start would compile the bot
    and its libraries from source, which takes many seconds and inflates its peak memory.
    """

    log_level: str = "INFO"
    pycache: Path | None = None
    quotas: bool = False  # a free plan that limits the model: every turn reserves and settles
    database_url: str | None = None  # None: a new SQLite file per run; else reset before each
    loop_lag_seconds: float = 2.0  # BOT_LOOP_LAG_SECONDS: how often the bot logs its loop lag
    # The scale scenario's Redis and its [redis] settings.
    redis_url: str | None = None
    lease_seconds: float = 10.0
    partitions: int = 16


def bot_environment(options: BotOptions) -> dict[str, str]:
    """The bot's environment: ours minus BOT_* overrides and proxies, plus token and key."""
    dropped = ("http_proxy", "https_proxy", "all_proxy")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("BOT_") and k.lower() not in dropped
    }
    if options.pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(options.pycache)
    env["BOT_LOG_LEVEL"] = options.log_level
    if bot_accepts_env(LOOP_LAG_ENV):
        env[LOOP_LAG_ENV] = f"{options.loop_lag_seconds:g}"
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
    )
    env[LLM_KEY_ENV] = "bench-key"
    return env


@dataclass
class Stack:
    sandbox: TelegramSandbox
    llm: ScriptedLLM
    client: BenchClient
    process: asyncio.subprocess.Process
    workdir: Path
    started_sample: ProcessSample | None

    @property
    def log_path(self) -> Path:
        return self.workdir / "bot.log"

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_bytes(self) -> bytes:
        try:
            return self.log_path.read_bytes()
        except OSError:
            return b""

    def log_size(self) -> int:
        """How many bytes the bot has written to its log so far."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def sample(self) -> ProcessSample | None:
        if self.process.returncode is not None:
            return None
        return sample_process(self.process.pid)

    def bot_alive(self) -> bool:
        return self.process.returncode is None

    def call_counts(self) -> dict[str, int]:
        """How many Bot API calls of each method the bot made (the sandbox's call log)."""
        return dict(Counter(str(call.get("method")) for call in self.sandbox.core.calls))

    def last_bot_activity(self) -> float:
        """When the bot last made a Bot API call other than getUpdates (monotonic seconds)."""
        for call in reversed(self.sandbox.core.calls):
            if str(call.get("method")).lower() != "getupdates":
                return float(call.get("at") or 0.0)
        return 0.0

    def rejections(self) -> list[dict[str, Any]]:
        """The 429s the sandbox gave (in-process view of ``GET /sandbox/limits``)."""
        return list(self.sandbox.core.limits.rejections)


def bot_config(
    *,
    telegram_url: str,
    llm_url: str,
    database_url: str,
    pacer_off: bool,
    quotas: bool,
    mode: str = "polling",
    telegram_extra: str = "",
    extra: str = "",
) -> str:
    """The bot's config.toml: the sandboxes, the storage, the benchmark model (and, for the
    scale scenario, webhook settings under ``[telegram]`` and a ``[redis]`` section)."""
    return (
        CONFIG_TEMPLATE.format(
            mode=mode,
            telegram_url=telegram_url,
            pacer=pacer_config(pacer_off),
            telegram_extra=telegram_extra,
            database_url=database_url,
            llm_url=llm_url,
            key_env=LLM_KEY_ENV,
            model=MODEL_NAME,
            routing_cache=ROUTING_CACHE,
        )
        + (QUOTAS_CONFIG if quotas else "")
        + extra
    )


async def _start_bot(
    workdir: Path, telegram_url: str, llm_url: str, options: BotOptions, pacer_off: bool
) -> asyncio.subprocess.Process:
    config = workdir / "config.toml"
    database_url = options.database_url or f"sqlite+aiosqlite:///{workdir / 'bot.sqlite3'}"
    if options.database_url is not None:
        await reset_database(options.database_url)
    config.write_text(
        bot_config(
            telegram_url=telegram_url,
            llm_url=llm_url,
            database_url=database_url,
            pacer_off=pacer_off,
            quotas=options.quotas,
        ),
        encoding="utf-8",
    )
    env = bot_environment(options)
    with (workdir / "bot.log").open("wb") as log:
        # cwd is the temp dir so that a developer's .env in the project never reaches the bot.
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )


async def _stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def running_stack(
    *,
    enforce_limits: bool,
    connections: int,
    options: BotOptions,
    keep_log: Path | None = None,
    pacer_off: bool = False,
) -> AsyncIterator[Stack]:
    """Start sandbox, scripted LLM and bot; wait until the bot polls; tear all down after.

    ``keep_log``: where to copy the bot's log before the temporary directory goes away.
    ``pacer_off``: the bot's pacer limits set far above any load (see :func:`pacer_config`).
    """
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        sandbox = TelegramSandbox(TOKEN, enforce_limits=enforce_limits)
        llm = ScriptedLLM(models=[MODEL_NAME])
        telegram_url = await sandbox.start("127.0.0.1", 0)
        client = BenchClient(telegram_url, connections)
        process: asyncio.subprocess.Process | None = None
        try:
            llm_url = await llm.start("127.0.0.1", 0)
            process = await _start_bot(workdir, telegram_url, llm_url, options, pacer_off)
            stack = Stack(sandbox, llm, client, process, workdir, None)
            await _wait_ready(stack)
            stack.started_sample = stack.sample()
            yield stack
        finally:
            if process is not None:
                await _stop_process(process)
            if keep_log is not None and (workdir / "bot.log").exists():
                keep_log.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(workdir / "bot.log", keep_log)
            await client.close()
            await llm.stop()
            await sandbox.stop()


async def _wait_ready(stack: Stack) -> None:
    """The bot is ready once it polls (its first getUpdates call) and its message classifier
    has loaded (which it does in the background; turns would wait for it)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not await stack.client.calls(method="getUpdates") or ROUTING_READY not in stack.log():
        if not stack.bot_alive() or time.monotonic() > deadline:
            status = (
                f"it exited with status {stack.process.returncode}"
                if not stack.bot_alive()
                else f"no getUpdates call after {STARTUP_TIMEOUT:g} s"
            )
            raise RuntimeError(
                f"the bot did not start ({status}); its log ends with:\n{stack.log_tail()}"
            )
        await asyncio.sleep(0.05)
