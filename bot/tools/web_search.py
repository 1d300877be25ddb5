"""The web_search tool over a search backend; SearXNG's JSON API is the one shipped."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import aiohttp
from pydantic import Field
from yarl import URL

from bot.tools.base import Tool, ToolContext, ToolError, define_tool
from bot.tools.config import WebSearchConfig

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 400
MAX_SNIPPET_CHARS = 300


@dataclass(frozen=True, slots=True)
class SearchResult:
    title: str
    url: str
    snippet: str
    published: str | None = None


class SearchBackend(Protocol):
    async def search(self, query: str, count: int) -> list[SearchResult]:
        """At most `count` results; raises ToolError when the search service fails."""


def _results(payload: Any, count: int) -> list[SearchResult]:
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise ToolError("the search service sent an unexpected answer; try again later")
    results: list[SearchResult] = []
    seen: set[str] = set()
    for item in payload["results"]:
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url or url in seen:
            continue
        seen.add(url)
        title, snippet = item.get("title"), item.get("content")
        published = item.get("publishedDate")
        results.append(
            SearchResult(
                title=title.strip() if isinstance(title, str) and title.strip() else url,
                url=url,
                snippet=snippet if isinstance(snippet, str) else "",
                published=published if isinstance(published, str) and published else None,
            )
        )
        if len(results) >= count:
            break
    return results


class SearxngBackend:
    """GET {searxng_url}/search?q=...&format=json on a SearXNG instance."""

    def __init__(
        self, config: WebSearchConfig, session: aiohttp.ClientSession | None = None
    ) -> None:
        if not config.searxng_url:
            raise ValueError("tools.web_search.searxng_url is not set")
        base = URL(config.searxng_url)
        self._endpoint = base if base.path.endswith("/search") else base.joinpath("search")
        self._config = config
        self._session = session
        self._owns_session = session is None

    async def start(self) -> None:
        self._client()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def search(self, query: str, count: int) -> list[SearchResult]:
        params = {"q": query, "format": "json"}
        if self._config.language:
            params["language"] = self._config.language
        seconds = self._config.timeout_seconds
        try:
            async with (
                asyncio.timeout(seconds),
                self._client().get(self._endpoint, params=params) as response,
            ):
                if response.status >= 400:
                    raise _status_error(response.status)
                payload = await response.json(content_type=None)
        except TimeoutError:
            raise ToolError(f"web search did not answer within {seconds:g} seconds") from None
        except (aiohttp.ClientError, ValueError) as exc:
            logger.warning("searxng request failed: %r", exc)
            raise ToolError(
                "web search is unavailable (the search service could not be reached); "
                "answer from your own knowledge and say so"
            ) from None
        return _results(payload, count)


def _status_error(status: int) -> ToolError:
    logger.warning("searxng answered HTTP %s", status)
    if status == 403:
        return ToolError(
            "web search is unavailable: the search service refused the request (HTTP 403; "
            "the json format is probably disabled on this SearXNG instance: the operator must "
            "add json to search.formats in settings.yml)"
        )
    if status == 429:
        return ToolError("web search is rate limited (HTTP 429); try again in a minute")
    return ToolError(f"web search failed: the search service answered HTTP {status}")


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def format_results(results: list[SearchResult]) -> str:
    entries = []
    for number, result in enumerate(results, start=1):
        title = _one_line(result.title, 200)
        if result.published:
            title += f" ({result.published[:10]})"
        entry = f"{number}. {title}\n   {result.url}"
        if result.snippet.strip():
            entry += f"\n   {_one_line(result.snippet, MAX_SNIPPET_CHARS)}"
        entries.append(entry)
    return "\n".join(entries)


class WebSearch:
    def __init__(self, backend: SearchBackend, results: int) -> None:
        self._backend = backend
        self._results = results

    async def web_search(
        self,
        ctx: ToolContext,
        query: Annotated[
            str,
            Field(
                description="What to search for: a few keywords, in the language most likely "
                "to find good sources.",
                max_length=MAX_QUERY_CHARS,
            ),
        ],
    ) -> str:
        """Search the web for current information, facts you are unsure of, news or sources.
        Returns a numbered list of results with title, URL and snippet; read a result in full
        with fetch_url when it is available."""
        text = " ".join(query.split())
        if not text:
            raise ToolError("the query is empty; pass a few keywords")
        if len(text) > MAX_QUERY_CHARS:
            raise ToolError(f"the query is longer than {MAX_QUERY_CHARS} characters; shorten it")
        results = await self._backend.search(text, self._results)
        if not results:
            return f'No results for "{text}". Try other or fewer keywords.'
        return format_results(results)

    def tool(self, timeout: float) -> Tool:
        return define_tool(
            self.web_search, name="web_search", status_key="tool-status-web-search", timeout=timeout
        )
