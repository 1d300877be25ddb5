"""All configured MCP servers: a tool source for the toolbox (the tools of the servers that are
up, in configuration order), started with the bot, reloaded on SIGHUP, stopped at shutdown.

The hub itself is cheap; the SDK is imported when the first server starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from bot.tools.base import Tool
from bot.tools.executor import ToolGroup
from bot.tools.mcp.announce import Announce
from bot.tools.mcp.config import McpConfig, McpServerConfig

if TYPE_CHECKING:
    from bot.tools.mcp.server import McpServer

logger = logging.getLogger(__name__)

Reader = Callable[[], tuple[McpConfig, Mapping[str, str]]]
"""Reads the configuration again (blocking): its [mcp] section and the environment."""


async def _nobody(key: str, **args: str) -> None:
    """Until the bot can talk to its operators, problems are only logged."""


def _named(config: McpServerConfig, env: Mapping[str, str]) -> dict[str, str | None]:
    """The environment a server depends on (a changed value restarts it on reload)."""
    return {name: env.get(name) for _, name in config.variables()}


class McpHub:
    def __init__(self, config: McpConfig, env: Mapping[str, str], result_chars: int) -> None:
        self._config = config
        self._env = env
        self._result_chars = result_chars
        self._announce: Announce = _nobody
        self._servers: dict[str, McpServer] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._applying = asyncio.Lock()  # one start or reload at a time
        self._reloads: set[asyncio.Task[None]] = set()
        self._hangup = False

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

    async def apply(self, config: McpConfig, env: Mapping[str, str] | None = None) -> None:
        """Serve `config`'s servers: stop the ones removed or changed (their command, URL,
        or a variable they are given), start new ones, and list the others' tools again."""
        async with self._applying:
            old_env, self._env = self._env, env if env is not None else self._env
            self._config = config
            wanted = config.active
            for server_id, server in list(self._servers.items()):
                if self._changed(server, wanted.get(server_id), old_env):
                    await self._stop(server_id)
            kept = list(self._servers.values())
            ids = {server.id for server in kept}
            started = [self._start(k, v, config) for k, v in wanted.items() if k not in ids]
            for server in kept:
                server.refresh()
            self._servers = {k: self._servers[k] for k in wanted}  # configuration order
            if started:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(config.startup_timeout_seconds + 1):
                        await asyncio.gather(*(server.settled.wait() for server in started))
            for server in self._servers.values():
                state = f"{len(server.tools)} tools" if server.available else server.problem
                logger.info("mcp %s: %s", server.id, state)

    def _changed(
        self, server: McpServer, new: McpServerConfig | None, old_env: Mapping[str, str]
    ) -> bool:
        if new is None or new != server.config:
            return True
        return _named(new, self._env) != _named(new, old_env)

    def _start(self, server_id: str, config: McpServerConfig, mcp: McpConfig) -> McpServer:
        from bot.tools.mcp.server import McpServer, Timing  # the SDK: with the first server

        server = McpServer(
            server_id, config, Timing.of(mcp), self._env, self._result_chars, self._announce
        )
        self._servers[server_id] = server
        task = asyncio.create_task(server.supervise(), name=f"mcp-{server_id}")
        self._tasks[server_id] = task
        return server

    async def _stop(self, server_id: str) -> None:
        self._servers.pop(server_id, None)
        task = self._tasks.pop(server_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def reload_on_hangup(self, read: Reader) -> None:
        """SIGHUP reads the configuration again and applies its [mcp] servers."""
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._reload_soon, read)
        self._hangup = True

    def _reload_soon(self, read: Reader) -> None:
        task = asyncio.create_task(self.reload(read), name="mcp-reload")
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def reload(self, read: Reader) -> None:
        """Apply the configuration `read` returns; a broken one changes nothing."""
        logger.info("mcp: reloading the configuration")
        try:
            config, env = await asyncio.to_thread(read)
        except Exception as exc:  # ConfigError, unreadable file: keep serving what runs
            logger.error("mcp: the configuration was not reloaded: %s", exc)
            await self._announce("mcp-reload-failed", error=str(exc))
            return
        await self.apply(config, env)

    async def close(self) -> None:
        if self._hangup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._hangup = False
        for task in list(self._reloads):
            task.cancel()
        for server_id in list(self._servers):
            await self._stop(server_id)
