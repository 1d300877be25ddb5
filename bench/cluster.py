"""The scale scenario's system under test: several bot processes on one PostgreSQL database
and one Redis, against the sandboxes in this process.

With polling ingress every process is ``python -m bot run`` (a worker of the update queue and
a contender for the poller lease); with webhook ingress there are REPLICAS ``python -m bot
ingress`` processes behind a round-robin balancer (Telegram's webhook) and the workers are
``python -m bot worker``. The database is migrated once before any process starts (as the
compose file's migration service does); every Redis key of the run has a prefix of its own
and is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from redis.asyncio import Redis

from bench.balancer import Balancer
from bench.stack import (
    MODEL_NAME,
    ROUTING_READY,
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    TOKEN,
    BenchClient,
    BotOptions,
    ProcessSample,
    bot_config,
    bot_environment,
    reset_database,
    sample_process,
)
from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.telegram import TelegramSandbox

Ingress = Literal["polling", "webhook"]
REPLICAS = 2
"""Webhook ingress replicas behind the balancer."""
MB = 1024 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_WORKER_ID = re.compile(r"worker (\S+): taking partitions")


@dataclass(frozen=True)
class ClusterOptions:
    workers: int
    ingress: Ingress
    redis_url: str
    lease_seconds: float = 10.0
    partitions: int = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Member:
    """One bot process of the cluster; its last CPU and memory sample outlives it."""

    name: str
    command: str
    process: asyncio.subprocess.Process
    log_path: Path
    last: ProcessSample | None = None

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    @property
    def is_worker(self) -> bool:
        return self.command in ("run", "worker")

    def sample(self) -> ProcessSample | None:
        if self.alive:
            self.last = sample_process(self.process.pid) or self.last
        return self.last

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def worker_id(self) -> str | None:
        match = _WORKER_ID.search(self.log())
        return match[1] if match else None

    def ready(self) -> bool:
        log = self.log()
        if self.is_worker:
            return "taking partitions" in log and ROUTING_READY in log
        return "webhook ingress on" in log


@dataclass
class Cluster:
    sandbox: TelegramSandbox
    llm: ScriptedLLM
    client: BenchClient
    redis: Redis
    prefix: str
    options: ClusterOptions
    config: Path
    workdir: Path
    environment: dict[str, str]
    balancer: Balancer | None
    members: list[Member] = field(default_factory=list)
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def workers(self) -> list[Member]:
        return [m for m in self.members if m.is_worker and m.alive]

    async def start(self, command: str) -> Member:
        """Start one process (not waiting for it to be ready)."""
        name = f"{command}{next(self._names)}"
        env = dict(self.environment, BOT_OBSERVABILITY__METRICS_PORT=str(free_port()))
        if command == "ingress" and self.balancer is not None:
            port = free_port()
            self.balancer.backends.append(port)
            env["BOT_TELEGRAM__WEBHOOK_PORT"] = str(port)
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bot", command, "--config", str(self.config)),
                cwd=self.workdir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        member = Member(name, command, process, log)
        member.sample()
        self.members.append(member)
        return member

    async def wait_ready(self, member: Member) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not member.ready():
            if not member.alive or time.monotonic() > deadline:
                tail = "\n".join(member.log().splitlines()[-40:])
                raise RuntimeError(f"{member.name} did not start; its log ends with:\n{tail}")
            await asyncio.sleep(0.1)

    def kill(self, member: Member) -> None:
        """SIGKILL: no shutdown, no hand-over (its leases lapse)."""
        member.sample()
        with contextlib.suppress(ProcessLookupError):
            member.process.send_signal(signal.SIGKILL)

    async def owners(self) -> dict[int, Member]:
        """Which running process holds each partition's lease now."""
        keys = [self._lease_key(p) for p in range(self.options.partitions)]
        holders = await self.redis.mget(keys)
        by_id = {m.worker_id(): m for m in self.members if m.alive}
        found: dict[int, Member] = {}
        for partition, holder in enumerate(holders):
            member = by_id.get(holder.decode()) if isinstance(holder, bytes) else None
            if member is not None:
                found[partition] = member
        return found

    async def settled(self) -> bool:
        """Every partition (and, polling, the poller lease) held, each worker with a share."""
        owners = await self.owners()
        if len(owners) < self.options.partitions:
            return False
        if self.options.ingress == "polling" and not await self.redis.exists(
            f"{self.prefix}:lease:poller"
        ):
            return False
        return {id(m) for m in owners.values()} == {id(m) for m in self.workers}

    def _lease_key(self, partition: int) -> str:
        return f"{self.prefix}:lease:partition:{partition}"

    def cpu_seconds(self) -> float:
        """User+system CPU of every process so far (a killed one: up to its last sample)."""
        return sum(s.cpu_seconds for m in self.members if (s := m.sample()) is not None)

    def peak_rss_mb(self) -> float | None:
        """The largest peak RSS of any one process."""
        peaks = [s.hwm_bytes for m in self.members if (s := m.sample()) is not None]
        return round(max(peaks) / MB, 1) if peaks else None

    def logs(self) -> list[str]:
        return [m.log() for m in self.members]

    async def stop(self) -> None:
        for member in self.members:
            if member.alive:
                member.sample()
                with contextlib.suppress(ProcessLookupError):
                    member.process.send_signal(signal.SIGTERM)
        for member in self.members:
            try:
                await asyncio.wait_for(member.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    member.process.kill()
                await member.process.wait()


SERVICES = ("postgres", "redis-server")
"""The processes (by command name) whose CPU the scale runs report besides the bot's."""


async def forget_keys(redis: Redis, prefix: str) -> None:
    """Delete every key under `prefix` (a run's or a test's own)."""
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


def services_cpu_seconds() -> float:
    """User+system CPU so far of every PostgreSQL and Redis process on this machine (a
    PostgreSQL backend that exits takes its share with it: a lower bound)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        if name in SERVICES:
            fields = text.rsplit(")", 1)[-1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def _redis_section(options: ClusterOptions, prefix: str) -> str:
    return (
        f'\n[redis]\nurl = "{options.redis_url}"\npartitions = {options.partitions}\n'
        f'lease_seconds = {options.lease_seconds:g}\nkey_prefix = "{prefix}"\n'
    )


async def _migrate(config: Path, workdir: Path, environment: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "migrate", "--config", str(config)),
        cwd=workdir,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the migration failed:\n{output.decode(errors='replace')[-3000:]}")


def _keep(members: list[Member], folder: Path) -> None:
    """Copy every process's log into ``folder`` (the temporary directory goes away)."""
    folder.mkdir(parents=True, exist_ok=True)
    for member in members:
        shutil.copyfile(member.log_path, folder / member.log_path.name)


@contextlib.asynccontextmanager
async def running_cluster(
    options: ClusterOptions,
    bot: BotOptions,
    *,
    connections: int,
    keep_logs: Path | None = None,
) -> AsyncIterator[Cluster]:
    """Sandboxes, a migrated database, the processes (ready, the partitions spread over the
    workers); afterwards every process stopped, the run's Redis keys deleted."""
    assert bot.database_url is not None
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = Path(tmp)
        sandbox = TelegramSandbox(TOKEN, enforce_limits=False)
        llm = ScriptedLLM(models=[MODEL_NAME])
        telegram_url = await sandbox.start("127.0.0.1", 0)
        client = BenchClient(telegram_url, connections)
        llm_url = await llm.start("127.0.0.1", 0)
        prefix = f"bench-{secrets.token_hex(4)}"
        redis = Redis.from_url(options.redis_url)
        balancer = Balancer(free_port()) if options.ingress == "webhook" else None
        telegram_extra = ""
        if balancer is not None:
            await balancer.start()
            hook = f"http://127.0.0.1:{balancer.port}/telegram/webhook"
            telegram_extra = f'webhook_url = "{hook}"\nwebhook_host = "127.0.0.1"\n'
        await reset_database(bot.database_url)
        config = workdir / "config.toml"
        config.write_text(
            bot_config(
                telegram_url=telegram_url,
                llm_url=llm_url,
                database_url=bot.database_url,
                pacer_off=True,
                quotas=bot.quotas,
                mode=options.ingress,
                telegram_extra=telegram_extra,
                extra=_redis_section(options, prefix),
            ),
            encoding="utf-8",
        )
        environment = bot_environment(bot)
        environment["TELEGRAM_WEBHOOK_SECRET"] = f"bench-{secrets.token_hex(8)}"
        cluster = Cluster(
            sandbox, llm, client, redis, prefix, options, config, workdir, environment, balancer
        )
        try:
            await _migrate(config, workdir, environment)
            replicas = REPLICAS if options.ingress == "webhook" else 0
            commands = ["ingress"] * replicas + [
                "run" if options.ingress == "polling" else "worker"
            ] * options.workers
            members = [await cluster.start(command) for command in commands]
            await asyncio.gather(*(cluster.wait_ready(m) for m in members))
            deadline = time.monotonic() + 3 * options.lease_seconds + 30
            while not await cluster.settled():
                if time.monotonic() > deadline:
                    raise RuntimeError("the partitions were not spread over the workers")
                await asyncio.sleep(0.2)
            yield cluster
        finally:
            await cluster.stop()
            if keep_logs is not None:
                _keep(cluster.members, keep_logs)
            await client.close()
            await llm.stop()
            await sandbox.stop()
            if balancer is not None:
                await balancer.stop()
            await forget_keys(redis, prefix)
            await redis.aclose()
