"""All configured MCP servers: a tool source for the toolbox (the tools of the servers that are
up, in configuration order), started with the bot, reloaded on demand, stopped at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from bot.tools.base import Tool
from bot.tools.executor import ToolGroup
from bot.tools.mcp.announce import Announce
from bot.tools.mcp.config import McpConfig
from bot.tools.mcp.server import McpServer, Timing

logger = logging.getLogger(__name__)


async def _nobody(key: str, **args: str) -> None:
    """Until the bot can talk to its operators, problems are only logged."""


class McpHub:
    def __init__(self, config: McpConfig, env: Mapping[str, str], result_chars: int) -> None:
        self._config = config
        self._env = env
        self._result_chars = result_chars
        self._announce: Announce = _nobody
        self._servers: dict[str, McpServer] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def tools(self) -> list[Tool]:
        return [tool for server in self._servers.values() for tool in server.tools]

    def groups(self) -> list[ToolGroup]:
        return [
            ToolGroup(
                server=server.id,
                description=dict(server.config.descriptions()) or {"en": server.server_description},
                available=server.available,
                tools=server.tools,
                problem=server.problem,
                transport=server.config.transport,
            )
            for server in self._servers.values()
        ]

    async def start(self, announce: Announce | None = None) -> None:
        """Start every server and wait (at most the startup timeout) until each is up or has
        failed once; a server still starting then keeps starting in the background."""
        if announce is not None:
            self._announce = announce
        await self.apply(self._config)

    async def apply(self, config: McpConfig) -> None:
        """Serve `config`'s servers: stop the ones removed or changed, start new ones, and
        list the tools of every server again (a reload)."""
        self._config = config
        wanted = config.active
        for server_id in list(self._servers):
            if server_id not in wanted or wanted[server_id] != self._servers[server_id].config:
                await self._stop(server_id)
        started: list[McpServer] = []
        for server_id, server_config in wanted.items():
            if server_id in self._servers:
                self._servers[server_id].refresh()
                continue
            server = McpServer(
                server_id,
                server_config,
                Timing.of(config),
                self._env,
                self._result_chars,
                self._announce,
            )
            self._servers[server_id] = server
            task = asyncio.create_task(server.supervise(), name=f"mcp-{server_id}")
            self._tasks[server_id] = task
            started.append(server)
        # Keep configuration order for the tools and /tools.
        self._servers = {k: self._servers[k] for k in wanted}
        if started:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(config.startup_timeout_seconds + 1):
                    await asyncio.gather(*(server.settled.wait() for server in started))
        for server in self._servers.values():
            state = f"{len(server.tools)} tools" if server.available else server.problem
            logger.info("mcp %s: %s", server.id, state)

    async def _stop(self, server_id: str) -> None:
        self._servers.pop(server_id, None)
        task = self._tasks.pop(server_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        for server_id in list(self._servers):
            await self._stop(server_id)
