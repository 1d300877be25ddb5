"""Scaled out: several real bot processes on one PostgreSQL database and one Redis, against the
sandbox's Telegram (which enforces Telegram's flood limits and counts its 429s).

The polling cluster is three `python -m bot run` processes (each a worker of the update queue
and a contender for the poller lease); the webhook cluster is two `python -m bot ingress`
replicas behind a small load balancer (Telegram's webhook) and three `python -m bot worker`s;
the restart cluster, one ingress and one worker on a Redis server of the test's own. Each
cluster has a PostgreSQL database of its own, migrated once before its processes start (as
the compose file's migration service does), and a Redis key prefix of its own.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.balancer import Balancer
from bench.cluster import forget_keys
from bot.queue.partitions import partition_of_chat
from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.telegram import SandboxClient, TelegramSandbox
from tests.e2e.conftest import (
    ADMIN_ID,
    CONFIG_TEMPLATE,
    EXTRA_MARK,
    GROUP_EDIT_INTERVAL,
    JUDGE_TIMEOUT,
    PROJECT_ROOT,
    REQUEST_TIMEOUT,
    STARTUP_TIMEOUT,
    SYSTEM_PROMPT,
    TOKEN,
    BotProcess,
    assert_no_secrets,
    bot_environment,
    free_port,
)
from tests.e2e.test_reliability import until
from tests.services.conftest import reachable

pytestmark = [pytest.mark.e2e, pytest.mark.services]

PROCESSES = 3
PARTITIONS = 6
LEASE_SECONDS = 3.0
# Telegram's overall limit in the sandbox, and the bot's. The bot keeps a little below it: the
# sandbox counts calls as they arrive, and on a loaded machine they arrive with jitter. Three
# processes keeping 10 a second each, unshared, could send 30.
GLOBAL_RATE = 12
BOT_GLOBAL_RATE = 10
POSTGRES_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
RESUMED = "I restarted while answering; this is the complete answer."


def echo(text: str) -> str:
    return f'This is the sandbox model "gpt-test". You wrote: {text}'


@dataclass
class Cluster:
    telegram: SandboxClient
    llm: ScriptedLLM
    redis: Redis
    prefix: str
    folder: Path
    config: Path
    environment: dict[str, str]
    processes: list[BotProcess]
    mode: str = "polling"
    balancer: Balancer | None = None

    def named(self, command: str) -> list[BotProcess]:
        return [bot for bot in self.processes if bot.log_path.name.startswith(command)]

    async def start(self, name: str, command: str = "run") -> BotProcess:
        log = self.folder / f"{name}.log"
        env = dict(self.environment, BOT_OBSERVABILITY__METRICS_PORT=str(free_port()))
        if command == "ingress" and self.balancer is not None:  # a replica behind it
            port = free_port()
            self.balancer.backends.append(port)
            env["BOT_TELEGRAM__WEBHOOK_PORT"] = str(port)
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bot", command, "--config", str(self.config)),
                cwd=PROJECT_ROOT,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        bot = BotProcess(process, log)
        self.processes.append(bot)
        await until(lambda: _started(bot), STARTUP_TIMEOUT, f"{name} starts")
        return bot

    async def owner(self, key: str) -> BotProcess:
        """The process holding a lease (its worker id is in its log)."""
        value = await self.redis.get(f"{self.prefix}:lease:{key}")
        assert value is not None, f"nobody holds {key}"
        holder = value.decode() if isinstance(value, bytes) else value
        for bot in self.processes:
            if bot.process.returncode is None and f"worker {holder}" in bot.log():
                return bot
        raise AssertionError(f"{key} is held by {holder!r}, no running process")

    async def leases_held(self) -> bool:
        keys = [f"{self.prefix}:lease:partition:{p}" for p in range(PARTITIONS)]
        if self.mode == "polling":
            keys.append(f"{self.prefix}:lease:poller")
        return int(await self.redis.exists(*keys)) == len(keys)

    async def spread(self) -> bool:
        """Every worker process holds a partition (the first to start took them all)."""
        keys = [f"{self.prefix}:lease:partition:{p}" for p in range(PARTITIONS)]
        holders = {h.decode() for h in await self.redis.mget(keys) if isinstance(h, bytes)}
        workers = [bot.log() for bot in self.processes if "taking partitions" in bot.log()]
        return all(any(f"worker {h}" in log for h in holders) for log in workers)

    def logs(self) -> str:
        return "\n".join(bot.log() for bot in self.processes)


async def _started(bot: BotProcess) -> bool:
    if bot.process.returncode is not None:
        raise AssertionError(f"the process exited:\n{bot.log()}")
    log = bot.log()
    return "taking partitions" in log or "webhook ingress on" in log


async def _database() -> AsyncIterator[str]:
    name = f"bot_scale_{secrets.token_hex(4)}"
    admin = create_async_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def _config(
    folder: Path,
    telegram_url: str,
    llm: ScriptedLLM,
    prefix: str,
    mode: str,
    redis_url: str,
    webhook_url: str,
) -> Path:
    characters = folder / "characters"
    shutil.copytree(PROJECT_ROOT / "characters", characters)
    redis = (
        f'[redis]\nurl = "{redis_url}"\npartitions = {PARTITIONS}\n'
        f'lease_seconds = {LEASE_SECONDS}\nkey_prefix = "{prefix}"\n'
    )
    config = folder / "config.toml"
    config.write_text(
        CONFIG_TEMPLATE.format(
            mode=mode,
            telegram_url=telegram_url,
            webhook_url=webhook_url,
            webhook_port=free_port(),  # each replica is given its own
            database=folder / "unused.sqlite3",  # the environment names PostgreSQL
            read_timeout=3.0,
            rich="false",
            edit_interval=GROUP_EDIT_INTERVAL,
            system_prompt=SYSTEM_PROMPT,
            llm_url=llm.base_url,
            routing="false",
            admin_id=ADMIN_ID,
            routes_dir=PROJECT_ROOT / "routes",
            cache_dir=folder / "cache",
            judge_timeout=JUDGE_TIMEOUT,
            characters_dir=characters,
            blob_dir=folder / "blobs",
            voice_models="",
            documents_settings="",
            extra_models="",
            payments_settings="",
            tools_settings="",
            default_model="gpt",
            request_timeout=REQUEST_TIMEOUT,
            global_rate=BOT_GLOBAL_RATE,
            metrics_port=free_port(),
            extra=f"{EXTRA_MARK}\n{redis}",
        ),
        encoding="utf-8",
    )
    return config


async def _cluster(
    folder: Path, llm: ScriptedLLM, mode: str, commands: list[str], redis_url: str = REDIS_URL
) -> AsyncIterator[Cluster]:
    if not reachable("127.0.0.1", 5432) or not reachable("127.0.0.1", 6379):
        pytest.skip("PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are needed")
    sandbox = TelegramSandbox(TOKEN, enforce_limits=True)
    telegram_url = await sandbox.start()
    telegram = SandboxClient(telegram_url)
    await telegram.set_limits(True, global_per_second=GLOBAL_RATE)
    prefix = f"e2e-{secrets.token_hex(4)}"
    redis = Redis.from_url(redis_url)
    database = _database()
    url = await anext(database)
    environment = bot_environment(
        BOT_STORAGE__URL=url, TELEGRAM_WEBHOOK_SECRET=f"e2e-{secrets.token_hex(8)}"
    )
    balancer = Balancer(free_port()) if mode == "webhook" else None
    port = balancer.port if balancer is not None else free_port()
    if balancer is not None:  # Telegram calls the balancer, which calls the replicas
        await balancer.start()
    hook = f"http://127.0.0.1:{port}/telegram/webhook"
    config = _config(folder, telegram_url, llm, prefix, mode, redis_url, hook)
    migrate = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "migrate", "--config", str(config)),
        cwd=PROJECT_ROOT,
        env=environment,
    )
    assert await migrate.wait() == 0
    cluster = Cluster(telegram, llm, redis, prefix, folder, config, environment, [], mode, balancer)
    try:
        await asyncio.gather(
            *(cluster.start(f"{command}{i}", command) for i, command in enumerate(commands))
        )
        await until(cluster.leases_held, 30, "every partition (and the poller) is taken")
        await until(cluster.spread, 30, "the partitions are spread over the workers")
        yield cluster
    finally:
        await asyncio.gather(*(bot.stop() for bot in cluster.processes))
        await telegram.close()
        await sandbox.stop()
        if balancer is not None:
            await balancer.stop()
        await forget_keys(redis, prefix)
        await redis.aclose()
        await anext(database, None)
    assert_no_secrets(cluster.logs())


@pytest.fixture(scope="module")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> AsyncIterator[Cluster]:
    folder = tmp_path_factory.mktemp("scale")
    async for cluster in _cluster(folder, llm, "polling", ["run"] * PROCESSES):
        yield cluster


@pytest.fixture(scope="module")
async def webhook_cluster(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> AsyncIterator[Cluster]:
    folder = tmp_path_factory.mktemp("scale-webhook")
    commands = ["ingress", "ingress", "worker", "worker", "worker"]
    async for cluster in _cluster(folder, llm, "webhook", commands):
        yield cluster


async def _answers(cluster: Cluster, chat_id: int, count: int) -> list[str]:
    messages = await cluster.telegram.bot_messages(chat_id)
    texts = [str(m["text"] or "") for m in messages]
    return texts if len(texts) >= count else []


async def test_many_chats_are_answered_in_order_by_several_workers_within_the_global_limit(
    cluster: Cluster,
) -> None:
    chats = [7_100_000 + i for i in range(30)]
    per_chat = 4
    await cluster.telegram.limits()  # (the sandbox's counters start empty with the cluster)
    for round_ in range(per_chat):
        await asyncio.gather(
            *(cluster.telegram.send(chat, f"chat {chat} message {round_}") for chat in chats)
        )
    for chat in chats:
        texts = await until(functools.partial(_answers, cluster, chat, per_chat), 120, "answers")
        assert texts == [echo(f"chat {chat} message {i}") for i in range(per_chat)]
    rejected = (await cluster.telegram.limits())["rejections"]
    assert rejected == []  # Telegram's global limit held by three processes together
    answering = [bot for bot in cluster.processes if "answer delivered" in bot.log()]
    assert len(answering) >= 2  # the chats were spread over the workers


async def test_stop_reaches_the_answer_through_the_queue(cluster: Cluster) -> None:
    chat = 7_200_001
    cluster.llm.script("A long answer that goes on. " * 40, match="stoppable scaled")
    cluster.llm.set_knobs(token_delay_ms=80)
    await cluster.telegram.send(chat, "stoppable scaled")
    await until(lambda: _draft(cluster, chat), 30, "the answer streams")
    await cluster.telegram.send(chat, "/stop")
    [reply] = await until(lambda: _answers(cluster, chat, 1), 15, "the stopped answer")
    assert reply.endswith("⏹ Stopped.")
    assert len(reply) < len("A long answer that goes on. " * 40)


async def _draft(cluster: Cluster, chat: int) -> bool:
    return any(d.get("text") for d in await cluster.telegram.drafts(chat))


async def test_a_worker_killed_mid_answer_leaves_it_to_another(cluster: Cluster) -> None:
    """SIGKILL the worker that generates an answer (and polls, if it holds that lease too):
    another takes its partitions over once the lease lapses, completes the answer, and
    polling goes on in a surviving process."""
    chat = 7_300_001
    cluster.llm.set_knobs(ttft_ms=200, token_delay_ms=120, chunk_chars=2)
    await cluster.telegram.send(chat, "scaled crash question")
    await until(lambda: _draft(cluster, chat), 30, "the answer streams")
    victim = await cluster.owner(f"partition:{partition_of_chat(chat, PARTITIONS)}")
    killed_at = time.monotonic()
    await victim.kill()
    [answer] = await until(lambda: _answers(cluster, chat, 1), 60, "the answer is completed")
    recovered_in = time.monotonic() - killed_at
    assert echo("scaled crash question") in answer
    assert RESUMED in answer
    assert recovered_in < LEASE_SECONDS + 30  # ~4 s of streaming again after the takeover
    cluster.llm.set_knobs(ttft_ms=0, token_delay_ms=0)
    later = 7_300_002  # polling goes on, whoever polled before
    await cluster.telegram.send(later, "after the crash")
    [reply] = await until(lambda: _answers(cluster, later, 1), 30, "a later message answered")
    assert reply == echo("after the crash")
    await asyncio.sleep(2)
    assert len(await cluster.telegram.bot_messages(chat)) == 1  # completed once, not twice


async def test_the_poller_killed_polling_resumes_in_another_process(cluster: Cluster) -> None:
    poller = await cluster.owner("poller")
    killed_at = time.monotonic()
    await poller.kill()
    chat = 7_400_001
    await cluster.telegram.send(chat, "who polls now")
    [reply] = await until(lambda: _answers(cluster, chat, 1), 30, "answered after the kill")
    assert reply == echo("who polls now")
    assert time.monotonic() - killed_at < LEASE_SECONDS + 10  # the lease, then one poll
    assert await cluster.owner("poller") is not poller


async def test_two_webhook_replicas_queue_updates_for_three_workers_each_chat_in_order(
    webhook_cluster: Cluster,
) -> None:
    """Two `python -m bot ingress` replicas behind a load balancer answer Telegram's webhook
    calls once Redis has the update; three `python -m bot worker`s answer 50 chats x 10
    messages, each chat's in order, once, within Telegram's global limit."""
    cluster = webhook_cluster
    chats = [7_500_000 + i for i in range(50)]
    per_chat = 10
    for round_ in range(per_chat):
        await asyncio.gather(
            *(cluster.telegram.send(chat, f"hook {chat} {round_}") for chat in chats)
        )
    for chat in chats:
        texts = await until(functools.partial(_answers, cluster, chat, per_chat), 180, "answers")
        assert texts == [echo(f"hook {chat} {i}") for i in range(per_chat)]
    assert cluster.balancer is not None
    assert len(cluster.balancer.served) == 2  # both replicas took updates in
    assert not any("answer delivered" in bot.log() for bot in cluster.named("ingress"))
    answering = [bot for bot in cluster.named("worker") if "answer delivered" in bot.log()]
    assert len(answering) == 3
    assert (await cluster.telegram.limits())["rejections"] == []


class OwnRedis:
    """A Redis server of this test's own (the shared one is not restarted), with AOF."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--appendonly", "yes", "--appendfsync", "always", "--save", ""),
            *("--dir", str(self.folder)),
            stdout=asyncio.subprocess.DEVNULL,
        )
        await until(self._up, 10, "Redis starts")

    async def _up(self) -> bool:
        return reachable("127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()  # a clean shutdown; the AOF has every write
            await self.process.wait()


@pytest.fixture(scope="module")
async def own_redis(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path_factory.mktemp("redis"))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def restart_cluster(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM, own_redis: OwnRedis
) -> AsyncIterator[Cluster]:
    folder = tmp_path_factory.mktemp("scale-restart")
    commands = ["ingress", "worker"]
    async for cluster in _cluster(folder, llm, "webhook", commands, own_redis.url):
        yield cluster


async def test_redis_restarted_mid_run_loses_no_update(
    restart_cluster: Cluster, own_redis: OwnRedis
) -> None:
    """Redis stops while users write: the ingress answers Telegram 503 (Telegram keeps the
    updates and retries); once Redis is back every message is answered, in order, once."""
    cluster = restart_cluster
    chats = [7_600_000 + i for i in range(4)]
    await asyncio.gather(*(cluster.telegram.send(chat, f"before {chat}") for chat in chats))
    for chat in chats:
        await until(functools.partial(_answers, cluster, chat, 1), 60, "answered before")
    await own_redis.stop()
    for round_ in range(2):
        sends = (cluster.telegram.send(chat, f"during {chat} {round_}") for chat in chats)
        await asyncio.gather(*sends)

    async def refused() -> bool:
        webhook = (await cluster.telegram.info())["webhook"]
        return "503" in str(webhook.get("last_error_message"))

    await until(refused, 20, "the ingress answers 503")
    await asyncio.sleep(2)
    await own_redis.start()
    for chat in chats:
        texts = await until(functools.partial(_answers, cluster, chat, 3), 90, "answered after")
        assert texts == [echo(f"before {chat}"), echo(f"during {chat} 0"), echo(f"during {chat} 1")]
    await asyncio.sleep(2)
    for chat in chats:
        assert len(await cluster.telegram.bot_messages(chat)) == 3  # once each


async def test_a_worker_stopped_for_a_deploy_finishes_its_answer_and_hands_over_at_once(
    webhook_cluster: Cluster,
) -> None:
    """SIGTERM (a rolling deploy): the worker lets the answer in flight finish, gives its
    partitions back without waiting for the lease to lapse, and the chat's next message is
    answered by another worker."""
    cluster = webhook_cluster
    chat = 7_700_001
    cluster.llm.set_knobs(ttft_ms=200, token_delay_ms=60, chunk_chars=2)
    await cluster.telegram.send(chat, "deploy question")
    await until(lambda: _draft(cluster, chat), 30, "the answer streams")
    leaving = await cluster.owner(f"partition:{partition_of_chat(chat, PARTITIONS)}")
    await leaving.stop()
    assert leaving.process.returncode == 0
    [answer] = await until(lambda: _answers(cluster, chat, 1), 30, "the answer")
    assert answer == echo("deploy question")  # finished by the leaving worker, not resumed
    cluster.llm.set_knobs(ttft_ms=0, token_delay_ms=0)
    asked = time.monotonic()
    await cluster.telegram.send(chat, "after the deploy")
    texts = await until(lambda: _answers(cluster, chat, 2), 30, "the next answer")
    assert texts[1] == echo("after the deploy")
    assert time.monotonic() - asked < LEASE_SECONDS  # no lease had to lapse
    await cluster.owner(f"partition:{partition_of_chat(chat, PARTITIONS)}")  # a running one


async def test_stop_pressed_while_the_answering_worker_stops_for_a_deploy(
    webhook_cluster: Cluster,
) -> None:
    """SIGTERM the worker generating a long answer (a rolling deploy), then press Stop: the
    leaving worker still takes the Stop (the chat's other updates wait for the next owner),
    the answer ends stopped at once instead of running to its end, and the worker exits."""
    cluster = webhook_cluster
    chat = 7_800_001
    long = "A long answer that goes on. " * 30
    cluster.llm.script(long, match="stop during a deploy")
    cluster.llm.set_knobs(ttft_ms=0, token_delay_ms=100, chunk_chars=0)  # about 18 s
    await cluster.telegram.send(chat, "stop during a deploy")
    await until(lambda: _draft(cluster, chat), 30, "the answer streams")
    leaving = await cluster.owner(f"partition:{partition_of_chat(chat, PARTITIONS)}")
    leaving.process.send_signal(signal.SIGTERM)
    await asyncio.sleep(1)
    pressed = time.monotonic()
    await cluster.telegram.send(chat, "/stop")
    [reply] = await until(lambda: _answers(cluster, chat, 1), 15, "the stopped answer")
    assert reply.endswith("⏹ Stopped.")
    assert len(reply) < len(long)
    assert time.monotonic() - pressed < 8  # not the rest of the answer
    await asyncio.wait_for(leaving.process.wait(), 30)
    assert leaving.process.returncode == 0
    cluster.llm.set_knobs(token_delay_ms=0)
    await cluster.start("worker-again", "worker")  # the cluster as it was, for later tests
