"""Config validation: a bad file is refused naming the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings, secret_values
from bot.config_errors import ConfigError

GOOD = """
[chat]
default_model = "local"

[providers.vllm]
type = "openai_compatible"
base_url = "http://127.0.0.1:8000/v1"

[providers.cloud]
type = "anthropic"
api_key_env = "CLOUD_KEY"

[models.local]
provider = "vllm"
remote_name = "qwen"
display_name = "Qwen"
capabilities = { context_tokens = 4096, max_output_tokens = 512 }

[models.big]
provider = "cloud"
remote_name = "claude"
display_name = "Claude"
"""

ENV = {"CLOUD_KEY": "secret"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ=ENV if env is None else env)
    return str(info.value)


def test_valid_config_loads_models_and_capabilities(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD), environ=ENV)
    assert settings.chat.default_model == "local"
    assert settings.models["local"].capabilities.context_tokens == 4096
    assert settings.models["big"].capabilities.system_prompt is True


def test_unknown_key_names_file_field_and_fix(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace('display_name = "Qwen"', 'display_nme = "Qwen"'))
    assert str(tmp_path / "config.toml") in message
    assert "models.local.display_nme" in message
    assert "remove it or correct the spelling" in message


def test_model_naming_missing_provider(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace('provider = "vllm"', 'provider = "vlm"'))
    assert "models.local.provider names 'vlm'" in message
    assert "add [providers.vlm] or fix the name" in message


def test_missing_key_of_the_default_model_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace('default_model = "local"', 'default_model = "big"')
    message = error_for(tmp_path, text, env={})
    assert "providers.cloud.api_key_env" in message
    assert "CLOUD_KEY is not set" in message


def test_models_whose_provider_has_no_key_are_left_out_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = GOOD + '\n[routing.preferred_models]\ncode = ["big", "local"]\n'
    settings = load_settings(write(tmp_path, text), environ={})
    assert list(settings.models) == ["local"]
    assert list(settings.providers) == ["vllm"]
    assert settings.routing.preferred_models == {"code": ["local"]}
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "left out, since their provider's key is not set: big (CLOUD_KEY is not set)" in warning


def test_every_problem_of_a_run_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace('default_model = "local"', 'default_model = "big"')
        .replace('display_name = "Qwen"', 'dispaly_name = "Qwen"')
        .replace("[models.big]", '[routing]\njudge_model = "nope"\n\n[models.big]')
    )
    message = error_for(tmp_path, text, env={"BOT_TELEGRAMM__MODE": "webhook"})
    assert "models.local.dispaly_name: Extra inputs are not permitted" in message
    assert "BOT_TELEGRAMM__MODE: there is no setting section 'telegramm'" in message
    text = GOOD.replace('default_model = "local"', 'default_model = "big"')
    text = text.replace("[models.big]", '[routing]\njudge_model = "nope"\n\n[models.big]')
    message = error_for(
        tmp_path,
        text + '\n[models.auto]\nprovider = "vllm"\nremote_name = "a"\ndisplay_name = "A"\n',
        env={},
    )
    assert "routing.judge_model is 'nope'" in message
    assert "models.auto: 'auto' is reserved" in message
    assert "CLOUD_KEY is not set" in message  # needed by the default model


def test_default_model_must_exist(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace('default_model = "local"', 'default_model = "x"'))
    assert "chat.default_model is 'x'" in message


def test_output_must_fit_context(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, GOOD.replace("max_output_tokens = 512", "max_output_tokens = 9000")
    )
    assert "models.local.capabilities: max_output_tokens must be smaller than" in message


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    assert "not valid TOML" in error_for(tmp_path, GOOD + "\n[chat\n")
    with pytest.raises(ConfigError, match=r"does not exist; copy config\.example\.toml"):
        load_settings(tmp_path / "absent.toml", environ=ENV)


def test_environment_overrides_toml(tmp_path: Path) -> None:
    env = {**ENV, "BOT_CHAT__DEFAULT_MODEL": "big", "BOT_LLM__READ_TIMEOUT": "7.5"}
    settings = load_settings(write(tmp_path, GOOD), environ=env)
    assert settings.chat.default_model == "big"
    assert settings.llm.read_timeout == 7.5


def test_misspelt_override_section_is_an_error(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD, env={**ENV, "BOT_TELEGRAMM__MODE": "webhook"})
    assert "BOT_TELEGRAMM__MODE: there is no setting section 'telegramm'" in message


def test_secrets_in_the_file_are_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, 'telegram_bot_token = "123:abc"\n' + GOOD)
    assert "telegram_bot_token: secrets do not belong in the configuration file" in message
    assert "set TELEGRAM_BOT_TOKEN in the environment" in message


def test_webhook_mode_needs_url(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[telegram]\nmode = "webhook"\n' + GOOD)
    assert "telegram.webhook_url is required" in message


def test_redis_needs_postgresql(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[redis]\nurl = "redis://127.0.0.1:6379/0"\n' + GOOD)
    assert "redis: several processes share one database, which needs PostgreSQL" in message


def test_redis_with_postgresql_loads_and_its_password_is_a_secret(tmp_path: Path) -> None:
    text = (
        '[storage]\nurl = "postgresql+asyncpg://bot@db/bot"\n'
        '[redis]\nurl = "redis://:hunter2@redis:6379/0"\npartitions = 4\n' + GOOD
    )
    settings = load_settings(write(tmp_path, text), environ=ENV)
    assert settings.redis is not None
    assert (settings.redis.partitions, settings.redis.lease_seconds) == (4, 10.0)
    assert "hunter2" in secret_values(settings, ENV)
    assert load_settings(write(tmp_path, GOOD), environ=ENV).redis is None


def test_redis_in_webhook_mode_needs_a_shared_secret(tmp_path: Path) -> None:
    text = (
        '[telegram]\nmode = "webhook"\nwebhook_url = "https://bot.example.com/hook"\n'
        '[storage]\nurl = "postgresql+asyncpg://db/bot"\n[redis]\nurl = "redis://r:6379/0"\n'
    )
    assert "TELEGRAM_WEBHOOK_SECRET is required with [redis]" in error_for(tmp_path, text + GOOD)
    env = {**ENV, "TELEGRAM_WEBHOOK_SECRET": "shared-secret"}
    assert load_settings(write(tmp_path, text + GOOD), environ=env).redis is not None


def test_redis_url_must_be_a_redis_url(tmp_path: Path) -> None:
    text = '[storage]\nurl = "postgresql+asyncpg://db/bot"\n[redis]\nurl = "http://x"\n'
    assert "redis.url" in error_for(tmp_path, text + GOOD)


def test_example_config_is_valid() -> None:
    example = Path(__file__).parents[2] / "config.example.toml"
    settings = load_settings(example, environ={"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"})
    caps = {m.capabilities.system_prompt for m in settings.models.values()}
    providers = {settings.providers[m.provider].type for m in settings.models.values()}
    assert caps == {True, False}  # ships a model without system-prompt support
    assert providers == {"openai_compatible", "anthropic"}


def test_auto_default_model_needs_routing(tmp_path: Path) -> None:
    auto = GOOD.replace('default_model = "local"', 'default_model = "auto"')
    assert load_settings(write(tmp_path, auto), environ=ENV).chat.default_model == "auto"
    message = error_for(tmp_path, auto + "\n[routing]\nenabled = false\n")
    assert "chat.default_model is 'auto', which needs routing.enabled = true" in message


def test_routing_model_references_must_exist(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD + '\n[routing]\njudge_model = "tiny"\n')
    assert "routing.judge_model is 'tiny', which is not a model under [models]" in message
    message = error_for(tmp_path, GOOD + '\n[routing.preferred_models]\ncode = ["big", "gpt"]\n')
    assert "routing.preferred_models.code names 'gpt'" in message


def test_auto_is_reserved_as_a_model_id(tmp_path: Path) -> None:
    reserved = GOOD.replace("[models.big]", "[models.auto]")
    assert "'auto' is reserved" in error_for(tmp_path, reserved)
