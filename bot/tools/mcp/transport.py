"""How the bot reaches one MCP server: a process it starts (stdio) or a URL (streamable HTTP),
and a read stream that says when the connection ended (the process exited, say)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

import anyio
from mcp.client import Transport
from mcp.client._transport import ReadStream, TransportStreams  # the SDK's own aliases
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

from bot.tools.mcp.config import McpServerConfig
from bot.tools.mcp.guard import http_client

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The largest message taken from a remote server (the SDK's default is 1 MB per event);
results are cut to the context budget afterwards."""


def server_environment(config: McpServerConfig, env: Mapping[str, str]) -> dict[str, str]:
    """What the server's process gets beyond the SDK's basics (HOME, LOGNAME, PATH, SHELL,
    TERM, USER): the operator's `env` and the variables named in `pass_env`, nothing else."""
    named = {name: env[name] for name in config.pass_env if name in env}
    return {**config.env, **named}


def open_transport(
    config: McpServerConfig, env: Mapping[str, str], on_close: Callable[[], None]
) -> Transport:
    if config.command is not None:
        params = StdioServerParameters(
            command=config.command,
            args=list(config.args),
            env=server_environment(config, env),
            cwd=config.cwd,
            encoding_error_handler="replace",
        )
        inner: Transport = stdio_client(params, errlog=sys.stderr)
    else:
        headers = {header: env[name] for header, name in config.headers_env.items()}
        inner = _RemoteTransport(config.url or "", headers, guarded=not config.private)
    return WatchedTransport(inner, on_close)


class _RemoteTransport(AbstractAsyncContextManager[TransportStreams]):
    """Streamable HTTP through our own client (headers, the address guard), closed with it."""

    def __init__(self, url: str, headers: dict[str, str], *, guarded: bool) -> None:
        self._client = http_client(headers, guarded=guarded)
        self._inner = streamable_http_client(
            url, http_client=self._client, max_sse_event_size=MAX_MESSAGE_BYTES
        )

    async def __aenter__(self) -> TransportStreams:
        await self._client.__aenter__()
        try:
            return await self._inner.__aenter__()
        except BaseException:
            await self._client.aclose()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            return await self._inner.__aexit__(exc_type, exc, tb)
        finally:
            await self._client.aclose()


class WatchedTransport(AbstractAsyncContextManager[TransportStreams]):
    """A transport whose read stream calls `on_close` when the server's side ends."""

    def __init__(self, inner: Transport, on_close: Callable[[], None]) -> None:
        self._inner = inner
        self._on_close = on_close

    async def __aenter__(self) -> TransportStreams:
        read, write = await self._inner.__aenter__()
        return _WatchedRead(read, self._on_close), write

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._inner.__aexit__(exc_type, exc, tb)


Item = SessionMessage | Exception
_ENDED = (anyio.EndOfStream, anyio.ClosedResourceError, StopAsyncIteration)


class _WatchedRead:
    def __init__(self, inner: ReadStream[Item], on_close: Callable[[], None]) -> None:
        self._inner = inner
        self._on_close = on_close

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Item:
        try:
            return await self._inner.receive()
        except _ENDED:
            self._on_close()
            raise

    async def __anext__(self) -> Item:
        try:
            return await self._inner.__anext__()
        except _ENDED:
            self._on_close()
            raise

    def __aiter__(self) -> _WatchedRead:
        return self

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _WatchedRead:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._inner.__aexit__(exc_type, exc, tb)
