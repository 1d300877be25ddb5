"""The sections of the configuration: one strict pydantic model per table of `config.toml`.

`bot.config` assembles them into `Settings` and loads them from the file and the environment.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MODEL_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,39}$"
ModelId = Annotated[str, StringConstraints(pattern=MODEL_ID_PATTERN)]
"""Model ids travel in callback data (64 bytes at most), so they are short slugs."""

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant talking with people in Telegram. Answer in the language of the "
    "user's message. Be clear and concise; use Markdown for code, lists and emphasis."
)


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
    # A speech-to-text model (served at /audio/transcriptions), used for voice messages only:
    # never offered for chat, routing or judging (docs/voice.md).
    transcribe: bool = False
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
    # One Bot API call may take this long before it counts as timed out (and is retried).
    request_timeout_seconds: float = Field(default=60.0, ge=1, le=600)
    # Telegram's flood limits, kept by the pacer: about 30 messages a second in all, one a
    # second per chat, 20 a minute per group. Raise them only if Telegram raised yours (the bot
    # does not send paid broadcasts, allow_paid_broadcast). Broadcasts share the global budget.
    global_messages_per_second: int = Field(default=30, ge=1, le=100_000)
    chat_messages_per_second: float = Field(default=1.0, gt=0, le=1000)
    group_messages_per_minute: int = Field(default=20, ge=1, le=100_000)


class ReliabilityConfig(StrictModel):
    """What the bot does when Telegram, the model or the process itself fails."""

    # A final message (each part of an answer, a notice that ends a turn) is retried on
    # Telegram's 5xx, time-outs and network errors for this long.
    delivery_deadline_seconds: float = Field(default=600.0, ge=10, le=86400)
    # Answers that a crash or a shutdown left unfinished are answered at the next start when
    # they were asked at most this long ago; older ones get an honest notice instead.
    recovery_window_seconds: float = Field(default=600.0, ge=0, le=86400)
    # On SIGTERM or SIGINT, answers in flight may finish for this long.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=600)
    # An answer whose resumption failed this many times (a restart loop) is given up.
    max_resumes: int = Field(default=2, ge=1, le=10)


class ObservabilityConfig(StrictModel):
    """Prometheus metrics, /healthz and /readyz on one small HTTP server."""

    metrics: bool = True
    metrics_host: str = "127.0.0.1"  # loopback: put a scraper or a proxy beside the bot
    metrics_port: int = Field(default=9464, ge=1, le=65535)


class BroadcastsConfig(StrictModel):
    """Messages an operator sends to every user (/broadcast)."""

    # The share of Telegram's global budget (about 30 messages/s) a broadcast may take, so
    # that answers in chats keep flowing meanwhile.
    share: float = Field(default=0.5, gt=0, le=0.9)
    # A recipient whose send keeps failing (5xx, time-outs) is given up after this long.
    retry_seconds: float = Field(default=30.0, ge=0, le=600)
    # The operator's progress message is edited at most this often.
    progress_interval_seconds: float = Field(default=5.0, ge=1, le=300)


class StorageConfig(StrictModel):
    url: str = "sqlite+aiosqlite:///data/bot.sqlite3"


class RedisConfig(StrictModel):
    """Several bot processes (webhook ingress replicas, workers) coordinated through Redis; see
    docs/scaling.md. The section's presence turns it on; it needs PostgreSQL."""

    url: str = Field(min_length=1, pattern=r"^(redis|rediss|unix)://")
    # Updates are spread over this many streams by chat id; each is handled by one worker at a
    # time. More partitions than workers lets them share the load; changing it needs the queue
    # drained first (a chat would move to another stream).
    partitions: int = Field(default=16, ge=1, le=1024)
    # A worker's hold on its partitions (and the poller's on polling) lapses this long after it
    # stops renewing them (a crash): then another process takes over.
    lease_seconds: float = Field(default=10.0, ge=2, le=300)
    # Every key and channel starts with this, so several bots can share one Redis.
    key_prefix: str = Field(default="bot", pattern=r"^[A-Za-z0-9_.-]{1,40}$")


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


class VoiceConfig(StrictModel):
    """Voice messages, audio files and video notes (docs/voice.md)."""

    # A model with capabilities.transcribe = true; default: the first such model.
    model: str | None = None
    # Longer recordings are refused before download (Telegram lets bots download 20 MB).
    max_duration_seconds: int = Field(default=600, ge=1, le=4 * 3600)
    max_file_mb: float = Field(
        default=TELEGRAM_DOWNLOAD_LIMIT_MB, gt=0, le=TELEGRAM_DOWNLOAD_LIMIT_MB
    )
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    # "verbose_json" reports the language and duration; some models (gpt-4o-transcribe) only
    # answer "json".
    response_format: Literal["verbose_json", "json"] = "verbose_json"
    # The transcript is shown quoted; longer than this, in a collapsed (expandable) quote.
    expand_over_chars: int = Field(default=300, ge=0, le=4000)


class I18nConfig(StrictModel):
    default_locale: Literal["en", "ru"] = "en"
