"""Starting the bot: a bad configuration is refused with a message an operator can act on."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bot.storage.migrate import head_revision
from tests.e2e.conftest import PROJECT_ROOT, bot_environment

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
    output, _ = await asyncio.wait_for(process.communicate(), 60)
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


async def test_missing_provider_key_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    code, output = await run_bot("check-config", "--config", str(config))
    assert code == 2
    assert (
        "providers.openai.api_key_env: the environment variable OPENAI_API_KEY is not set" in output
    )


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
