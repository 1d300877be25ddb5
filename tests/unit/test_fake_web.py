"""The fake web: SearXNG's JSON API, pages, redirects, slow and big answers, a PDF, control."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pypdf import PdfReader

from bot.sandbox.web import FakeWeb, FakeWebControl, FakeWebError
from bot.sandbox.web.pages import FOOTER_TEXT, NAV_TEXT, PDF_TEXT, SCRIPT_MARKER


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeb]:
    server = FakeWeb()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def search(http: aiohttp.ClientSession, fake: FakeWeb, **params: str) -> Any:
    query = {"format": "json", **params}
    async with http.get(f"{fake.base_url}/search", params=query) as response:
        assert response.status == 200
        return await response.json()


async def test_default_search_links_to_pages_quoting_the_query(
    fake: FakeWeb, http: aiohttp.ClientSession
) -> None:
    body = await search(http, fake, q="Rust borrow checker")
    assert body["query"] == "Rust borrow checker"
    assert body["number_of_results"] == len(body["results"]) == 3
    for result in body["results"]:
        assert result["url"].startswith(f"{fake.base_url}/pages/rust-borrow-checker")
        assert "Rust borrow checker" in result["title"] + result["content"]
        assert result["engine"] == "sandbox"
        assert result["publishedDate"] is None
    assert body == await search(http, fake, q="Rust borrow checker")  # deterministic
    async with http.get(body["results"][1]["url"]) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
    for word in ("rust", "borrow", "checker", "rust-borrow-checker-guide"):
        assert word in page.lower()
    for part in ("<nav>", "<header", "<footer>", "<script", "<article>", "<h1>"):
        assert part in page
    assert page.count("<p>") >= 3
    assert SCRIPT_MARKER in page
    assert FOOTER_TEXT in page
    assert NAV_TEXT.split()[0] in page


async def test_scripted_search_by_query_substring(
    fake: FakeWeb, http: aiohttp.ClientSession
) -> None:
    fake.script_search("weather", [{"url": "/pages/forecast", "title": "Forecast"}])
    fake.script_search(None, [{"url": "https://example.org/", "title": "Anything"}])
    body = await search(http, fake, q="Weather in Oslo")
    (result,) = body["results"]
    assert result["url"] == f"{fake.base_url}/pages/forecast"
    assert (result["content"], result["engine"], result["publishedDate"]) == ("", "sandbox", None)
    other = await search(http, fake, q="football")
    assert [r["title"] for r in other["results"]] == ["Anything"]
    fake.script_search("weather", [])
    assert (await search(http, fake, q="weather"))["results"] == []
    with pytest.raises(FakeWebError):
        fake.script_search("x", [{"title": "no url"}])


async def test_search_formats_and_missing_query(fake: FakeWeb, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{fake.base_url}/search", params={"q": "cats"}) as response:
        assert response.status == 403
        assert "Forbidden" in await response.text()
    fake.enable_search_json(False)
    url = f"{fake.base_url}/search"
    async with http.get(url, params={"q": "cats", "format": "json"}) as response:
        assert response.status == 403
        assert "permission to access" in await response.text()
    fake.enable_search_json(True)
    async with http.get(url, params={"q": " ", "format": "json"}) as response:
        assert response.status == 400
    async with http.post(url, data={"q": "cats", "format": "json"}) as response:
        assert response.status == 200
        assert (await response.json())["query"] == "cats"


async def test_added_pages_and_content_types(fake: FakeWeb, http: aiohttp.ClientSession) -> None:
    fake.add_page("hello", "<html><body><p>Hi there</p></body></html>")
    fake.add_page("data.json", '{"a": 1}', content_type="application/json")
    async with http.get(f"{fake.base_url}/pages/hello") as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert await response.text() == "<html><body><p>Hi there</p></body></html>"
    async with http.get(f"{fake.base_url}/pages/data.json") as response:
        assert await response.json() == {"a": 1}
    with pytest.raises(FakeWebError):
        fake.add_page("bad/slug", "x")


async def test_redirect_status_and_pdf(fake: FakeWeb, http: aiohttp.ClientSession) -> None:
    target = f"{fake.base_url}/pages/landing"
    url = f"{fake.base_url}/redirect"
    async with http.get(url, params={"to": target}, allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == target
    async with http.get(url, params={"to": target}) as response:
        assert str(response.url) == target
    async with http.get(f"{fake.base_url}/status/404") as response:
        assert response.status == 404
    async with http.get(f"{fake.base_url}/file.pdf") as response:
        assert response.content_type == "application/pdf"
        data = await response.read()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert PDF_TEXT in reader.pages[0].extract_text()


async def test_slow_and_big(fake: FakeWeb, http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    async with http.get(f"{fake.base_url}/slow", params={"seconds": "0.3"}) as response:
        assert response.status == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await http.get(f"{fake.base_url}/slow", params={"seconds": "5"})
    async with http.get(f"{fake.base_url}/big", params={"bytes": "200000"}) as response:
        assert response.content_length == 200_000
        assert len(await response.read()) == 200_000
    params = {"bytes": "70000", "chunked": "1"}
    async with http.get(f"{fake.base_url}/big", params=params) as response:
        assert response.content_length is None
        assert len(await response.read()) == 70_000
    async with http.get(f"{fake.base_url}/big", params={"bytes": "-1"}) as response:
        assert response.status == 400


async def test_request_log_and_reset(fake: FakeWeb, http: aiohttp.ClientSession) -> None:
    await search(http, fake, q="a b")
    async with http.get(f"{fake.base_url}/pages/x?ref=1"):
        pass
    assert fake.requests == ["/search?format=json&q=a+b", "/pages/x?ref=1"]
    fake.script_search(None, [])
    fake.reset()
    assert fake.requests == []
    assert len((await search(http, fake, q="a"))["results"]) == 3


async def test_http_control_client(fake: FakeWeb, http: aiohttp.ClientSession) -> None:
    async with FakeWebControl(fake.base_url) as control:
        await control.script_search("moon", [{"url": "/pages/moon", "title": "The Moon"}])
        await control.add_page("moon", "<p>Full moon tonight</p>")
        body = await search(http, fake, q="moon phases")
        async with http.get(body["results"][0]["url"]) as response:
            assert await response.text() == "<p>Full moon tonight</p>"
        assert await control.requests() == ["/search?format=json&q=moon+phases", "/pages/moon"]
        await control.clear_requests()
        assert await control.requests() == []
        await control.enable_search_json(False)
        async with http.get(f"{fake.base_url}/search?q=a&format=json") as response:
            assert response.status == 403
        with pytest.raises(FakeWebError, match="url"):
            await control.script_search(None, [{"title": "no url"}])
        with pytest.raises(FakeWebError, match="slug"):
            await control.add_page("", "x")
        await control.reset()
        assert fake.requests == []
        assert len((await search(http, fake, q="moon"))["results"]) == 3


async def test_stop_cuts_slow_answers() -> None:
    fake = FakeWeb()
    base = await fake.start()
    async with aiohttp.ClientSession() as session:

        async def fetch() -> int | str:
            try:
                async with session.get(f"{base}/slow", params={"seconds": "30"}) as response:
                    return response.status
            except aiohttp.ClientError:
                return "closed"

        pending = asyncio.ensure_future(fetch())
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await fake.stop()
        assert await asyncio.wait_for(pending, 5) in (503, "closed")
        assert time.monotonic() - started < 5
