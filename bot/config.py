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
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
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

ModelId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,39}$")]
"""Model ids travel in callback data (64 bytes at most), so they are short slugs."""

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant talking with people in Telegram. Answer in the language of the "
    "user's message. Be clear and concise; use Markdown for code, lists and emphasis."
)


_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("bot_config_environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of `os.environ`."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        if environ is None:
            return super()._load_env_vars()
        return parse_env_vars(environ, self.case_sensitive, self.env_ignore_empty)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(StrictModel):
    type: Literal["openai_compatible", "anthropic"]
    base_url: str | None = None
    api_key_env: str | None = None
    connect_timeout: float | None = Field(default=None, gt=0)
    read_timeout: float | None = Field(default=None, gt=0)
    # OpenAI-compatible only: the name of the output-length parameter. OpenAI's newer models
    # reject "max_tokens"; some older OpenAI-compatible servers only know it.
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = "max_completion_tokens"
    # What this provider's models accept. Images are downscaled so that their longer side fits
    # (default: 1568 for Anthropic, whose models downscale anything larger themselves; 2048 for
    # OpenAI-compatible servers). PDFs beyond these limits are sent as extracted text instead.
    image_max_side: int | None = Field(default=None, ge=256, le=8192)
    pdf_max_pages: int = Field(default=100, ge=1, le=1000)
    pdf_max_mb: float = Field(default=32.0, gt=0, le=512)

    @property
    def image_side_limit(self) -> int:
        if self.image_max_side is not None:
            return self.image_max_side
        return 1568 if self.type == "anthropic" else 2048


class Capabilities(StrictModel):
    vision: bool = False
    tools: bool = False
    system_prompt: bool = True
    pdf_native: bool = False
    context_tokens: int = Field(default=8192, ge=512)
    max_output_tokens: int = Field(default=1024, ge=16)

    @model_validator(mode="after")
    def _output_fits_context(self) -> Capabilities:
        if self.max_output_tokens >= self.context_tokens:
            raise ValueError(
                "max_output_tokens must be smaller than context_tokens "
                "(the answer has to fit in the context window together with the prompt)"
            )
        return self


class Prices(StrictModel):
    input_per_million: Decimal = Field(default=Decimal(0), ge=0)
    output_per_million: Decimal = Field(default=Decimal(0), ge=0)


class ModelConfig(StrictModel):
    provider: str
    remote_name: str = Field(min_length=1)
    display_name: str = Field(min_length=1, max_length=60)
    capabilities: Capabilities = Capabilities()
    prices: Prices = Prices()


class TelegramConfig(StrictModel):
    mode: Literal["polling", "webhook"] = "polling"
    api_base: str | None = None
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    # Send final answers as rich messages (Telegram renders the Markdown). Old clients show a
    # placeholder for them, so this is off by default; refused rich messages fall back to text.
    rich_messages: bool = False
    # Drafts have their own budget (about 4/s per chat, burst 2); one every 0.4 s looks live
    # and leaves room for the next answer's "thinking" and first drafts.
    draft_interval_seconds: float = Field(default=0.4, ge=0.1, le=5)
    # Groups allow about 20 messages a minute, edits included.
    group_edit_interval_seconds: float = Field(default=3.0, ge=1, le=30)


class StorageConfig(StrictModel):
    url: str = "sqlite+aiosqlite:///data/bot.sqlite3"


class LLMConfig(StrictModel):
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=0.5, ge=0)


class ChatConfig(StrictModel):
    default_model: str
    system_prompt: str = Field(default=DEFAULT_SYSTEM_PROMPT, min_length=1)
    merge_window_seconds: float = Field(default=1.0, ge=0, le=10)
    split_paste_threshold: int = Field(default=3000, ge=100, le=4096)
    max_history_messages: int = Field(default=200, ge=2)


AUTO_MODEL = "auto"
"""The pseudo-model that lets the router pick a model per message."""


SHIPPED_ROUTES_DIR = Path(__file__).resolve().parent.parent / "routes"


class RoutingConfig(StrictModel):
    enabled: bool = True
    # The route files; default: the routes/ folder shipped with the bot. A relative path is
    # relative to the working directory.
    routes_dir: Path = SHIPPED_ROUTES_DIR
    # Written by `python -m bot routes calibrate`; default: <routes_dir>/calibration.json.
    calibration_file: Path | None = None
    cache_dir: Path = Path("data/cache")
    default_route: str = Field(default="chat", min_length=1)
    judge: bool = True
    judge_model: str | None = None  # default: the cheapest configured model
    judge_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # The model `auto` uses when no preferred model of the route fits. Default: chat.default_model
    # (or the first configured model when that is `auto` itself).
    auto_fallback_model: str | None = None
    # Per-route override of the route file's preferred_models, for this deployment's model ids.
    preferred_models: dict[str, list[str]] = Field(default_factory=dict)
    # A message of at most this many words that the classifier is unsure about keeps the
    # chat's previous route if that was decided within the window ("and in Python?").
    followup_max_words: int = Field(default=4, ge=0, le=20)
    followup_window_seconds: float = Field(default=600.0, ge=0)

    @property
    def calibration_path(self) -> Path:
        return self.calibration_file or self.routes_dir / "calibration.json"


class CharactersConfig(StrictModel):
    # The character files; default: the characters/ folder shipped with the bot. A relative
    # path is relative to the working directory.
    directory: Path = Path(__file__).resolve().parent.parent / "characters"
    watch: bool = True  # pick up edits without a restart


TELEGRAM_DOWNLOAD_LIMIT_MB = 20  # getFile: bots download files of up to 20 MB


class DocumentsConfig(StrictModel):
    # Files (documents, PDFs, images sent as files) larger than this are refused before download.
    max_file_mb: float = Field(
        default=TELEGRAM_DOWNLOAD_LIMIT_MB, gt=0, le=TELEGRAM_DOWNLOAD_LIMIT_MB
    )
    # Where images and files are kept, once each, named by their SHA-256.
    blob_dir: Path = Path("data/blobs")
    # Pages of a PDF read at most; a status message shows progress from this many pages on.
    max_pages: int = Field(default=300, ge=1, le=5000)
    progress_min_pages: int = Field(default=30, ge=1)
    # Scanned PDFs (no text layer): this many pages are rendered and shown to a vision model.
    scanned_max_pages: int = Field(default=8, ge=1, le=50)
    render_max_side: int = Field(default=1568, ge=256, le=4096)
    # Images: refused above this many pixels (decompression bombs), stored at most this large.
    max_image_megapixels: float = Field(default=50.0, gt=0, le=500)
    image_store_max_side: int = Field(default=2048, ge=256, le=8192)
    # Images of the last N user messages are sent again with follow-ups; older ones are left
    # out of the context (with a short note) to save tokens.
    image_history_turns: int = Field(default=3, ge=1, le=50)
    # A pinned document takes at most this share of the model's context window.
    context_share: float = Field(default=0.6, gt=0, le=0.9)
    # Photos of one album arriving within this many seconds of each other make one turn.
    album_window_seconds: float = Field(default=1.0, ge=0.1, le=10)
    # PDF work runs in separate processes (a hostile file cannot hurt the bot).
    worker_processes: int = Field(default=1, ge=1, le=16)
    worker_timeout_seconds: float = Field(default=60.0, gt=0, le=600)


class I18nConfig(StrictModel):
    default_locale: Literal["en", "ru"] = "en"


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
    admins: list[int] = Field(default_factory=list)
    providers: dict[ModelId, ProviderConfig]
    models: dict[ModelId, ModelConfig] = Field(min_length=1)

    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "telegram_bot_token")
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET", "webhook_secret"),
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
        if self.telegram.mode == "webhook" and not self.telegram.webhook_url:
            raise ValueError(
                "telegram.webhook_url is required when telegram.mode is 'webhook'; set the public "
                "HTTPS address Telegram should call, or use mode = 'polling'"
            )
        return self


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
    for secret in ("telegram_bot_token", "webhook_secret"):
        if secret in data:
            raise ConfigError(
                f"{path}: {secret}: secrets do not belong in the configuration file; remove it "
                f"and set {secret.upper().replace('WEBHOOK', 'TELEGRAM_WEBHOOK')} in the "
                "environment or in .env"
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


# BOT_ variables read by the command line rather than by Settings.
CLI_VARIABLES = frozenset({"BOT_CONFIG", "BOT_LOG_LEVEL"})


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
