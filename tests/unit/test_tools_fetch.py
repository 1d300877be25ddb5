"""fetch_url against real loopback servers: readable text, limits, and the SSRF guard (only the
test server's own 127.0.0.1:port is allowlisted, as an operator would allow an intranet host)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.tools.base import ToolError
from bot.tools.config import FetchUrlConfig
from bot.tools.fetch import UrlFetcher

CTX: Any = object()

ARTICLE = """<!doctype html>
<html><head><title>How Otters Sleep</title>
<script>var tracking = "pixel-123"; console.log("analytics");</script>
<style>body { color: red; }</style></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About us</a> | <a href="/shop">Shop now</a></nav>
<div class="cookie-banner">We use cookies. Accept all cookies?</div>
<article>
<h1>How Otters Sleep</h1>
<p>Sea otters hold hands while they sleep so that they do not drift apart from each other in
the water. This behaviour is called rafting, and a raft can contain dozens of animals.</p>
<p>They also wrap themselves in kelp, which anchors them in place while they rest. Researchers
have watched this in the <a href="/kelp">kelp forests</a> along the coast of California.</p>
<p>Mothers carry their pups on their bellies, and the pups sleep there until they can float
on their own, usually a few weeks after birth.</p>
</article>
<footer>Copyright 2024 Otter News Ltd. All rights reserved. Privacy policy.</footer>
<script>document.write("injected-footer-script")</script>
</body></html>"""

RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей чаю."


@dataclass
class Site:
    port: int
    hits: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@asynccontextmanager
async def serve(routes: list[web.RouteDef]) -> AsyncIterator[Site]:
    hits: list[str] = []
    agents: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        hits.append(request.path_qs)
        agents.append(request.headers.get("User-Agent", ""))
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    runner = web.AppRunner(app, shutdown_timeout=0.5, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Site(port=runner.addresses[0][1], hits=hits, agents=agents)
    finally:
        await runner.cleanup()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def page(body: str | bytes, content_type: str = "text/plain", status: int = 200) -> Handler:
    data = body.encode() if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=data, status=status, headers={"Content-Type": content_type})

    return handler


async def untyped_html(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()  # no Content-Type header at all
    await response.prepare(request)
    await response.write(b"<!DOCTYPE html><html><body><p>" + b"Sniffed page. " * 20 + b"</p>")
    await response.write_eof()
    return response


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(3)
    return web.Response(text="too late")


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["to"])


async def loop(request: web.Request) -> web.Response:
    raise web.HTTPFound(f"/loop/{int(request.match_info['n']) + 1}")


async def chunked_big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    for _ in range(100):
        await response.write(b"x" * 1000 + b"\n")
    await response.write(b"END-MARKER")
    await response.write_eof()
    return response


ROUTES = [
    web.get("/article", page(ARTICLE, "text/html; charset=utf-8")),
    web.get("/big", chunked_big),
    web.get("/long", page("word " * 4000)),
    web.get("/slow", slow),
    web.get("/pdf", page(b"%PDF-1.7 binary", "application/pdf")),
    web.get("/png", page(b"\x89PNG\r\n\x1a\n", "image/png")),
    web.get("/untyped-pdf", page(b"%PDF-1.4 ...", "application/octet-stream")),
    web.get("/json", page('{"answer": 42}', "application/json")),
    web.get("/cp1251", page(RUSSIAN.encode("cp1251"), "text/plain; charset=windows-1251")),
    web.get("/empty", page("<html><body><script>app()</script></body></html>", "text/html")),
    web.get("/missing", page("nope", status=404)),
    web.get("/broken", page("down", status=503)),
    web.get("/redirect", redirect),
    web.get("/loop/{n}", loop),
    web.get("/target", page("the target page")),
    web.get("/untyped-html", untyped_html),
    web.get("/octet-text", page("plain words", "application/octet-stream")),
]


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with serve(ROUTES) as running:
        yield running


@pytest.fixture
async def private_site() -> AsyncIterator[Site]:
    """Another loopback server, standing for an internal service; never allowlisted."""
    async with serve([web.get("/{tail:.*}", page("internal secret"))]) as running:
        yield running


@asynccontextmanager
async def fetcher(site: Site, **overrides: Any) -> AsyncIterator[UrlFetcher]:
    config = FetchUrlConfig(allow_hosts=[f"127.0.0.1:{site.port}"], **overrides)
    tool = UrlFetcher(config)
    await tool.start()
    try:
        yield tool
    finally:
        await tool.close()


async def fetch(site: Site, url: str, **overrides: Any) -> str:
    async with fetcher(site, **overrides) as tool:
        return await tool.tool(30).call(CTX, {"url": url})


async def refused(site: Site, url: str, **overrides: Any) -> str:
    with pytest.raises(ToolError) as caught:
        await fetch(site, url, **overrides)
    return str(caught.value)


async def test_article_becomes_readable_text_without_page_noise(site: Site) -> None:
    result = await fetch(site, site.url("/article#comments"))

    header, _, body = result.partition("\n\n")
    assert header == f"URL: {site.url('/article')}\nTitle: How Otters Sleep"
    assert "Sea otters hold hands while they sleep" in body
    assert "Mothers carry their pups" in body
    assert f"[kelp forests]({site.url('/kelp')})" in body  # links kept, made absolute
    for noise in ("pixel-123", "analytics", "color: red", "Shop now", "Copyright", "injected"):
        assert noise not in result


async def test_configured_user_agent_is_sent(site: Site) -> None:
    await fetch(site, site.url("/target"), user_agent="OtterBot/2.0")
    assert site.agents == ["OtterBot/2.0"]


async def test_text_json_and_declared_charsets(site: Site) -> None:
    assert (await fetch(site, site.url("/json"))).endswith('{"answer": 42}')
    assert RUSSIAN in await fetch(site, site.url("/cp1251"))


async def test_content_is_sniffed_without_a_useful_content_type(site: Site) -> None:
    assert "Sniffed page. Sniffed page." in await fetch(site, site.url("/untyped-html"))
    assert (await fetch(site, site.url("/octet-text"))).endswith("plain words")


async def test_page_without_text_says_so(site: Site) -> None:
    assert "no readable text" in await fetch(site, site.url("/empty"))


async def test_body_is_read_only_up_to_max_bytes(site: Site) -> None:
    result = await fetch(site, site.url("/big"), max_bytes=10_000)

    assert "END-MARKER" not in result
    assert result.count("x") == 10_000 - 9  # 9 newlines
    assert "[The page was truncated: only its first 10000 bytes were read.]" in result


async def test_text_is_cut_at_max_chars_with_a_note(site: Site) -> None:
    result = await fetch(site, site.url("/long"), max_chars=1000)

    assert result.count("word") == 200
    assert "[Cut at 1000 of 19999 characters.]" in result


async def test_slow_page_hits_the_time_cap(site: Site) -> None:
    started = time.monotonic()
    message = await refused(site, site.url("/slow"), timeout_seconds=0.5)
    assert message == "the page did not load within 0.5 seconds"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("path", "what"),
    [("/pdf", "a PDF document"), ("/png", "an image file"), ("/untyped-pdf", "a PDF document")],
)
async def test_binaries_are_refused(site: Site, path: str, what: str) -> None:
    message = await refused(site, site.url(path))
    assert message.startswith(f"this URL is {what}")
    assert "reads web pages and text only" in message


async def test_http_errors_name_the_status(site: Site) -> None:
    assert "HTTP 404 Not Found: the page does not exist" in await refused(
        site, site.url("/missing")
    )
    assert "HTTP 503 Service Unavailable" in await refused(site, site.url("/broken"))


async def test_other_loopback_port_is_refused_without_a_request(
    site: Site, private_site: Site
) -> None:
    message = await refused(site, private_site.url("/admin"))

    assert message.startswith("refused: 127.0.0.1 is a private or local address")
    assert private_site.hits == []


async def test_cloud_metadata_is_refused_without_connecting(site: Site) -> None:
    started = time.monotonic()
    message = await refused(site, "http://169.254.169.254/latest/meta-data/", timeout_seconds=10)

    assert message.startswith("refused: 169.254.169.254 is a private or local address")
    assert time.monotonic() - started < 1  # no connection attempt to wait for


async def test_name_resolving_to_loopback_is_refused(site: Site) -> None:
    message = await refused(site, site.url("/target", host="localhost"))

    assert message.startswith("refused: localhost resolves to a private or local address")
    assert "only public web pages can be fetched" in message
    assert "/target" not in site.hits


async def test_unknown_domain_is_reported(site: Site) -> None:
    message = await refused(site, "http://no-such-host.invalid/page", timeout_seconds=10)
    assert message == "could not resolve no-such-host.invalid: the domain may not exist"


async def test_redirects_are_followed_and_each_hop_is_checked(
    site: Site, private_site: Site
) -> None:
    ok = await fetch(site, site.url("/redirect?to=/target"))
    assert ok == f"URL: {site.url('/target')}\n\nthe target page"

    to_private = await refused(site, site.url(f"/redirect?to={private_site.url('/')}"))
    assert to_private.startswith("refused: 127.0.0.1 is a private or local address")
    assert private_site.hits == []

    to_name = await refused(site, site.url(f"/redirect?to={site.url('/target', 'localhost')}"))
    assert to_name.startswith("refused: localhost resolves to a private or local address")
    to_file = await refused(site, site.url("/redirect?to=file:///etc/passwd"))
    assert to_file.startswith("refused: only http and https")
    assert site.hits.count("/target") == 1  # only the allowed redirect reached it


async def test_redirect_chain_is_capped(site: Site) -> None:
    within = await fetch(site, site.url("/redirect?to=/redirect%3Fto%3D/target"), max_redirects=2)
    assert within.endswith("the target page")

    message = await refused(site, site.url("/loop/0"), max_redirects=3)
    assert message == "too many redirects (more than 3)"
    assert site.hits[-4:] == ["/loop/0", "/loop/1", "/loop/2", "/loop/3"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "refused: only http and https URLs can be fetched, not 'file:'"),
        ("ftp://example.com/file.txt", "refused: only http and https URLs can be fetched"),
        ("http://user:pw@example.com/", "refused: URLs with a user name or password"),
        ("http://[::1]/", "refused: ::1 is a private or local address"),
    ],
)
async def test_unsafe_urls_are_refused(site: Site, url: str, reason: str) -> None:
    assert (await refused(site, url)).startswith(reason)


async def test_tool_spec_describes_the_tool(site: Site) -> None:
    async with fetcher(site) as tool:
        spec = tool.tool(20).spec
    assert spec.name == "fetch_url"
    assert spec.parameters["required"] == ["url"]
    assert "PDF" in spec.description
