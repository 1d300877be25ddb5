"""One MCP server, supervised: connect (start the process, or reach the URL), list its tools,
serve calls; when it fails, withdraw its tools, tell the operators once, and try again after
a wait that doubles up to a ceiling. The connection lives in the supervisor's own task (the
SDK's task groups must be left in the task that entered them); calls come from the answers'
tasks and share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpcore2
import httpx2
import mcp_types
from mcp import Client, MCPError
from mcp_types import Implementation
from pydantic import ValidationError

from bot.llm.types import ToolSpec
from bot.tools.base import Tool, ToolContext, ToolError
from bot.tools.mcp.announce import Announce
from bot.tools.mcp.config import McpConfig, McpServerConfig
from bot.tools.mcp.results import result_text
from bot.tools.mcp.transport import open_transport
from bot.tools.names import wire_name

logger = logging.getLogger(__name__)

CLIENT_INFO = Implementation(name="polyglot-bot", version="0.1.0")
MAX_DESCRIPTION_CHARS = 2000  # a server's tool description, as the model reads it
MAX_SCHEMA_CHARS = 20_000  # a larger input schema is not offered (it costs every request)
MAX_PAGES = 50  # of a tools/list walk
STEADY_SECONDS = 60.0  # up at least this long: the next failure waits the first backoff again
_TRANSPORT_ERRORS = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    httpx2.TransportError,
    httpcore2.NetworkError,
    OSError,
)


@dataclass(frozen=True, slots=True)
class Timing:
    startup: float
    first_backoff: float
    max_backoff: float
    check_interval: float

    @classmethod
    def of(cls, config: McpConfig) -> Timing:
        return cls(
            config.startup_timeout_seconds,
            config.restart_backoff_seconds,
            config.max_backoff_seconds,
            config.check_interval_seconds,
        )


class McpServer:
    """A configured server and, while it is up, its tools."""

    def __init__(
        self,
        server_id: str,
        config: McpServerConfig,
        timing: Timing,
        env: Mapping[str, str],
        result_chars: int,
        announce: Announce,
    ) -> None:
        self.id = server_id
        self.config = config
        self._timing = timing
        self._env = env
        self._result_chars = result_chars
        self._announce = announce
        self._client: Client | None = None
        self._lost = asyncio.Event()
        self._wake = asyncio.Event()  # lost, or asked to list the tools again
        self._reason = ""
        self._reported = False
        self.tools: tuple[Tool, ...] = ()
        self.server_description = ""
        self.problem = "starting"
        self.settled = asyncio.Event()  # the first attempt ended (up or failed)

    @property
    def available(self) -> bool:
        return self._client is not None

    async def supervise(self) -> None:
        """Runs until cancelled: connect, serve until the connection is lost, wait, again."""
        loop = asyncio.get_running_loop()
        delay = self._timing.first_backoff
        while True:
            started = loop.time()
            self.problem = await self._session()
            self._withdraw()
            self.settled.set()
            if loop.time() - started >= STEADY_SECONDS:
                delay = self._timing.first_backoff
            logger.warning("mcp %s: %s; trying again in %.1f s", self.id, self.problem, delay)
            if not self._reported:
                self._reported = True
                await self._tell("mcp-server-down", problem=self.problem)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._timing.max_backoff)

    async def _session(self) -> str:
        """One connection, from start to loss; returns what ended it."""
        self._lost = lost = asyncio.Event()
        self._reason = ""
        try:
            async with contextlib.AsyncExitStack() as stack:
                async with asyncio.timeout(self._timing.startup):
                    transport = open_transport(self.config, self._env, self._closed)
                    client = Client(transport, cache=None, client_info=CLIENT_INFO)
                    await stack.enter_async_context(client)
                    listed = await _list_tools(client)
                self._publish(client, listed)
                await self._serve(client, lost)
                return self._reason or "the connection ended"
        except TimeoutError:
            return self._reason or f"no answer within {self._timing.startup:g} s"
        except Exception as exc:
            return self._reason or describe(exc)

    async def _serve(self, client: Client, lost: asyncio.Event) -> None:
        logger.info("mcp %s: up with %d tools", self.id, len(self.tools))
        self.settled.set()
        if self._reported:
            self._reported = False
            await self._tell("mcp-server-back", tools=str(len(self.tools)))
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._timing.check_interval)
            self._wake.clear()
            if lost.is_set():
                return
            async with asyncio.timeout(self._timing.startup):
                self._publish(client, await _list_tools(client))

    def _closed(self) -> None:
        self.lose("the server closed the connection (its process may have exited)")

    def lose(self, reason: str) -> None:
        """The connection is broken: withdraw the tools now; the supervisor reconnects."""
        if not self._lost.is_set():
            self._reason = self._reason or reason
            self._withdraw()
            self._lost.set()
            self._wake.set()

    def refresh(self) -> None:
        """List the tools again now (a configuration reload)."""
        self._wake.set()

    def _withdraw(self) -> None:
        self._client = None
        self.tools = ()

    def _publish(self, client: Client, listed: list[mcp_types.Tool]) -> None:
        if self._lost.is_set():
            return
        info = client.server_info
        self.server_description = (info.description or info.title or "") if info else ""
        wanted = self.config.tools
        tools: list[Tool] = []
        taken: set[str] = set()
        for item in listed:
            if wanted is not None and item.name not in wanted:
                continue
            tool = self._tool(item, taken)
            if tool is not None:
                taken.add(tool.name)
                tools.append(tool)
        self.tools = tuple(tools)
        self._client = client
        self.problem = ""

    def _tool(self, item: mcp_types.Tool, taken: set[str]) -> Tool | None:
        schema = dict(item.input_schema)
        if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
            logger.warning("mcp %s: tool %s not offered: its schema is too large", self.id, item)
            return None
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        description = (item.description or item.title or item.name)[:MAX_DESCRIPTION_CHARS]
        name = item.name

        async def call(ctx: ToolContext, arguments: dict[str, Any]) -> str:
            return await self.call(name, arguments)

        return Tool(
            spec=ToolSpec(wire_name(self.id, name, taken), description, schema),
            function=call,
            arguments=None,
            status_key="tool-status-mcp",
            timeout=self.config.timeout_seconds,
            label=f"{self.id}.{name}",
            server=self.id,
            status_args=(("server", self.id),),
        )

    async def call(self, tool: str, arguments: dict[str, Any]) -> str:
        """The tool's result as text for the model; ToolError for every failure."""
        client = self._client
        if client is None:
            raise ToolError(f"the MCP server {self.id} is not available right now ({self.problem})")
        try:
            result = await client.call_tool(tool, arguments)
        except MCPError as exc:
            if exc.code == mcp_types.CONNECTION_CLOSED:
                self.lose(f"the connection broke during a call of {tool}")
                raise ToolError(
                    f"the MCP server {self.id} stopped while running {tool}; its tools are "
                    "unavailable until it is back, so answer without them"
                ) from None
            raise ToolError(f"the MCP server {self.id} refused the call: {exc}") from None
        except _TRANSPORT_ERRORS as exc:
            self.lose(f"a call of {tool} failed: {describe(exc)}")
            raise ToolError(
                f"the MCP server {self.id} could not be reached ({describe(exc)})"
            ) from None
        except ValidationError:
            raise ToolError(
                f"the MCP server {self.id} answered with a result that does not follow the protocol"
            ) from None
        return result_text(result, self._result_chars)

    async def _tell(self, key: str, **args: str) -> None:
        try:
            await self._announce(key, server=self.id, **args)
        except Exception:
            logger.exception("mcp %s: could not tell the operators (%s)", self.id, key)


async def _list_tools(client: Client) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def describe(exc: BaseException) -> str:
    """A short reason for the log and the operators, from the innermost real exception."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        return f"the server answered with an error: {exc.message}"
    if isinstance(exc, FileNotFoundError):
        return f"the command was not found ({exc.filename or exc})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
