"""Build the bot's toolbox from `[tools]` (each tool whose backend is configured) and `[mcp]`
(the tools of MCP servers, started with `ToolSet.start`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import openai

from bot.config import Settings, load_settings, provider_api_key, read_environment
from bot.tools.base import Tool
from bot.tools.calculator import Calculator
from bot.tools.clock import Clock
from bot.tools.executor import Toolbox, ToolLimits
from bot.tools.fetch import UrlFetcher
from bot.tools.images import ImageGenerator
from bot.tools.mcp.announce import Announce
from bot.tools.mcp.config import McpConfig
from bot.tools.mcp.hub import McpHub
from bot.tools.web_search import SearxngBackend, WebSearch

logger = logging.getLogger(__name__)


@dataclass
class ToolSet:
    """The toolbox, its MCP servers and what must be closed at shutdown (HTTP sessions,
    clients, server processes)."""

    toolbox: Toolbox | None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    mcp: McpHub | None = None

    async def start(self, announce: Announce | None = None) -> None:
        """Start the MCP servers and list their tools; `announce` tells the operators when a
        server fails or comes back."""
        if self.mcp is not None:
            await self.mcp.start(announce)

    def reload_on_hangup(self, config_path: Path) -> None:
        """SIGHUP re-reads `config_path` (and .env) and applies its [mcp] servers."""
        if self.mcp is not None:

            def read() -> tuple[McpConfig, dict[str, str]]:
                env = read_environment(Path(".env"))
                return load_settings(config_path, environ=env).mcp, env

            self.mcp.reload_on_hangup(read)

    async def close(self) -> None:
        if self.mcp is not None:
            await self.mcp.close()
        for close in self.closers:
            try:
                await close()
            except Exception:
                logger.exception("tools: closing failed")


def build_tools(settings: Settings, env: Mapping[str, str]) -> ToolSet:
    config = settings.tools
    if not config.enabled:
        return ToolSet(None)
    default = config.timeout_seconds
    tools: list[Tool] = [Calculator().tool(default), Clock().tool(default)]
    closers: list[Callable[[], Awaitable[None]]] = []
    search = config.web_search
    if search.searxng_url:
        backend = SearxngBackend(search)
        closers.append(backend.close)
        # A little over the backend's own timeout, which reports it more precisely.
        tools.append(WebSearch(backend, search.results).tool(search.timeout_seconds + 5))
    if config.fetch_url.enabled:
        fetcher = UrlFetcher(config.fetch_url)
        closers.append(fetcher.close)
        tools.append(fetcher.tool(config.fetch_url.timeout_seconds + 5))
    image = config.generate_image
    if image.provider is not None:
        provider = settings.providers[image.provider]
        client = openai.AsyncOpenAI(
            base_url=provider.base_url,
            api_key=provider_api_key(provider, env) or "no-key",
            max_retries=0,  # a retry would not fit the tool's timeout
        )
        closers.append(client.close)
        tools.append(ImageGenerator(client, image).tool(image.timeout_seconds + 5))
    limits = ToolLimits(config.max_steps, config.max_calls_per_step, config.max_result_chars)
    logger.info("tools: %s", ", ".join(tool.name for tool in tools))
    # Always there (a reload may add servers); the SDK is imported when a server starts.
    hub = McpHub(settings.mcp, env, config.max_result_chars)
    if settings.mcp.active:
        logger.info("tools: MCP servers %s", ", ".join(settings.mcp.active))
    return ToolSet(Toolbox(tools, limits, [hub]), closers, hub)
