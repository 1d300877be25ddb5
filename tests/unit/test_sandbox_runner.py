"""`python -m bot sandbox` overrides: the fakes are filled in, the file's other settings kept."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from bot.config import Settings, load_settings
from bot.sandbox.runner import sandbox_overrides

PROVIDERS = """
[chat]
default_model = "local"

[providers.cloud]
type = "anthropic"
api_key_env = "CLOUD_KEY"

[providers.vllm]
type = "openai_compatible"
base_url = "http://gpu.internal:8000/v1"

[providers.openai]
type = "openai_compatible"
api_key_env = "OPENAI_KEY"

[models.local]
provider = "vllm"
remote_name = "qwen"
display_name = "Qwen"
"""

TOOLS = """
[tools]
max_steps = 3

[tools.web_search]
results = 7
language = "de"

[tools.fetch_url]
max_chars = 5000
allow_hosts = ["wiki.intranet"]

[tools.generate_image]
size = "512x512"
"""

ENV = {"CLOUD_KEY": "sandbox-key", "OPENAI_KEY": "sandbox-key"}
WEB = "http://127.0.0.1:4567"
LLM = "http://127.0.0.1:7000"


def sandbox_settings(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    raw = tomllib.loads(text)
    before = copy.deepcopy(raw)
    overrides = sandbox_overrides(raw, "http://127.0.0.1:8081", LLM, "sqlite+aiosqlite://", WEB)
    assert raw == before  # the file's table is not modified
    return load_settings(path, environ=ENV, overrides=overrides)


def test_fakes_are_filled_in_and_other_tools_settings_kept(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path, PROVIDERS + TOOLS)
    tools = settings.tools
    assert tools.max_steps == 3
    assert (tools.web_search.searxng_url, tools.web_search.results) == (WEB, 7)
    assert tools.web_search.language == "de"
    assert tools.fetch_url.max_chars == 5000
    assert tools.fetch_url.allow_hosts == ["wiki.intranet", "127.0.0.1:4567"]
    assert tools.generate_image.provider == "vllm"  # the first openai_compatible provider
    assert tools.generate_image.size == "512x512"
    assert settings.providers["vllm"].base_url == f"{LLM}/v1"
    assert settings.providers["cloud"].base_url == LLM


def test_configured_search_and_image_provider_are_kept(tmp_path: Path) -> None:
    text = PROVIDERS + TOOLS.replace(
        'language = "de"', 'language = "de"\nsearxng_url = "https://searx.example"'
    ).replace('size = "512x512"', 'size = "512x512"\nprovider = "openai"')
    tools = sandbox_settings(tmp_path, text).tools
    assert tools.web_search.searxng_url == "https://searx.example"
    assert tools.generate_image.provider == "openai"
    assert tools.fetch_url.allow_hosts == ["wiki.intranet", "127.0.0.1:4567"]


def test_without_a_tools_table(tmp_path: Path) -> None:
    tools = sandbox_settings(tmp_path, PROVIDERS).tools
    assert tools.web_search.searxng_url == WEB
    assert tools.fetch_url.allow_hosts == ["127.0.0.1:4567"]
    assert tools.generate_image.provider == "vllm"
    assert tools.max_steps == 5


def test_no_openai_compatible_provider_means_no_image_tool(tmp_path: Path) -> None:
    text = """
[chat]
default_model = "big"

[providers.cloud]
type = "anthropic"
api_key_env = "CLOUD_KEY"

[models.big]
provider = "cloud"
remote_name = "claude"
display_name = "Claude"
"""
    tools = sandbox_settings(tmp_path, text).tools
    assert tools.generate_image.provider is None
    assert tools.web_search.searxng_url == WEB


def test_without_a_fake_web_the_tools_are_untouched() -> None:
    raw = tomllib.loads(PROVIDERS + TOOLS)
    overrides = sandbox_overrides(raw, "http://t", LLM, "sqlite+aiosqlite://")
    assert "tools" not in overrides


def test_the_sandbox_turns_on_operator_plans_filter_and_auto_unless_the_file_sets_them(
    tmp_path: Path,
) -> None:
    from bot.sandbox.runner import sandbox_environment
    from bot.sandbox.showcase import (
        OPERATOR_ID,
        PAGE_GROUP_ID,
        SANDBOX_MONEY,
        SANDBOX_PLANS,
        showcase_overrides,
    )

    everything = showcase_overrides(tomllib.loads(PROVIDERS))
    assert everything == {
        "admins": [OPERATOR_ID],
        "plans": SANDBOX_PLANS,
        "payments": {"money": SANDBOX_MONEY},
        "chat": {"default_model": "auto"},
        "moderation": {"enabled": True, "groups": "chosen", "chats": [PAGE_GROUP_ID]},
    }
    # What the bot makes of it: the week pass sold in roubles too, the filter on in the
    # page's group only, the e-mail asked for the receipt.
    path = tmp_path / "config.toml"
    path.write_text(PROVIDERS + '[moderation]\nenabled = false\ngroups = "all"\n', "utf-8")
    env = {**ENV, **sandbox_environment(tomllib.loads(PROVIDERS))}
    settings = load_settings(path, environ=env, overrides=everything)
    assert settings.plans["week"].price_money is not None
    assert settings.payments.money is not None
    assert settings.payments.money.receipt_contact == "email"
    assert settings.provider_token
    assert settings.moderation.enabled
    assert (settings.moderation.groups, settings.moderation.chats) == ("chosen", [PAGE_GROUP_ID])
    own = tomllib.loads(
        "admins = [42]\n[routing]\nenabled = false\n[moderation]\nenabled = true\n"
        '[plans.free]\nkind = "free"\ntitle = { en = "Free" }\n' + PROVIDERS
    )
    assert showcase_overrides(own) == {}  # the file's own operators, plans and filter


def test_a_busy_metrics_port_moves_the_sandbox_bots_metrics_to_a_free_one() -> None:
    import socket

    from bot.sandbox.runner import metrics_overrides

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        config = {"observability": {"metrics_port": busy}}
        moved = metrics_overrides(config)["observability"]["metrics_port"]
        assert moved != busy
        with socket.socket() as check:
            check.bind(("127.0.0.1", moved))  # free indeed
    assert metrics_overrides(config) == {}  # free again: the configured port is kept
    assert metrics_overrides({"observability": {"metrics": False}}) == {}


def test_the_page_says_ready_only_when_the_bot_is_up_and_its_classifier_loaded() -> None:
    import logging

    from bot.sandbox.llm import ScriptedLLM
    from bot.sandbox.panel import Panel, StatusLog

    panel = Panel(ScriptedLLM())
    status = StatusLog(panel)

    def log(name: str, text: str) -> None:
        status.emit(logging.LogRecord(name, logging.INFO, __file__, 1, text, None, None))

    log("bot.moderation.setup", "moderation: training the classifier for these topic files")
    assert panel.status.startswith("moderation: training")  # the page shows the long step
    log("bot.routing.setup", "routing: ready in 15.2 s")
    assert not panel.ready  # the content filter still trains: the bot is not up yet
    assert panel.classifier_ready
    panel.bot_up = True  # what the runner does after building the bot
    log("bot.routing.setup", "routing: ready in 0.1 s")
    assert panel.ready
