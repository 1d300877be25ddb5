"""`[mcp]` in config.toml: strict, with messages that name the file, the field and the fix;
and the SDK stays unimported while no server is configured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.tools.mcp.config import McpServerConfig
from bot.tools.mcp.transport import server_environment

BASE = """
[chat]
default_model = "m"
[providers.p]
type = "openai_compatible"
base_url = "http://127.0.0.1:9/v1"
[models.m]
provider = "p"
remote_name = "m"
display_name = "M"
"""


def load(tmp_path: Path, mcp: str, env: dict[str, str] | None = None) -> McpServerConfig:
    path = tmp_path / "config.toml"
    path.write_text(BASE + mcp, encoding="utf-8")
    settings = load_settings(path, environ=env or {})
    [server] = settings.mcp.servers.values()
    return server


def problem(tmp_path: Path, mcp: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, mcp, env)
    return str(caught.value)


def test_a_stdio_and_a_remote_server(tmp_path: Path) -> None:
    stdio = load(
        tmp_path,
        '[mcp.servers.wiki]\ncommand = "wiki-mcp"\nargs = ["--ro"]\npass_env = ["WIKI_TOKEN"]',
        {"WIKI_TOKEN": "t"},
    )
    assert stdio.transport == "stdio"
    assert stdio.args == ["--ro"]
    remote = load(
        tmp_path,
        '[mcp.servers.tickets]\nurl = "https://tickets.example.com/mcp"\n'
        'headers_env = { Authorization = "TICKETS_AUTH" }\n'
        'description = { en = "Tickets", ru = "Заявки" }',
        {"TICKETS_AUTH": "Bearer x"},
    )
    assert remote.transport == "http"
    assert remote.descriptions() == {"en": "Tickets", "ru": "Заявки"}


@pytest.mark.parametrize(
    ("mcp", "expected"),
    [
        ('[mcp.servers.wiki]\nargs = ["x"]', "mcp.servers.wiki: give either command"),
        (
            '[mcp.servers.wiki]\ncommand = "x"\nurl = "https://a.example/mcp"',
            "give either command",
        ),
        ('[mcp.servers.Wiki]\ncommand = "x"', "mcp.servers.Wiki"),
        ('[mcp.servers.my_wiki]\ncommand = "x"', "mcp.servers.my_wiki"),
        ('[mcp.servers.wiki]\ncommand = "x"\nenviron = {}', "mcp.servers.wiki.environ"),
        (
            '[mcp.servers.wiki]\nurl = "https://a.example/mcp"\npass_env = ["A"]',
            "pass_env apply to a server started with command",
        ),
        ('[mcp.servers.wiki]\ncommand = "x"\nprivate = true', "apply to url servers only"),
        (
            '[mcp.servers.wiki]\nurl = "https://user:pw@a.example/mcp"',
            "no user name or password in the URL",
        ),
        (
            '[mcp.servers.wiki]\nurl = "http://127.0.0.1:8000/mcp"',
            "is a private or local address; only public web pages can be fetched; set "
            "private = true if this server is on such an address on purpose",
        ),
        ('[mcp.servers.wiki]\nurl = "ftp://a.example/mcp"', "only http and https"),
    ],
)
def test_mistakes_name_the_field_and_the_fix(tmp_path: Path, mcp: str, expected: str) -> None:
    message = problem(tmp_path, mcp)
    assert "config.toml" in message
    assert expected in message


def test_named_variables_must_be_set(tmp_path: Path) -> None:
    message = problem(
        tmp_path, '[mcp.servers.t]\nurl = "https://t.example/mcp"\nheaders_env = { X-Key = "K" }'
    )
    assert "mcp.servers.t.headers_env.X-Key: the environment variable K is not set" in message
    message = problem(tmp_path, '[mcp.servers.w]\ncommand = "w"\npass_env = ["W_TOKEN"]')
    assert "mcp.servers.w.pass_env (W_TOKEN): the environment variable W_TOKEN" in message


def test_a_private_server_on_loopback_is_allowed_on_purpose(tmp_path: Path) -> None:
    text = '[mcp.servers.local]\nurl = "http://127.0.0.1:8000/mcp"\nprivate = true'
    server = load(tmp_path, text)
    assert server.private


def test_the_server_environment_holds_only_what_is_named() -> None:
    config = McpServerConfig(command="x", env={"LEVEL": "1"}, pass_env=["WIKI_TOKEN", "ABSENT"])
    bot_env = {"TELEGRAM_BOT_TOKEN": "secret", "OPENAI_API_KEY": "k", "WIKI_TOKEN": "w"}
    assert server_environment(config, bot_env) == {"LEVEL": "1", "WIKI_TOKEN": "w"}


def test_the_sdk_is_not_imported_without_servers() -> None:
    code = (
        "import sys, bot.bootstrap, bot.tools.setup, bot.config\n"
        "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'mcp_'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
