"""The fetch_url tool: a public web page as readable text, behind the SSRF guard.

Redirects are followed by hand so every hop passes `check_url`, and names are resolved by
`GuardedResolver`; the body is streamed up to `max_bytes`; HTML becomes Markdown-like text with
trafilatura in a worker thread (imported there, on first use).
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated

import aiohttp
from pydantic import Field
from yarl import URL

from bot.documents.text import TextRejectedError, decode_text
from bot.tools.base import Tool, ToolContext, ToolError, define_tool
from bot.tools.config import FetchUrlConfig
from bot.tools.netguard import (
    BlockedAddressError,
    GuardedResolver,
    UrlRefusedError,
    check_url,
    parse_allowlist,
)

logger = logging.getLogger(__name__)

MAX_URL_CHARS = 4000
_ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.8,*/*;q=0.5"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset(
    {"application/json", "application/xml", "application/javascript", "application/x-yaml"}
)
_HTTP_HINTS = {
    401: "the page needs a login",
    403: "the site refuses access (login or bot protection)",
    404: "the page does not exist; check the URL",
    410: "the page was removed",
    429: "the site is rate limiting; try later or another source",
}


@dataclass(frozen=True, slots=True)
class Download:
    url: URL
    kind: str  # "html" or "text"
    charset: str | None
    body: bytes
    truncated: bool


def _parse_url(raw: str) -> URL:
    text = raw.strip()
    if len(text) > MAX_URL_CHARS:
        raise ToolError(f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        url = URL(text)
        if not url.scheme and not url.raw_host:  # "example.com/page"
            url = URL(f"https://{text}")
    except (ValueError, TypeError):
        raise ToolError(f"'{text[:200]}' is not a valid URL") from None
    return url.with_fragment(None) if url.absolute else url


def _kind(mime: str) -> str:
    """'html' or 'text', or ToolError for PDFs, images and other binaries."""
    if mime in _HTML_TYPES:
        return "html"
    if mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml")):
        return "text"
    if mime == "application/pdf":
        what = "a PDF document"
    elif mime.startswith(("image/", "audio/", "video/")):
        what = f"{'an' if mime.startswith('image/') else 'a'} {mime.split('/')[0]} file ({mime})"
    else:
        what = f"a binary file ({mime})"
    raise ToolError(
        f"this URL is {what}; fetch_url reads web pages and text only. The user can send the "
        "file in the chat instead."
    )


def _sniff(head: bytes) -> str:
    """The content type of a response without a Content-Type header, from its first bytes."""
    start = head.lstrip()[:64].lower()
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "text/html"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")) or head[8:12] == b"WEBP":
        return "image/unknown"
    return "application/octet-stream" if b"\x00" in head[:1024] else "text/plain"


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _decode(body: bytes, charset: str | None) -> str:
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            pass
    try:  # non-final: tolerates a character cut in half by the size cap
        return codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        pass
    try:  # the documents' detection: byte-order marks, Cyrillic and Western code pages
        return decode_text(body).text
    except TextRejectedError:
        return body.decode("utf-8", errors="replace")


def readable_text(download: Download) -> tuple[str | None, str]:
    """(title, text) of a download; HTML through trafilatura. Blocking: run in a thread."""
    if download.kind != "html":
        return None, _decode(download.body, download.charset).strip()
    import trafilatura
    from trafilatura.metadata import extract_metadata

    html: str | bytes = download.body
    if download.charset:
        html = _decode(download.body, download.charset)
    tree = trafilatura.load_html(html)
    if tree is None:
        return None, trafilatura.html2txt(html).strip()
    title = extract_metadata(tree, default_url=str(download.url)).title
    text = trafilatura.extract(
        tree, url=str(download.url), output_format="markdown", include_links=True
    )
    if not text:
        text = trafilatura.html2txt(html)
    return title, text.strip()


def render(download: Download, title: str | None, text: str, max_chars: int) -> str:
    lines = [f"URL: {download.url}"]
    if title:
        lines.append(f"Title: {title}")
    lines.append("")
    if not text:
        lines.append("(The page has no readable text; it may need JavaScript to show content.)")
    elif len(text) > max_chars:
        lines += [text[:max_chars], "", f"[Cut at {max_chars} of {len(text)} characters.]"]
    else:
        lines.append(text)
    if download.truncated:
        lines += [
            "",
            f"[The page was truncated: only its first {len(download.body)} bytes were read.]",
        ]
    return "\n".join(lines)


def _client_error(exc: aiohttp.ClientError, url: URL) -> ToolError:
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        if isinstance(exc.os_error, BlockedAddressError):
            return ToolError(str(exc.os_error))
        return ToolError(f"could not resolve {exc.host}: the domain may not exist")
    if isinstance(exc, aiohttp.ClientSSLError):
        return ToolError(f"the TLS certificate of {url.host} could not be verified")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ToolError(f"could not connect to {exc.host}:{exc.port}")
    if isinstance(exc, aiohttp.InvalidURL):
        return ToolError(f"'{url}' is not a valid URL")
    return ToolError(f"the request to {url.host} failed: {type(exc).__name__} {exc}".strip())


EXTRACT_THREADS = 2
"""Page extraction has its own threads: an extraction that outlives its tool's timeout keeps
running, and must not hold up the default pool (DNS lookups, attachments)."""


class UrlFetcher:
    def __init__(self, config: FetchUrlConfig) -> None:
        self._config = config
        self._extract = ThreadPoolExecutor(EXTRACT_THREADS, thread_name_prefix="fetch-extract")
        self._allow = parse_allowlist(config.allow_hosts)
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver | None = None

    async def start(self) -> None:
        self._client()

    async def close(self) -> None:
        self._extract.shutdown(wait=False, cancel_futures=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._resolver is not None:  # the connector closes only resolvers it created
            await self._resolver.close()
            self._resolver = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._resolver = GuardedResolver(self._allow)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=self._resolver),
                headers={"User-Agent": self._config.user_agent, "Accept": _ACCEPT},
                cookie_jar=aiohttp.DummyCookieJar(),  # one session serves every user
                trust_env=False,
            )
        return self._session

    async def fetch_url(
        self,
        ctx: ToolContext,
        url: Annotated[str, Field(description="The full http(s) URL of the page.")],
    ) -> str:
        """Fetch a public web page (or plain text / JSON) and return its readable text: the
        final URL, the title and the main content as Markdown with links. Use it to read a page
        the user linked or one found with web_search; it cannot read PDFs, images or pages
        behind a login."""
        target = _parse_url(url)
        seconds = self._config.timeout_seconds
        try:
            async with asyncio.timeout(seconds):
                download = await self._download(target)
        except TimeoutError:
            raise ToolError(f"the page did not load within {seconds:g} seconds") from None
        except aiohttp.ClientError as exc:
            logger.debug("fetch_url failed: %r", exc)
            raise _client_error(exc, target) from None
        loop = asyncio.get_running_loop()
        title, text = await loop.run_in_executor(self._extract, readable_text, download)
        return render(download, title, text, self._config.max_chars)

    async def _download(self, url: URL) -> Download:
        for _ in range(self._config.max_redirects + 1):
            try:
                check_url(url, self._allow)
            except UrlRefusedError as exc:
                raise ToolError(str(exc)) from None
            async with self._client().get(url, allow_redirects=False) as response:
                if response.status in _REDIRECTS:
                    url = self._redirect_target(url, response)
                    continue
                if response.status >= 400:
                    hint = _HTTP_HINTS.get(response.status, "")
                    hint = hint or ("a server error; try later" if response.status >= 500 else "")
                    reason = f"HTTP {response.status} {response.reason or ''}".strip()
                    raise ToolError(f"{url} answered {reason}" + (f": {hint}" if hint else ""))
                return await self._read(url, response)
        raise ToolError(f"too many redirects (more than {self._config.max_redirects})")

    def _redirect_target(self, url: URL, response: aiohttp.ClientResponse) -> URL:
        location = response.headers.get("Location")
        if not location:
            raise ToolError(f"{url} answered HTTP {response.status} without a Location")
        try:
            return url.join(URL(location)).with_fragment(None)
        except ValueError:
            raise ToolError(f"{url} redirects to an invalid URL") from None

    async def _read(self, url: URL, response: aiohttp.ClientResponse) -> Download:
        mime = response.content_type if "Content-Type" in response.headers else ""
        vague = mime in ("", "application/octet-stream")  # often a misconfigured text file
        if not vague:
            _kind(mime)  # refuse binaries before reading them
        body, truncated = await _read_capped(response, self._config.max_bytes)
        if vague:
            mime = _sniff(body[:2048])
        return Download(url, _kind(mime), response.charset, body, truncated)

    def tool(self, timeout: float) -> Tool:
        return define_tool(
            self.fetch_url, name="fetch_url", status_key="tool-status-fetch-url", timeout=timeout
        )
