"""web_search over a loopback server speaking SearXNG's JSON API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from bot.tools.base import ToolError
from bot.tools.config import WebSearchConfig
from bot.tools.web_search import SearchResult, SearxngBackend, WebSearch

CTX: Any = object()

RESULTS = [
    {
        "title": "Sea otter - Wikipedia",
        "url": "https://en.wikipedia.org/wiki/Sea_otter",
        "content": "The sea otter (Enhydra lutris) is a marine mammal\n native to the coasts.",
        "publishedDate": "2024-03-05T00:00:00",
    },
    {"title": "Duplicate", "url": "https://en.wikipedia.org/wiki/Sea_otter", "content": "dup"},
    {"title": "No URL", "content": "dropped"},
    {"title": "  ", "url": "https://otters.example/facts", "content": ""},
    {"title": "Third", "url": "https://third.example/", "content": "x" * 1000},
]


class Searx:
    def __init__(self) -> None:
        self.queries: list[dict[str, str]] = []
        self.status = 200
        self.delay = 0.0
        self.payload: Any = {"query": "", "results": RESULTS}

    async def search(self, request: web.Request) -> web.Response:
        self.queries.append(dict(request.query))
        await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.Response(status=self.status, text="Forbidden")
        return web.json_response(self.payload)


@asynccontextmanager
async def searxng(prefix: str = "") -> AsyncIterator[tuple[Searx, str]]:
    searx = Searx()
    app = web.Application()
    app.router.add_get(f"{prefix}/search", searx.search)
    runner = web.AppRunner(app, shutdown_timeout=0.5, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield searx, f"http://127.0.0.1:{runner.addresses[0][1]}{prefix}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[tuple[Searx, str]]:
    async with searxng() as running:
        yield running


async def search(base: str, query: str, results: int = 5, **config: Any) -> str:
    backend = SearxngBackend(WebSearchConfig(searxng_url=base, **config))
    try:
        return await WebSearch(backend, results).tool(30).call(CTX, {"query": query})
    finally:
        await backend.close()


async def test_results_as_a_numbered_list(server: tuple[Searx, str]) -> None:
    searx, base = server
    text = await search(base, "  sea   otters ", language="en")

    assert searx.queries == [{"q": "sea otters", "format": "json", "language": "en"}]
    lines = text.split("\n")
    assert lines[:6] == [
        "1. Sea otter - Wikipedia (2024-03-05)",
        "   https://en.wikipedia.org/wiki/Sea_otter",
        "   The sea otter (Enhydra lutris) is a marine mammal native to the coasts.",
        "2. https://otters.example/facts",
        "   https://otters.example/facts",
        "3. Third",
    ]
    assert lines[7] == "   " + "x" * 299 + "…"
    assert len(lines) == 8  # duplicate and URL-less results dropped


async def test_result_count_and_base_path(server: tuple[Searx, str]) -> None:
    _, base = server
    text = await search(base + "/", "otters", results=1)
    assert text.startswith("1. Sea otter")
    assert "2." not in text
    async with searxng("/searx") as (searx, prefixed):
        assert (await search(prefixed, "otters")).startswith("1. Sea otter")
        assert "language" not in searx.queries[0]


async def test_no_results_is_a_sentence_not_an_error(server: tuple[Searx, str]) -> None:
    searx, base = server
    searx.payload = {"query": "zzqx", "results": []}
    assert await search(base, "zzqx") == 'No results for "zzqx". Try other or fewer keywords.'


async def test_forbidden_json_format_explains_the_fix(server: tuple[Searx, str]) -> None:
    searx, base = server
    searx.status = 403
    with pytest.raises(ToolError, match="json format is probably disabled") as caught:
        await search(base, "otters")
    assert "settings.yml" in str(caught.value)


@pytest.mark.parametrize(("status", "reason"), [(429, "rate limited"), (500, "HTTP 500")])
async def test_other_http_errors(server: tuple[Searx, str], status: int, reason: str) -> None:
    searx, base = server
    searx.status = status
    with pytest.raises(ToolError, match=reason):
        await search(base, "otters")


async def test_timeout(server: tuple[Searx, str]) -> None:
    searx, base = server
    searx.delay = 2
    with pytest.raises(ToolError, match=r"did not answer within 0\.3 seconds"):
        await search(base, "otters", timeout_seconds=0.3)


async def test_unexpected_answer_and_unreachable_service(server: tuple[Searx, str]) -> None:
    searx, base = server
    searx.payload = ["not", "a", "searxng", "answer"]
    with pytest.raises(ToolError, match="unexpected answer"):
        await search(base, "otters")
    with pytest.raises(ToolError, match="could not be reached"):
        await search("http://127.0.0.1:9", "otters")


async def test_query_is_capped_and_must_not_be_empty() -> None:
    class Backend:
        def __init__(self) -> None:
            self.queries: list[str] = []

        async def search(self, query: str, count: int) -> list[SearchResult]:
            self.queries.append(query)
            return [SearchResult("T", "https://t.example/", "s")]

    backend = Backend()
    tool = WebSearch(backend, 3).tool(5)
    assert tool.spec.parameters["properties"]["query"]["maxLength"] == 400
    with pytest.raises(ToolError, match="at most 400 characters"):
        await tool.call(CTX, {"query": "q" * 401})
    with pytest.raises(ToolError, match="the query is empty"):
        await tool.call(CTX, {"query": "   "})
    assert await tool.call(CTX, {"query": "q" * 400}) == "1. T\n   https://t.example/\n   s"
    assert backend.queries == ["q" * 400]
