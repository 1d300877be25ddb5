"""The MCP hub against real servers: the test suite's MCP server (tests/mcp_server.py) started
over stdio and served over streamable HTTP on loopback, called through the tool executor."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp_types import (
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from bot.llm.types import ToolCallPart
from bot.tools.base import ToolError
from bot.tools.executor import TRUNCATED_NOTE, ToolLimits, run_calls
from bot.tools.mcp.config import McpConfig
from bot.tools.mcp.hub import McpHub
from bot.tools.mcp.results import result_text
from tests.e2e.conftest import free_port
from tests.mcp_server import serve_http

ROOT = Path(__file__).parents[2]


class Operators:
    def __init__(self) -> None:
        self.told: list[tuple[str, dict[str, str]]] = []

    async def __call__(self, key: str, **args: str) -> None:
        self.told.append((key, args))


def config(**servers: dict[str, Any]) -> McpConfig:
    return McpConfig.model_validate(
        {"restart_backoff_seconds": 0.2, "max_backoff_seconds": 0.5, "servers": servers}
    )


def stdio(**extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": ["-m", "tests.mcp_server"], "cwd": str(ROOT)} | extra


@pytest.fixture(scope="module")
async def http_port() -> AsyncIterator[int]:
    port = free_port()
    async with serve_http(port):
        yield port


@pytest.fixture
async def hub(http_port: int) -> AsyncIterator[McpHub]:
    servers = config(
        local=stdio(tools=["echo", "slow", "big", "fail", "die"]),
        remote={"url": f"http://127.0.0.1:{http_port}/mcp", "private": True},
    )
    hub = McpHub(servers, {}, result_chars=20_000)
    await hub.start(Operators())
    yield hub
    await hub.close()


def calls(*pairs: tuple[str, dict[str, Any]]) -> list[ToolCallPart]:
    import json

    return [ToolCallPart(f"c{n}", name, json.dumps(args)) for n, (name, args) in enumerate(pairs)]


async def until(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_both_transports_list_their_tools(hub: McpHub) -> None:
    local, remote = hub.groups()
    assert (local.server, local.transport, local.available) == ("local", "stdio", True)
    assert [t.display_name for t in local.tools] == [
        "local.echo",
        "local.slow",
        "local.big",
        "local.fail",
        "local.die",
    ]  # only those `tools` names
    assert remote.transport == "http"
    assert "remote.add" in [t.display_name for t in remote.tools]
    assert remote.describe("ru") == "Test tools: echo, sums, slow and big results"
    echo = next(t for t in hub.tools() if t.name == "local__echo")
    assert echo.spec.description == "Repeat the text back."
    assert echo.spec.parameters["required"] == ["text"]


async def test_calls_on_both_servers_run_at_once_through_the_executor(hub: McpHub) -> None:
    tools = {tool.name: tool for tool in hub.tools()}
    started = time.monotonic()
    results = await run_calls(
        calls(
            ("local__slow", {"seconds": 1, "tag": "a"}),
            ("remote__slow", {"seconds": 1, "tag": "b"}),
            ("remote__add", {"a": 2, "b": 40}),
            ("local__fail", {"reason": "on purpose"}),
        ),
        tools,
        None,  # type: ignore[arg-type]  # MCP tools do not use the turn's context
        ToolLimits(3, 8, 1000),
    )
    elapsed = time.monotonic() - started
    assert [r.content for r in results[:3]] == ["slept 1 s a", "slept 1 s b", "2 + 40 = 42"]
    assert results[3].is_error
    assert results[3].content == "Error executing tool fail"  # the SDK's server hides details
    assert elapsed < 1.8, elapsed  # one after the other: 2 s


async def test_a_five_megabyte_result_is_cut_to_the_budget(hub: McpHub) -> None:
    tools = {tool.name: tool for tool in hub.tools()}
    started = time.monotonic()
    [local, remote] = await run_calls(
        calls(("local__big", {"megabytes": 5}), ("remote__big", {"megabytes": 5})),
        tools,
        None,  # type: ignore[arg-type]
        ToolLimits(3, 8, 5000),
    )
    elapsed = time.monotonic() - started
    for result in (local, remote):
        assert not result.is_error
        assert result.content == "0123456789" * 500 + TRUNCATED_NOTE.format(limit=5000)
    assert elapsed < 10, elapsed


async def test_a_loopback_server_not_marked_private_is_refused_before_connecting() -> None:
    connections = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    operators = Operators()
    hub = McpHub(config(sneaky={"url": f"http://localhost:{port}/mcp"}), {}, 1000)
    try:
        await hub.start(operators)
        [group] = hub.groups()
        assert not group.available
        assert "localhost resolves to a private or local address (127.0.0.1)" in group.problem
        assert hub.tools() == []
        told = {"server": "sneaky", "problem": group.problem}
        assert operators.told == [("mcp-server-down", told)]
    finally:
        await hub.close()
        listener.close()
    assert connections == 0


async def test_a_remote_server_that_goes_away_is_withdrawn_and_comes_back() -> None:
    port = free_port()
    operators = Operators()
    hub = McpHub(config(remote={"url": f"http://127.0.0.1:{port}/mcp", "private": True}), {}, 99)
    try:
        async with serve_http(port):
            await hub.start(operators)
            echo = next(t for t in hub.tools() if t.name == "remote__echo")
            assert await echo.call(None, {"text": "hi"}) == "echo: hi"  # type: ignore[arg-type]
        with pytest.raises(ToolError, match="the MCP server remote stopped while running echo"):
            await echo.call(None, {"text": "anyone?"})  # type: ignore[arg-type]
        assert hub.tools() == []
        with pytest.raises(ToolError, match="the MCP server remote is not available right now"):
            await echo.call(None, {"text": "still?"})  # type: ignore[arg-type]
        async with serve_http(port):
            await until(lambda: bool(hub.tools()))
            fresh = next(t for t in hub.tools() if t.name == "remote__echo")
            assert await fresh.call(None, {"text": "back"}) == "echo: back"  # type: ignore[arg-type]
        assert [key for key, _ in operators.told] == ["mcp-server-down", "mcp-server-back"]
    finally:
        await hub.close()


async def test_a_reload_starts_new_servers_and_stops_removed_ones(http_port: int) -> None:
    remote = {"url": f"http://127.0.0.1:{http_port}/mcp", "private": True}
    hub = McpHub(config(local=stdio(tools=["environment"])), {}, 1000)
    try:
        await hub.start()
        [environment] = hub.tools()
        names = await environment.call(None, {})  # type: ignore[arg-type]
        assert "TELEGRAM_BOT_TOKEN" not in names
        await hub.apply(config(remote=remote))
        assert {t.server for t in hub.tools()} == {"remote"}
        with pytest.raises(ToolError):  # the old process is gone
            await environment.call(None, {})  # type: ignore[arg-type]
        await hub.apply(config(remote=remote, local=stdio(tools=["echo"])))
        assert [g.server for g in hub.groups()] == ["remote", "local"]
        assert "local__echo" in [t.name for t in hub.tools()]
    finally:
        await hub.close()


def test_results_keep_text_and_describe_the_rest() -> None:
    result = CallToolResult(
        content=[
            TextContent(text="found 2 pages"),
            ImageContent(data="AAAA" * 100, mime_type="image/png"),
            ResourceLink(name="page", uri="wiki://page/1"),
            EmbeddedResource(resource=TextResourceContents(uri="wiki://page/2", text="Body")),
        ]
    )
    assert result_text(result, 1000) == (
        "found 2 pages\n\n[a picture (image/png, about 300 bytes), not shown]\n\n"
        "[a link to the resource page: wiki://page/1]\n\n[resource wiki://page/2]\nBody"
    )
    structured = CallToolResult(content=[], structured_content={"rows": 3})
    assert result_text(structured, 1000) == '{"rows": 3}'
    assert len(result_text(CallToolResult(content=[TextContent(text="x" * 50)]), 10)) == 11
    with pytest.raises(ToolError, match="no such table"):
        result_text(CallToolResult(content=[TextContent(text="no such table")], is_error=True), 99)


async def test_a_broken_reload_changes_nothing_and_tells_the_operators(http_port: int) -> None:
    remote = {"url": f"http://127.0.0.1:{http_port}/mcp", "private": True}
    operators = Operators()
    hub = McpHub(config(remote=remote), {}, 1000)

    mistake = "config.toml: mcp.servers.x: give either command or url"

    def broken() -> tuple[McpConfig, dict[str, str]]:
        raise ValueError(mistake)

    try:
        await hub.start(operators)
        before = [t.name for t in hub.tools()]
        await hub.reload(broken)
        assert [t.name for t in hub.tools()] == before
        assert operators.told == [("mcp-reload-failed", {"error": mistake})]
        await hub.reload(lambda: (config(), {}))  # every server removed
        assert hub.tools() == []
        assert hub.groups() == []
    finally:
        await hub.close()
