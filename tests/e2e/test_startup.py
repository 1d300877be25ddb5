"""Starting the bot: a bad configuration is refused with a message an operator can act on."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.telegram import TelegramSandbox
from bot.storage.migrate import head_revision
from tests.e2e.conftest import PROJECT_ROOT, TOKEN, bot_environment, free_port

pytestmark = pytest.mark.e2e


async def run_bot(*args: str, **env: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=PROJECT_ROOT,
        env=bot_environment(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:  # a bot that started instead of stopping: do not leave it running
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, output.decode()


async def test_invalid_config_refuses_to_start_naming_the_field(tmp_path: Path) -> None:
    example = (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8")
    broken = example.replace('display_name = "Gemma 2 9B (self-hosted)"', 'dispaly_name = "Gemma"')
    config = tmp_path / "config.toml"
    config.write_text(broken, encoding="utf-8")
    code, output = await run_bot("run", "--config", str(config))
    assert code == 2
    assert f"{config}: invalid configuration" in output
    assert "models.gemma.dispaly_name: Extra inputs are not permitted" in output
    assert "models.gemma.display_name: Field required" in output
    assert "Traceback" not in output


async def test_the_example_starts_without_the_keys_of_its_hosted_models(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    code, output = await run_bot("check-config", "--config", str(config))
    assert code == 0, output
    assert f"{config}: OK (2 models)" in output  # the self-hosted ones
    [warning] = [line for line in output.splitlines() if "WARNING" in line]
    assert "left out, since their provider's key is not set" in warning
    assert "gpt-4-1-mini, whisper (OPENAI_API_KEY is not set)" in warning
    assert "claude-sonnet (ANTHROPIC_API_KEY is not set)" in warning


async def test_a_missing_key_the_configuration_needs_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    example = (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8")
    config.write_text(
        example.replace('default_model = "qwen"', 'default_model = "gpt-4-1-mini"'),
        encoding="utf-8",
    )
    code, output = await run_bot("check-config", "--config", str(config))
    assert code == 2
    assert (
        "providers.openai.api_key_env: the environment variable OPENAI_API_KEY is not set" in output
    )
    assert "ANTHROPIC_API_KEY" not in output.split("Configuration error", 1)[1]  # left out


KEYS = {"OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "sk-ant-test"}


async def test_check_config_reports_the_routes_and_their_calibration(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    example = (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8")
    config.write_text(example, encoding="utf-8")
    code, output = await run_bot("check-config", "--config", str(config), **KEYS)
    assert code == 0, output
    assert "routes: chat, code, image, math, search, translate, writing" in output
    assert "calibration up to date" in output
    assert "warning" not in output  # the shipped routes name the example's model ids


async def test_a_broken_route_file_refuses_to_start_naming_file_and_field(
    tmp_path: Path,
) -> None:
    routes = tmp_path / "routes"
    routes.mkdir()
    for source in (PROJECT_ROOT / "routes").glob("*.md"):
        (routes / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    broken = routes / "math.md"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("error_target:", "eror_target:"),
        encoding="utf-8",
    )
    example = (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "config.toml"
    example = example.replace("sqlite+aiosqlite:///data/", f"sqlite+aiosqlite:///{tmp_path}/")
    config.write_text(
        example.replace("[routing]\n", f'[routing]\nroutes_dir = "{routes}"\n'), encoding="utf-8"
    )
    code, output = await run_bot("run", "--config", str(config), TELEGRAM_BOT_TOKEN="1:x", **KEYS)
    assert code == 2
    assert f"{broken}: eror_target: unknown field; remove it or fix its spelling" in output
    assert "Traceback" not in output


async def test_migrate_command_creates_the_schema(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    example = (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8")
    database = tmp_path / "data" / "bot.sqlite3"
    config.write_text(
        example.replace("sqlite+aiosqlite:///data/bot.sqlite3", f"sqlite+aiosqlite:///{database}"),
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        "--config",
        str(config),
        cwd=PROJECT_ROOT,
        env=bot_environment(OPENAI_API_KEY="k", ANTHROPIC_API_KEY="k"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()
    assert f"database at revision {head_revision()}" in output.decode()
    assert database.exists()


STARTUP_CONFIG = """
[telegram]
api_base = "{telegram}"

[storage]
url = "sqlite+aiosqlite:///{tmp}/bot.sqlite3"

[chat]
default_model = "gpt"

[routing]
enabled = false

[providers.openai]
type = "openai_compatible"
base_url = "{llm}/v1"
api_key_env = "E2E_OPENAI_KEY"

[models.gpt]
provider = "openai"
remote_name = "gpt-test"
display_name = "GPT Test"
"""


def startup_config(tmp_path: Path, telegram: str, llm: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        STARTUP_CONFIG.format(telegram=telegram, llm=llm, tmp=tmp_path), encoding="utf-8"
    )
    return config


def assert_one_clean_line(output: str, expected: str) -> None:
    """The problem in one line, with what to check; no traceback, no aiohttp noise."""
    assert expected in output, output
    assert "Traceback" not in output
    assert "Unclosed" not in output
    assert len([line for line in output.splitlines() if line.startswith("error: ")]) == 1


async def test_a_rejected_token_says_to_check_telegram_bot_token(tmp_path: Path) -> None:
    sandbox = TelegramSandbox("1:the-right-token")
    llm = ScriptedLLM()
    try:
        config = startup_config(tmp_path, await sandbox.start(), await llm.start())
        code, output = await run_bot("run", "--config", str(config), TELEGRAM_BOT_TOKEN="1:wrong")
    finally:
        await sandbox.stop()
        await llm.stop()
    assert code == 2
    assert_one_clean_line(output, "rejected the bot token: check TELEGRAM_BOT_TOKEN")


async def test_an_unreachable_telegram_says_what_to_check(tmp_path: Path) -> None:
    llm = ScriptedLLM()
    try:
        closed = f"http://127.0.0.1:{free_port()}"
        config = startup_config(tmp_path, closed, await llm.start())
        code, output = await run_bot("run", "--config", str(config))
    finally:
        await llm.stop()
    assert code == 2
    assert_one_clean_line(output, f"cannot reach Telegram at {closed}")
    assert "check the network connection, a firewall or proxy, or telegram.api_base" in output


async def test_a_provider_refusing_its_key_names_the_variable(tmp_path: Path) -> None:
    sandbox = TelegramSandbox(TOKEN)
    llm = ScriptedLLM(api_key="the-right-key")
    try:
        config = startup_config(tmp_path, await sandbox.start(), await llm.start())
        code, output = await run_bot("run", "--config", str(config))
        calls = [c["method"] for c in sandbox.core.calls]
    finally:
        await sandbox.stop()
        await llm.stop()
    assert code == 2
    assert_one_clean_line(output, "provider openai")
    assert "refused the key (HTTP 401): check E2E_OPENAI_KEY" in output
    assert "getUpdates" not in calls  # it never started polling
