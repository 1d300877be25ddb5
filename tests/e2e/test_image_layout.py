"""The Docker image holds everything the bot reads, proven without a Docker daemon.

The Dockerfile's COPY lines are read and just those files are installed into a temporary
directory laid out like the image's /app; `check-config` and a sandbox turn run there. A
directory the bot reads but the Dockerfile does not copy (routes/, characters/, locales/)
fails these tests. docker-compose.yml is validated against the Compose specification's schema.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import signal
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.sandbox.telegram import SandboxClient
from tests.e2e.conftest import PROJECT_ROOT, free_port

pytestmark = pytest.mark.e2e

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.sqlite3*")


def dockerfile_lines() -> list[str]:
    """Instructions with continuation lines joined and comments dropped."""
    text = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY from the build context (not from other stages)."""
    found = []
    for line in dockerfile_lines():
        words = shlex.split(line)
        if words[0].upper() != "COPY" or any(w.startswith("--from") for w in words):
            continue
        paths = [w for w in words[1:] if not w.startswith("--")]
        found.append((paths[:-1], paths[-1]))
    return found


def install_like_the_image(root: Path) -> Path:
    """Copy what the COPY lines name into ``root``, which stands for the image's WORKDIR."""
    for sources, destination in copies():
        target = root / destination.removeprefix("/app/").removeprefix("./")
        for source in sources:
            path = PROJECT_ROOT / source
            if path.is_dir():  # COPY dir/ dest/ copies the directory's content into dest/
                shutil.copytree(path, target, ignore=IGNORED, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / path.name)
    return root


def test_the_image_copies_what_the_bot_reads_and_runs_as_a_non_root_user() -> None:
    copied = {source.rstrip("/") for sources, _ in copies() for source in sources}
    wanted = {"bot", "locales", "routes", "characters", "moderation", "config.example.toml"}
    assert wanted <= copied
    users = [line.split()[1] for line in dockerfile_lines() if line.upper().startswith("USER ")]
    assert users, "the image runs as root"
    assert users[-1] not in ("root", "0")


async def run_in(root: Path, *args: str, **env: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=root,
        env=image_environment(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 90)
    return process.returncode or 0, output.decode()


def image_environment(**extra: str) -> dict[str, str]:
    """Like a container started with an empty .env: no token, no keys, no BOT_ overrides."""
    import os

    keep = ("PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "TMPDIR")
    return {**{k: v for k, v in os.environ.items() if k in keep}, "PYTHONUNBUFFERED": "1", **extra}


async def test_check_config_passes_in_the_images_layout(tmp_path: Path) -> None:
    root = install_like_the_image(tmp_path / "app")
    shutil.copy(root / "config.example.toml", root / "config.toml")  # the mounted config
    code, output = await run_in(root, "check-config")
    assert code == 0, output
    assert "config.toml: OK" in output
    assert "routes: chat, code, image, math, search, translate, writing" in output


async def test_check_config_fails_when_a_directory_the_bot_reads_is_missing(tmp_path: Path) -> None:
    root = install_like_the_image(tmp_path / "app")
    shutil.copy(root / "config.example.toml", root / "config.toml")
    shutil.rmtree(root / "routes")  # what the image held before routes/ was copied
    code, output = await run_in(root, "check-config")
    assert code == 2
    assert "routes" in output


async def test_a_sandbox_turn_in_the_images_layout(
    tmp_path: Path, routing_cache: Path, moderation_cache: Path
) -> None:
    root = install_like_the_image(tmp_path / "app")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--port", str(port),
        cwd=root,
        env=image_environment(
            BOT_ROUTING__CACHE_DIR=str(routing_cache),
            BOT_MODERATION__CACHE_DIR=str(moderation_cache),  # the sandbox filters its group
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with SandboxClient(f"http://127.0.0.1:{port}") as users:
            await wait_until_served(users, process)
            await users.send(1001, "what is 6*7?")
            [answer] = await users.wait_bot_messages(1001, 1, timeout=60)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert "42" in answer["text"], output.decode()
    log = output.decode()
    # the page's URL is printed before the bot has loaded, and the message sent then waited
    assert log.index("Open http://127.0.0.1:") < log.index("sandbox: the bot is up")
    assert " ERROR " not in output.decode()  # no missing file, no broken character


async def wait_until_served(users: SandboxClient, process: asyncio.subprocess.Process) -> None:
    for _ in range(300):
        if process.returncode is not None:
            raise AssertionError("the sandbox stopped")
        try:
            await users.commands()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError("the sandbox page was not served")


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendored.joinpath("compose-spec.json").read_text("utf-8"))
    return schema


def compose_errors(document: object) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [error.message for error in validator.iter_errors(document)]


def test_docker_compose_follows_the_compose_specification() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert compose_errors(compose) == []
    assert compose["services"]["bot"]["build"] == "."
    broken = {**compose, "services": {"bot": {**compose["services"]["bot"], "restat": "always"}}}
    assert any("restat" in message for message in compose_errors(broken))  # the check can fail
