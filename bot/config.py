"""Configuration: `config.toml` plus environment, validated strictly at start.

Secrets never live in the TOML file: providers name the environment variable that holds their
key (`api_key_env`), and the Telegram token comes from `TELEGRAM_BOT_TOKEN`. Environment
variables prefixed `BOT_` override TOML values (`BOT_TELEGRAM__MODE=webhook`).
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from bot.config_keys import keyless_providers, without
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
    RedisConfig,
    ReliabilityConfig,
    RoutingConfig,
    StorageConfig,
    TelegramConfig,
    VoiceConfig,
)
from bot.moderation.config import ModerationConfig
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
    "RedisConfig",
    "ReliabilityConfig",
    "RoutingConfig",
    "Settings",
    "StorageConfig",
    "TelegramConfig",
    "VoiceConfig",
    "load_settings",
    "provider_api_key",
    "read_environment",
]

logger = logging.getLogger(__name__)

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
    redis: RedisConfig | None = None
    llm: LLMConfig = LLMConfig()
    chat: ChatConfig
    i18n: I18nConfig = I18nConfig()
    routing: RoutingConfig = RoutingConfig()
    characters: CharactersConfig = CharactersConfig()
    documents: DocumentsConfig = DocumentsConfig()
    reliability: ReliabilityConfig = ReliabilityConfig()
    voice: VoiceConfig = VoiceConfig()
    moderation: ModerationConfig = ModerationConfig()
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
        problems = [
            *self._model_problems(),
            *_transcription_problems(self),
            *self._setting_problems(),
        ]
        problems += plan_problems(
            self.plans, self.quotas, set(self.chat_model_ids), self.i18n.default_locale
        )
        if problems:  # every problem at once, one a line
            raise ValueError("\n  ".join(problems))
        return self

    def _model_problems(self) -> list[str]:
        problems = []
        for model_id, model in self.models.items():
            if model.provider not in self.providers:
                known = ", ".join(sorted(self.providers)) or "none"
                problems.append(
                    f"models.{model_id}.provider names '{model.provider}', which is not defined "
                    f"under [providers] (defined: {known}); add [providers.{model.provider}] or "
                    "fix the name"
                )
        if AUTO_MODEL in self.models:
            problems.append(
                "models.auto: 'auto' is reserved for automatic model choice; rename that model"
            )
        chat_models = self.chat_model_ids
        defined = ", ".join(sorted(chat_models))
        if self.chat.default_model == AUTO_MODEL:
            if not self.routing.enabled:
                problems.append(
                    "chat.default_model is 'auto', which needs routing.enabled = true; enable "
                    "routing or pick a model under [models]"
                )
        elif self.chat.default_model not in chat_models:
            problems.append(
                f"chat.default_model is '{self.chat.default_model}', which is not a model under "
                f"[models] (defined: {defined}); pick one of those or 'auto'"
            )
        for section, field in (
            ("routing", "judge_model"),
            ("routing", "auto_fallback_model"),
            ("moderation", "judge_model"),
        ):
            value = getattr(getattr(self, section), field)
            if value is not None and value not in chat_models:
                problems.append(
                    f"{section}.{field} is '{value}', which is not a model under [models] that "
                    f"chats (defined: {defined}); pick one of those or remove the setting"
                )
        for route, model_ids in self.routing.preferred_models.items():
            for model_id in model_ids:
                if model_id not in chat_models:
                    problems.append(
                        f"routing.preferred_models.{route} names '{model_id}', which is not a "
                        f"model under [models] that chats (defined: {defined}); fix the name"
                    )
        return problems

    def _setting_problems(self) -> list[str]:
        problems = []
        problems += money_problems(self.plans, self.payments.money)
        if self.payments.money is not None and not self.provider_token:
            problems.append(
                "payments.money: the provider's token is not set; set PAYMENTS_PROVIDER_TOKEN "
                "in the environment or in .env (@BotFather > Payments gives it), or remove "
                "[payments.money]"
            )
        image_provider = self.tools.generate_image.provider
        if image_provider is not None:
            provider = self.providers.get(image_provider)
            if provider is None or provider.type != "openai_compatible":
                problems.append(
                    f"tools.generate_image.provider is '{image_provider}', which is not an "
                    "openai_compatible provider under [providers]; name one that serves "
                    "/images/generations or remove the setting"
                )
        if self.redis is not None and not self.storage.url.startswith("postgresql"):
            problems.append(
                "redis: several processes share one database, which needs PostgreSQL; set "
                "[storage] url to a postgresql+asyncpg:// URL, or remove [redis] to run one "
                "process on SQLite"
            )
        if self.redis is not None and self.telegram.mode == "webhook" and not self.webhook_secret:
            problems.append(
                "TELEGRAM_WEBHOOK_SECRET is required with [redis] in webhook mode: every "
                "ingress replica checks Telegram's calls against the same secret; set it in the "
                "environment or in .env (1-256 characters of A-Z a-z 0-9 _ -)"
            )
        if self.telegram.mode == "webhook" and not self.telegram.webhook_url:
            problems.append(
                "telegram.webhook_url is required when telegram.mode is 'webhook'; set the "
                "public HTTPS address Telegram should call, or use mode = 'polling'"
            )
        return problems

    @property
    def chat_model_ids(self) -> list[str]:
        """The models that chat (every model but the speech-to-text ones)."""
        return [i for i, m in self.models.items() if not m.capabilities.transcribe]

    @property
    def transcription_model_id(self) -> str | None:
        """The model that transcribes voice messages; None: voice messages are not read."""
        if self.voice.model is not None:
            return self.voice.model
        return next((i for i, m in self.models.items() if m.capabilities.transcribe), None)

    @property
    def provider_token(self) -> str:
        token = self.payments_provider_token
        return token.get_secret_value() if token is not None else ""


def _transcription_problems(settings: Settings) -> list[str]:
    """Speech-to-text models: on an OpenAI-compatible provider, named right by [voice]."""
    problems = []
    models = settings.models
    for model_id, model in models.items():
        if not model.capabilities.transcribe:
            continue
        provider = settings.providers.get(model.provider)
        if provider is not None and provider.type != "openai_compatible":
            problems.append(
                f"models.{model_id}: a model with transcribe = true is called at "
                "/audio/transcriptions, which only openai_compatible providers serve; put it on "
                "such a provider or remove transcribe"
            )
    if models and not settings.chat_model_ids:
        problems.append(
            "models: every model has transcribe = true; add at least one model that chats"
        )
    wanted = settings.voice.model
    if wanted is not None and (wanted not in models or not models[wanted].capabilities.transcribe):
        names = [i for i, m in models.items() if m.capabilities.transcribe]
        problems.append(
            f"voice.model is '{wanted}', which is not a model with capabilities.transcribe = "
            f"true (such models: {', '.join(names) or 'none'}); fix the name or add the model"
        )
    return problems


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
    problems = [
        f"{path}: {secret}: secrets do not belong in the configuration file; remove it "
        f"and set {variable} in the environment or in .env"
        for secret, variable in SECRET_VARIABLES.items()
        if secret in data
    ]
    problems += _override_problems(env)
    left_out = keyless_providers(data, env)
    data = without(data, left_out)
    if overrides:
        data = _deep_merge(data, overrides)
    settings: Settings | None = None
    try:
        token = _ENVIRON.set(env)
        try:
            settings = Settings(**data)
        finally:
            _ENVIRON.reset(token)
    except ValidationError as exc:
        problems.append(describe_validation_error(path, exc))
    if settings is not None:
        variables = {name: p.api_key_env for name, p in settings.providers.items()}
        problems += _mcp_problems(path, settings, env)
    else:  # the file is broken, but its keys are checked all the same
        raw = data.get("providers")
        providers = raw if isinstance(raw, Mapping) else {}
        variables = {
            str(name): p.get("api_key_env") if isinstance(p, Mapping) else None
            for name, p in providers.items()
        }
    problems += _key_problems(path, variables, env)
    if problems:  # every problem of the file and the environment at once
        raise ConfigError("\n".join(problems))
    assert settings is not None
    if left_out:
        logger.warning(
            "%s: left out, since their provider's key is not set: %s; set the key(s) in the "
            "environment or in .env to use them",
            path,
            "; ".join(entry.describe() for entry in left_out),
        )
    return settings


SECRET_VARIABLES = {
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "webhook_secret": "TELEGRAM_WEBHOOK_SECRET",
    "payments_secret": "PAYMENTS_SECRET",
    "payments_provider_token": "PAYMENTS_PROVIDER_TOKEN",
}
# BOT_ variables read by the command line rather than by Settings.
CLI_VARIABLES = frozenset({"BOT_CONFIG", "BOT_LOG_LEVEL", "BOT_LOG_FORMAT", "BOT_LOOP_LAG_SECONDS"})


def _override_problems(env: Mapping[str, str]) -> list[str]:
    """A misspelt BOT_<SECTION>__<KEY> override would otherwise be ignored without a word."""
    sections = {name.upper() for name in Settings.model_fields}
    problems = []
    for name in env:
        if not name.startswith("BOT_") or name in CLI_VARIABLES:
            continue
        section = name.removeprefix("BOT_").split("__", 1)[0]
        if section not in sections:
            known = ", ".join(f"BOT_{s}" for s in sorted(sections - {"TELEGRAM_BOT_TOKEN"}))
            problems.append(
                f"environment: {name}: there is no setting section {section.lower()!r}; "
                f"overrides look like BOT_<SECTION>__<KEY> with a section among {known}"
            )
    return problems


def _key_problems(path: Path, variables: Mapping[str, object], env: Mapping[str, str]) -> list[str]:
    """Providers (name -> api_key_env) whose key variable is not set."""
    problems = []
    for name, var in variables.items():
        if isinstance(var, str) and not env.get(var):
            problems.append(
                f"{path}: providers.{name}.api_key_env: the environment variable {var} is not "
                f"set; set {var} in the environment or in .env, or remove api_key_env if this "
                "server needs no key"
            )
    return problems


def _mcp_problems(path: Path, settings: Settings, env: Mapping[str, str]) -> list[str]:
    """MCP servers' environment variables (passed on or sent as headers) that are not set."""
    return [
        f"{path}: mcp.servers.{server_id}.{field}: the environment variable {var} is not set; "
        f"set {var} in the environment or in .env, or remove it"
        for server_id, server in settings.mcp.active.items()
        for field, var in server.variables()
        if var not in env
    ]


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
    if settings.redis is not None and (password := _url_password(settings.redis.url)):
        secrets.append(password)
    return secrets


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None
