"""Configuration: `config.toml` plus environment, validated strictly at start.

Secrets never live in the TOML file: providers name the environment variable that holds their
key (`api_key_env`), and the Telegram token comes from `TELEGRAM_BOT_TOKEN`. Environment
variables prefixed `BOT_` override TOML values (`BOT_TELEGRAM__MODE=webhook`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from bot.config_errors import ConfigError, describe_validation_error
from bot.config_sections import (
    AUTO_MODEL,
    DEFAULT_SYSTEM_PROMPT,
    TELEGRAM_DOWNLOAD_LIMIT_MB,
    BroadcastsConfig,
    CharactersConfig,
    ChatConfig,
    DocumentsConfig,
    I18nConfig,
    LLMConfig,
    ModelConfig,
    ModelId,
    ObservabilityConfig,
    ProviderConfig,
    ReliabilityConfig,
    RoutingConfig,
    StorageConfig,
    TelegramConfig,
)
from bot.payments.config import (
    PaymentsConfig,
    PlanConfig,
    PlanId,
    QuotasConfig,
    money_problems,
    plan_problems,
)
from bot.tools.config import ToolsConfig
from bot.tools.mcp.config import McpConfig

__all__ = [
    "AUTO_MODEL",
    "DEFAULT_SYSTEM_PROMPT",
    "TELEGRAM_DOWNLOAD_LIMIT_MB",
    "CharactersConfig",
    "ChatConfig",
    "ConfigError",
    "DocumentsConfig",
    "I18nConfig",
    "LLMConfig",
    "ModelConfig",
    "ProviderConfig",
    "ReliabilityConfig",
    "RoutingConfig",
    "Settings",
    "StorageConfig",
    "TelegramConfig",
    "load_settings",
    "provider_api_key",
    "read_environment",
]

_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("bot_config_environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of `os.environ`."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        if environ is None:
            return super()._load_env_vars()
        return parse_env_vars(environ, self.case_sensitive, self.env_ignore_empty)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        env_prefix="BOT_",
        env_nested_delimiter="__",
        populate_by_name=True,
    )

    telegram: TelegramConfig = TelegramConfig()
    storage: StorageConfig = StorageConfig()
    llm: LLMConfig = LLMConfig()
    chat: ChatConfig
    i18n: I18nConfig = I18nConfig()
    routing: RoutingConfig = RoutingConfig()
    characters: CharactersConfig = CharactersConfig()
    documents: DocumentsConfig = DocumentsConfig()
    reliability: ReliabilityConfig = ReliabilityConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    broadcasts: BroadcastsConfig = BroadcastsConfig()
    admins: list[int] = Field(default_factory=list)
    plans: dict[PlanId, PlanConfig] = Field(default_factory=dict)
    quotas: QuotasConfig = QuotasConfig()
    payments: PaymentsConfig = PaymentsConfig()
    tools: ToolsConfig = ToolsConfig()
    mcp: McpConfig = McpConfig()
    providers: dict[ModelId, ProviderConfig]
    models: dict[ModelId, ModelConfig] = Field(min_length=1)

    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "telegram_bot_token")
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET", "webhook_secret"),
    )
    # Signs invoice payloads; default: derived from the bot token.
    payments_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("PAYMENTS_SECRET", "payments_secret")
    )
    # Payments in money: the token of the provider connected in @BotFather.
    payments_provider_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PAYMENTS_PROVIDER_TOKEN", "payments_provider_token"),
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the TOML file, which arrives as init data. `.env` is read by
        # `read_environment` into the same mapping, so the dotenv source is not used.
        return _MappingEnvSource(settings_cls), init_settings

    @model_validator(mode="after")
    def _references_exist(self) -> Settings:
        for model_id, model in self.models.items():
            if model.provider not in self.providers:
                known = ", ".join(sorted(self.providers)) or "none"
                raise ValueError(
                    f"models.{model_id}.provider names '{model.provider}', which is not defined "
                    f"under [providers] (defined: {known}); add [providers.{model.provider}] or "
                    "fix the name"
                )
        defined = ", ".join(sorted(self.models))
        if AUTO_MODEL in self.models:
            raise ValueError(
                "models.auto: 'auto' is reserved for automatic model choice; rename that model"
            )
        if self.chat.default_model == AUTO_MODEL:
            if not self.routing.enabled:
                raise ValueError(
                    "chat.default_model is 'auto', which needs routing.enabled = true; enable "
                    "routing or pick a model under [models]"
                )
        elif self.chat.default_model not in self.models:
            raise ValueError(
                f"chat.default_model is '{self.chat.default_model}', which is not a model under "
                f"[models] (defined: {defined}); pick one of those or 'auto'"
            )
        for field in ("judge_model", "auto_fallback_model"):
            value = getattr(self.routing, field)
            if value is not None and value not in self.models:
                raise ValueError(
                    f"routing.{field} is '{value}', which is not a model under [models] "
                    f"(defined: {defined}); pick one of those or remove the setting"
                )
        for route, model_ids in self.routing.preferred_models.items():
            for model_id in model_ids:
                if model_id not in self.models:
                    raise ValueError(
                        f"routing.preferred_models.{route} names '{model_id}', which is not a "
                        f"model under [models] (defined: {defined}); fix the name"
                    )
        problems = plan_problems(
            self.plans, self.quotas, set(self.models), self.i18n.default_locale
        )
        problems += money_problems(self.plans, self.payments.money)
        if self.payments.money is not None and not self.provider_token:
            problems.append(
                "payments.money: the provider's token is not set; set PAYMENTS_PROVIDER_TOKEN "
                "in the environment or in .env (@BotFather > Payments gives it), or remove "
                "[payments.money]"
            )
        if problems:
            raise ValueError("; ".join(problems))
        image_provider = self.tools.generate_image.provider
        if image_provider is not None:
            provider = self.providers.get(image_provider)
            if provider is None or provider.type != "openai_compatible":
                raise ValueError(
                    f"tools.generate_image.provider is '{image_provider}', which is not an "
                    "openai_compatible provider under [providers]; name one that serves "
                    "/images/generations or remove the setting"
                )
        if self.telegram.mode == "webhook" and not self.telegram.webhook_url:
            raise ValueError(
                "telegram.webhook_url is required when telegram.mode is 'webhook'; set the public "
                "HTTPS address Telegram should call, or use mode = 'polling'"
            )
        return self

    @property
    def provider_token(self) -> str:
        token = self.payments_provider_token
        return token.get_secret_value() if token is not None else ""


def read_environment(env_file: Path | None) -> dict[str, str]:
    """The process environment over the values of `.env` (if present)."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def load_settings(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read and validate `path`; raise `ConfigError` naming the file, the field and the fix."""
    env = dict(environ) if environ is not None else read_environment(Path(".env"))
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: the file does not exist; copy config.example.toml to {path} "
            "or point BOT_CONFIG at your configuration file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at that place") from None
    for secret, variable in SECRET_VARIABLES.items():
        if secret in data:
            raise ConfigError(
                f"{path}: {secret}: secrets do not belong in the configuration file; remove it "
                f"and set {variable} in the environment or in .env"
            )
    _check_override_sections(env)
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        token = _ENVIRON.set(env)
        try:
            settings = Settings(**data)
        finally:
            _ENVIRON.reset(token)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc)) from None
    _check_key_variables(path, settings, env)
    return settings


SECRET_VARIABLES = {
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "webhook_secret": "TELEGRAM_WEBHOOK_SECRET",
    "payments_secret": "PAYMENTS_SECRET",
    "payments_provider_token": "PAYMENTS_PROVIDER_TOKEN",
}
# BOT_ variables read by the command line rather than by Settings.
CLI_VARIABLES = frozenset({"BOT_CONFIG", "BOT_LOG_LEVEL", "BOT_LOG_FORMAT"})


def _check_override_sections(env: Mapping[str, str]) -> None:
    """A misspelt BOT_<SECTION>__<KEY> override would otherwise be ignored without a word."""
    sections = {name.upper() for name in Settings.model_fields}
    for name in env:
        if not name.startswith("BOT_") or name in CLI_VARIABLES:
            continue
        section = name.removeprefix("BOT_").split("__", 1)[0]
        if section not in sections:
            known = ", ".join(f"BOT_{s}" for s in sorted(sections - {"TELEGRAM_BOT_TOKEN"}))
            raise ConfigError(
                f"environment: {name}: there is no setting section {section.lower()!r}; "
                f"overrides look like BOT_<SECTION>__<KEY> with a section among {known}"
            )


def _check_key_variables(path: Path, settings: Settings, env: Mapping[str, str]) -> None:
    for name, provider in settings.providers.items():
        var = provider.api_key_env
        if var is not None and not env.get(var):
            raise ConfigError(
                f"{path}: providers.{name}.api_key_env: the environment variable {var} is not "
                f"set; set {var} in the environment or in .env, or remove api_key_env if this "
                "server needs no key"
            )
    for server_id, server in settings.mcp.active.items():
        for field, var in server.variables():
            if var not in env:
                raise ConfigError(
                    f"{path}: mcp.servers.{server_id}.{field}: the environment variable {var} "
                    f"is not set; set {var} in the environment or in .env, or remove it"
                )


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def provider_api_key(provider: ProviderConfig, env: Mapping[str, str]) -> str | None:
    return env.get(provider.api_key_env) if provider.api_key_env else None


def secret_values(settings: Settings, env: Mapping[str, str]) -> list[str]:
    """Every secret the configuration uses (kept out of the logs)."""
    secrets = [
        value.get_secret_value()
        for value in (
            settings.telegram_bot_token,
            settings.webhook_secret,
            settings.payments_secret,
            settings.payments_provider_token,
        )
        if value is not None
    ]
    secrets += [key for p in settings.providers.values() if (key := provider_api_key(p, env))]
    return secrets
