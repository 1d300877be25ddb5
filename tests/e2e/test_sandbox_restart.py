"""`make run`'s sandbox stopped and started again on the same data: the next message is
answered (the sandbox's update ids go on from where they were, as Telegram's do)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox.telegram import SandboxClient
from tests.e2e.conftest import PROJECT_ROOT, bot_environment, free_port

pytestmark = pytest.mark.e2e

CONFIG = """
[chat]
default_model = "local"

[routing]
enabled = false

[providers.local]
type = "openai_compatible"
base_url = "http://127.0.0.1:1/v1"

[models.local]
provider = "local"
remote_name = "local-model"
display_name = "Local"
"""


async def start_sandbox(config: Path, data: Path, port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--config",
        str(config),
        "--port",
        str(port),
        "--data-dir",
        str(data),
        cwd=PROJECT_ROOT,
        env=bot_environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = b""
    async with asyncio.timeout(90):
        while b"Sandbox ready" not in output:
            line = await process.stdout.readline()
            assert line, f"the sandbox stopped:\n{output.decode()}"
            output += line
    return process


async def say(client: SandboxClient, user: int, text: str) -> tuple[int, dict[str, Any]]:
    """The update id the sandbox gave the message, and the bot's answer."""
    sent = await client._post("/sandbox/send", {"user": {"id": user}, "text": text})
    # The page is served before the bot has loaded: the first answer may take a while.
    [answer] = (await client.wait_bot_messages(user, 1, timeout=90))[-1:]
    return int(sent["update_id"]), answer


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    async with asyncio.timeout(40):
        await process.wait()


async def test_a_restarted_sandbox_keeps_answering(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    metrics_port = free_port()  # not the default 9464, which a real bot may hold
    config.write_text(
        f"{CONFIG}\n[observability]\nmetrics_port = {metrics_port}\n", encoding="utf-8"
    )
    data, port = tmp_path / "sandbox-data", free_port()
    first = await start_sandbox(config, data, port)
    try:
        async with SandboxClient(f"http://127.0.0.1:{port}") as client:
            before, answer = await say(client, 7001, "hello before the restart")
            assert "hello before the restart" in answer["text"]
        # The sandbox's bot serves its metrics like a real one.
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{metrics_port}/metrics") as response,
        ):
            assert response.status == 200
            assert 'bot_turns_total{model="local",route="none",status="complete"} 1.0' in (
                await response.text()
            )
    finally:
        await stop(first)
    assert first.returncode == 0
    second = await start_sandbox(config, data, port)
    try:
        async with SandboxClient(f"http://127.0.0.1:{port}") as client:
            after, answer = await say(client, 7002, "hello after the restart")
            assert "hello after the restart" in answer["text"]
    finally:
        await stop(second)
    assert after > before  # Telegram's ids go on; so do the sandbox's
