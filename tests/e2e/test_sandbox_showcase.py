"""`make run`'s sandbox shows what the README lists, without a browser: one sandbox process
(`python -m bot sandbox` on the example configuration) played through its control API, as the
chat page plays it.

- the bot's metrics move to a free port when the configured one is taken, and the start-up
  lines say where /metrics, /healthz and /readyz are; a second sandbox on the same page port
  stops with one line (exit status 2), not a traceback;
- the page's operator gets /stats (text and a PNG chart) and /broadcast (preview, confirm,
  progress, report) to the page's users, who can /unsubscribe;
- a voice message is transcribed and answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.sandbox.telegram import SandboxClient
from tests.e2e.conftest import PROJECT_ROOT, free_port

pytestmark = pytest.mark.e2e

OPERATOR, READER = 1001, 1002
VOICE = (PROJECT_ROOT / "tests/data/voice/hello_en.ogg").read_bytes()


@dataclass
class Sandbox:
    client: SandboxClient
    url: str
    output: list[str]
    metrics_url: str
    config: Path
    env: dict[str, str]
    held_port: int


def sandbox_command(config: Path, port: int, data: Path) -> list[str]:
    return [
        sys.executable, "-m", "bot", "sandbox", "--config", str(config),
        "--port", str(port), "--data-dir", str(data),
    ]  # fmt: skip


@pytest.fixture(scope="module")
async def sandbox(
    tmp_path_factory: pytest.TempPathFactory, routing_cache: Path, moderation_cache: Path
) -> AsyncIterator[Sandbox]:
    tmp = tmp_path_factory.mktemp("showcase")
    with socket.socket() as holder:  # what a bot running beside the sandbox would hold
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        held = holder.getsockname()[1]
        example = (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8")
        config = tmp / "config.toml"
        config.write_text(
            example.replace("metrics_port = 9464", f"metrics_port = {held}"), encoding="utf-8"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        env["BOT_ROUTING__CACHE_DIR"] = str(routing_cache)
        env["BOT_MODERATION__CACHE_DIR"] = str(moderation_cache)
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            *sandbox_command(config, port, tmp / "data"),
            cwd=PROJECT_ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert process.stdout is not None
        output: list[str] = []
        metrics = None
        try:
            async with asyncio.timeout(150):
                while metrics is None:
                    line = (await process.stdout.readline()).decode()
                    assert line, "the sandbox stopped:\n" + "".join(output)
                    output.append(line)
                    metrics = re.search(r"metrics on (http://\S+)/metrics,", line)
            drain = asyncio.create_task(_drain(process.stdout, output))
            async with SandboxClient(f"http://127.0.0.1:{port}") as client:
                yield Sandbox(
                    client, f"http://127.0.0.1:{port}", output, metrics.group(1), config, env, held
                )
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 30)
            with contextlib.suppress(NameError):
                drain.cancel()


async def _drain(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode())


async def answer(client: SandboxClient, user: int, text: str, count: int = 1) -> list[str]:
    """What the bot sends `user` after `text` (`count` messages)."""
    before = len(await client.bot_messages(user)) if await _has_chat(client, user) else 0
    await client.send(user, text, first_name="Alice" if user == OPERATOR else "Bob")
    messages = await client.wait_bot_messages(user, before + count, timeout=60)
    return [m["text"] or "" for m in messages[before:]]


async def _has_chat(client: SandboxClient, chat_id: int) -> bool:
    return any(c["id"] == chat_id for c in await client._get("/sandbox/chats"))


async def test_a_busy_metrics_port_is_moved_and_the_start_up_says_where(sandbox: Sandbox) -> None:
    port = int(sandbox.metrics_url.rsplit(":", 1)[1])
    assert port != sandbox.held_port
    said = "".join(sandbox.output)
    assert f"port {sandbox.held_port} is in use; the bot's metrics are on port {port}" in said
    assert f"health on {sandbox.metrics_url}/healthz and {sandbox.metrics_url}/readyz" in said
    await answer(sandbox.client, OPERATOR, "hello")  # one turn to count
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.metrics_url}/healthz") as response:
            assert (response.status, await response.json()) == (200, {"status": "alive"})
        async with http.get(f"{sandbox.metrics_url}/metrics") as response:
            assert response.status == 200
            assert 'status="complete"' in await response.text()  # bot_turns_total counted it
    assert "cannot listen" not in "".join(sandbox.output)


async def test_a_second_sandbox_on_the_same_page_port_stops_with_one_line(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    port = int(sandbox.url.rsplit(":", 1)[1])
    process = await asyncio.create_subprocess_exec(
        *sandbox_command(sandbox.config, port, tmp_path / "data"),
        cwd=PROJECT_ROOT, env=sandbox.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    said = stderr.decode()
    assert said.strip().splitlines()[-1] == (
        f"error: port {port} on 127.0.0.1 is in use: is another sandbox (`make run`) running? "
        f"Open http://127.0.0.1:{port}/ to use it, stop it with Ctrl+C, or start this one "
        "with `python -m bot sandbox --port PORT --data-dir ANOTHER_DIR`"
    )
    assert "Traceback" not in said + stdout.decode()
    assert "Unclosed" not in said


async def test_the_operator_sees_stats_with_a_chart(sandbox: Sandbox) -> None:
    client = sandbox.client
    await answer(client, READER, "hello from Bob")
    before = len(await client.bot_messages(OPERATOR))
    await client.send(OPERATOR, "/stats", first_name="Alice")
    text, chart = (await client.wait_bot_messages(OPERATOR, before + 2, timeout=60))[before:]
    assert text["text"].startswith("📊 The last 30 days")
    assert re.search(r"👥 Users: [2-9]\d*\.", text["text"])  # Alice and Bob at least
    assert chart["photo"] is not None
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sandbox.url}/sandbox/files/{chart['photo'][-1]['file_id']}") as response,
    ):
        assert (await response.read()).startswith(b"\x89PNG\r\n\x1a\n")


async def test_a_broadcast_reaches_the_pages_users_until_they_unsubscribe(
    sandbox: Sandbox,
) -> None:
    client = sandbox.client
    await answer(client, READER, "hello again")
    [prompt] = await answer(client, OPERATOR, "/broadcast")
    assert prompt.startswith("Send the message for every user")
    news = "**News:** the sandbox shows every feature.\n[Docs](https://example.com/docs)"
    preview, confirm = await answer(client, OPERATOR, news, count=2)
    assert preview == "News: the sandbox shows every feature."
    assert re.fullmatch(r"☝️ This is how it will look\. Send it to (\d+) users\?", confirm)
    users = int(confirm.split("to ")[1].split(" ")[0])
    assert users >= 2
    report = await _confirm_and_wait_report(client)
    assert report.endswith(
        f"{users} sent, 0 blocked the bot (marked inactive), 0 failed, of {users}."
    )
    copy = (await client.bot_messages(READER))[-1]
    assert copy["text"] == "News: the sandbox shows every feature."
    buttons = [b["text"] for row in copy["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["Docs", "Unsubscribe from announcements"]
    [done] = await answer(client, READER, "/unsubscribe")
    assert done.startswith("You will not receive announcements any more.")
    await answer(client, OPERATOR, "/broadcast")
    _, confirm = await answer(client, OPERATOR, "Second news.", count=2)
    assert confirm == f"☝️ This is how it will look. Send it to {users - 1} users?"
    report = await _confirm_and_wait_report(client)
    assert report.endswith(f"of {users - 1}.")
    assert (await client.bot_messages(READER))[-1]["text"] != "Second news."


async def _confirm_and_wait_report(client: SandboxClient) -> str:
    confirm = (await client.bot_messages(OPERATOR))[-1]
    send = confirm["reply_markup"]["inline_keyboard"][0][0]
    assert send["text"] == "Send"
    before = len(await client.bot_messages(OPERATOR))
    await client.press(OPERATOR, OPERATOR, confirm["message_id"], send["callback_data"])
    for _ in range(120):
        messages = await client.bot_messages(OPERATOR)
        reports = [m["text"] for m in messages[before - 1 :] if "is done in" in (m["text"] or "")]
        if reports:
            progress = next(m for m in messages if m["message_id"] == confirm["message_id"])
            assert progress["text"].startswith("Sending:")  # the confirmation became progress
            return str(reports[-1])
        await asyncio.sleep(0.5)
    raise AssertionError("no broadcast report in 60 s")


async def test_a_voice_message_is_transcribed_then_answered(sandbox: Sandbox) -> None:
    client = sandbox.client
    before = len(await client.bot_messages(OPERATOR))
    await client.send_voice(OPERATOR, VOICE)
    transcript, reply = (await client.wait_bot_messages(OPERATOR, before + 2, timeout=60))[before:]
    assert transcript["text"].startswith("🎙 Transcript:")
    assert "sandbox transcript of a" in transcript["text"]
    assert "Demo model" in reply["text"]
    assert "sandbox transcript of a" in reply["text"]  # answered as if typed
