"""`[tools]` in config.toml: what models may call, with what limits and backends."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.config_sections import StrictModel
from bot.tools.netguard import parse_allowlist


class WebSearchConfig(StrictModel):
    # A SearXNG instance (or anything serving its JSON API: GET /search?q=...&format=json).
    # Unset: no web_search tool. SearXNG must allow the json format (settings.yml: search.formats).
    searxng_url: str | None = None
    results: int = Field(default=5, ge=1, le=20)
    language: str | None = None  # SearXNG's language parameter; unset: the instance's default
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class FetchUrlConfig(StrictModel):
    enabled: bool = True
    max_bytes: int = Field(default=2_000_000, ge=10_000, le=50_000_000)
    # Below [tools] max_result_chars, so the page's own "cut" note survives.
    max_chars: int = Field(default=10_000, ge=500, le=200_000)
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    max_redirects: int = Field(default=5, ge=0, le=20)
    # Hosts (or host:port) exempt from the guard that refuses loopback, private, link-local and
    # cloud-metadata addresses: for an intranet, or the tests' loopback pages.
    allow_hosts: list[str] = Field(default_factory=list)
    user_agent: str = (
        "Mozilla/5.0 (compatible; TelegramLLMBot/1.0; +https://core.telegram.org/bots)"
    )

    @field_validator("allow_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        parse_allowlist(value)  # ValueError naming the entry that is not host or host:port
        return value


class ImageToolConfig(StrictModel):
    # An openai_compatible provider of [providers] serving POST /images/generations. Unset: no
    # generate_image tool.
    provider: str | None = None
    model: str = "gpt-image-1"
    size: str = Field(default="1024x1024", pattern=r"^(auto|\d{2,5}x\d{2,5})$")
    timeout_seconds: float = Field(default=120.0, gt=0, le=600)


class ToolsConfig(StrictModel):
    enabled: bool = True
    # Rounds of tool calls in one answer; after the last one the model must answer in words.
    max_steps: int = Field(default=5, ge=1, le=20)
    max_calls_per_step: int = Field(default=8, ge=1, le=32)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)  # per call, unless the tool's own
    max_result_chars: int = Field(default=12_000, ge=500, le=200_000)
    web_search: WebSearchConfig = WebSearchConfig()
    fetch_url: FetchUrlConfig = FetchUrlConfig()
    generate_image: ImageToolConfig = ImageToolConfig()
