"""A real MCP server for the tests, written with the SDK's server side (`MCPServer`).

`python -m tests.mcp_server` serves it over stdio (the bot starts it as a process);
`http_app()` is the same server over streamable HTTP, for uvicorn on loopback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer

DESCRIPTION = "Test tools: echo, sums, slow and big results"
MEGABYTE = 1024 * 1024


def build(name: str = "testtools") -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer(name, description=DESCRIPTION, log_level="WARNING")

    @server.tool()
    def echo(text: str) -> str:
        """Repeat the text back."""
        return f"echo: {text}"

    @server.tool()
    def add(a: int, b: int) -> str:
        """Add two whole numbers."""
        return f"{a} + {b} = {a + b}"

    @server.tool()
    async def slow(seconds: float, tag: str = "") -> str:
        """Wait this many seconds, then say so."""
        await asyncio.sleep(seconds)
        return f"slept {seconds:g} s {tag}".strip()

    @server.tool()
    def big(megabytes: float) -> str:
        """Return a text of this many megabytes."""
        return ("0123456789" * (int(megabytes * MEGABYTE) // 10 + 1))[: int(megabytes * MEGABYTE)]

    @server.tool()
    def fail(reason: str) -> str:
        """Fail with this reason."""
        raise ValueError(reason)

    @server.tool()
    def environment() -> str:
        """The names of the server's environment variables."""
        return ", ".join(sorted(os.environ))

    @server.tool()
    async def die() -> str:
        """Kill the server's own process in the middle of the call."""
        await asyncio.sleep(0.2)
        os.kill(os.getpid(), signal.SIGKILL)
        return "not reached"

    return server


@asynccontextmanager
async def serve_http(port: int, name: str = "testtools") -> AsyncIterator[None]:
    """The server over streamable HTTP at http://127.0.0.1:<port>/mcp, in this event loop."""
    import uvicorn

    app = build(name).streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else "testtools").run()
