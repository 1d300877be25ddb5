"""The fake web: a SearXNG instance and web pages on loopback HTTP (aiohttp)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.serving import LoopbackServer
from bot.sandbox.web.control import control_routes
from bot.sandbox.web.pages import (
    FORBIDDEN_HTML,
    article_html,
    default_results,
    pdf_bytes,
    simple_page,
)
from bot.sandbox.web.script import Page, SearchScript, parse_page, parse_rule

log = logging.getLogger(__name__)

MAX_SLOW_SECONDS = 300.0
MAX_BIG_BYTES = 1 << 30
_CHUNK = 64 * 1024
_FILLER = b"The sandbox web serves this filler text to test size limits.\n"
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeWeb(LoopbackServer):
    """SearXNG's JSON API plus pages, redirects, slow and big answers, and a PDF."""

    label = "fake web"

    def __init__(self) -> None:
        self._search = SearchScript()
        self._pages: dict[str, Page] = {}
        self._json_enabled = True
        self._log: list[str] = []
        app = web.Application(middlewares=[self._record])
        app.add_routes(
            [
                web.get("/search", self._search_page),
                web.post("/search", self._search_page),
                web.get("/pages/{slug}", self._page),
                web.get("/redirect", self._redirect),
                web.get("/slow", self._slow),
                web.get("/big", self._big),
                web.get("/file.pdf", self._pdf),
                web.get("/status/{code:\\d+}", self._status),
                *control_routes(self),
            ]
        )
        super().__init__(app)

    # ----- in-process control -------------------------------------------------------------

    def script_search(self, match: str | None, results: list[dict[str, Any]]) -> None:
        """Answer queries containing ``match`` (case-insensitive; None = any) with ``results``.

        Each result needs ``url`` and ``title``; ``content``, ``engine`` and ``publishedDate``
        are filled in. A ``url`` starting with ``/`` is on the fake web itself. Rules are tried
        in the order they were added; scripting the same ``match`` again replaces its results.
        """
        self._search.add(parse_rule(match, results))

    def add_page(self, slug: str, html: str | bytes, content_type: str = "text/html") -> None:
        """Serve ``html`` at ``/pages/<slug>`` instead of the generated article."""
        self._pages[slug] = parse_page(slug, html, content_type)

    def enable_search_json(self, enabled: bool = True) -> None:
        """``False`` plays an instance whose settings.yml does not allow the json format."""
        self._json_enabled = enabled

    @property
    def requests(self) -> list[str]:
        """Path and query (as sent, percent-encoded) of every request but control calls."""
        return list(self._log)

    def clear_requests(self) -> None:
        self._log.clear()

    def reset(self) -> None:
        self._search.clear()
        self._pages.clear()
        self._json_enabled = True
        self._log.clear()

    # ----- the web ------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if not request.path.startswith("/control/"):
            self._log.append(request.path_qs)
        return await handler(request)

    async def _search_page(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        output = params.get("format", "html")
        if output != "json" or not self._json_enabled:
            return web.Response(status=403, text=FORBIDDEN_HTML, content_type="text/html")
        query = params.get("q", "").strip()
        if not query:
            return web.json_response({"error": "No query"}, status=400)
        rule = self._search.find(query)
        if rule is None:
            results = default_results(self.base_url, query)
        else:
            results = [self._absolute(dict(r)) for r in rule.results]
        if params.get("pageno", "1") != "1":
            results = []
        body = {
            "query": query,
            "number_of_results": len(results),
            "results": results,
            "answers": [],
            "corrections": [],
            "infoboxes": [],
            "suggestions": [],
            "unresponsive_engines": [],
        }
        return web.json_response(body)

    def _absolute(self, result: dict[str, Any]) -> dict[str, Any]:
        if result["url"].startswith("/"):
            result["url"] = f"{self.base_url}{result['url']}"
        return result

    async def _page(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        page = self._pages.get(slug)
        if page is not None:
            return web.Response(body=page.body, headers={"Content-Type": page.content_type})
        return web.Response(text=article_html(slug), content_type="text/html")

    async def _redirect(self, request: web.Request) -> web.Response:
        target = request.query.get("to")
        if not target:
            return _bad_request("'to' is required: /redirect?to=<url>")
        raise web.HTTPFound(location=target)

    async def _slow(self, request: web.Request) -> web.Response:
        try:
            seconds = float(request.query.get("seconds", "1"))
        except ValueError:
            return _bad_request("'seconds' must be a number")
        if not 0 <= seconds <= MAX_SLOW_SECONDS:
            return _bad_request(f"'seconds' must be from 0 to {MAX_SLOW_SECONDS:g}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
            raise web.HTTPServiceUnavailable(text="the fake web is stopping")
        text = f"This page took {seconds:g} seconds to answer."
        return web.Response(text=simple_page("A slow page", text), content_type="text/html")

    async def _big(self, request: web.Request) -> web.StreamResponse:
        try:
            size = int(request.query.get("bytes", "1000000"))
        except ValueError:
            return _bad_request("'bytes' must be an integer")
        if not 0 <= size <= MAX_BIG_BYTES:
            return _bad_request(f"'bytes' must be from 0 to {MAX_BIG_BYTES}")
        response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
        if "chunked" in request.query:  # no Content-Length: the client must count
            response.enable_chunked_encoding()
        else:
            response.content_length = size
        await response.prepare(request)
        block = _FILLER * (_CHUNK // len(_FILLER) + 1)
        sent = 0
        with contextlib.suppress(ConnectionError):
            while sent < size:
                piece = block[: min(_CHUNK, size - sent)]
                await response.write(piece)
                sent += len(piece)
            await response.write_eof()
        return response

    async def _pdf(self, _request: web.Request) -> web.Response:
        return web.Response(body=pdf_bytes(), content_type="application/pdf")

    async def _status(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        if not 200 <= code <= 599:
            return _bad_request("the status must be from 200 to 599")
        if code in (204, 205, 304):  # no body allowed
            return web.Response(status=code)
        text = simple_page(f"Status {code}", f"The sandbox web answered with HTTP {code}.")
        return web.Response(status=code, text=text, content_type="text/html")


def _bad_request(message: str) -> web.Response:
    return web.Response(status=400, text=message)
