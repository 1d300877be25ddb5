"""Content of the fake web: generated articles, default search results, a PDF, error pages."""

from __future__ import annotations

import functools
import html
import re
from typing import Any

SITE = "Sandbox Wiki"
# Text outside the <article> that a good extractor leaves out (tests can assert its absence).
NAV_TEXT = "Home Topics About Contact"
SCRIPT_MARKER = "window.sandboxTracker"
FOOTER_TEXT = "Cookie settings"
# What SearXNG (Flask) answers when the requested output format is not enabled.
FORBIDDEN_HTML = (
    "<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n"
    "<p>You don&#39;t have the permission to access the requested resource. It is either "
    "read-protected or not readable by the server.</p>\n"
)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    slug = _NON_WORD.sub("-", text.casefold()).strip("-")[:80].strip("-")
    return slug or "search"


def topic_of(slug: str) -> str:
    """``python-asyncio-guide`` -> ``python asyncio guide``."""
    return " ".join(part for part in re.split(r"[-_.]+", slug) if part) or slug


def default_results(base_url: str, query: str) -> list[dict[str, Any]]:
    """Three results on the fake web itself whose titles and snippets quote the query."""
    slug = slugify(query)
    entries = [
        (
            slug,
            f"{query}: an overview | {SITE}",
            f'An overview of "{query}": background, key facts and further reading.',
        ),
        (
            f"{slug}-guide",
            f"A practical guide to {query}",
            f'Step by step: how "{query}" works in practice, with worked examples.',
        ),
        (
            f"{slug}-news",
            f"{query}: latest news",
            f'The latest reporting on "{query}", updated daily by our editors.',
        ),
    ]
    return [
        {
            "url": f"{base_url}/pages/{page}",
            "title": title,
            "content": content,
            "engine": "sandbox",
            "engines": ["sandbox"],
            "category": "general",
            "score": round(1.0 / (rank + 1), 3),
            "publishedDate": None,
        }
        for rank, (page, title, content) in enumerate(entries)
    ]


def article_html(slug: str) -> str:
    """A realistic article page about the words of ``slug``, with nav, scripts and a footer."""
    topic = html.escape(topic_of(slug))
    title = topic.title()
    safe_slug = html.escape(slug)
    paragraphs = [
        f"{title} is a subject many readers ask about. This article explains what {topic} "
        "means, where the idea comes from and why it matters today.",
        f"The history of {topic} goes back further than most people expect. Early accounts "
        "describe it in simple terms, and later writers refined those descriptions considerably.",
        f"In practice, {topic} shows up in everyday situations. Experts recommend starting "
        "small, checking the results carefully and keeping notes of what worked.",
        f"This page (reference {safe_slug}) is part of the {SITE}, a sandbox site used for "
        "testing; its facts are invented and should not be cited.",
    ]
    body = "\n".join(f"      <p>{p}</p>" for p in paragraphs[:2])
    rest = "\n".join(f"      <p>{p}</p>" for p in paragraphs[2:])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} | {SITE}</title>
  <meta name="description" content="Everything about {topic}.">
  <link rel="canonical" href="/pages/{safe_slug}">
  <style>body {{ font-family: sans-serif; }} nav a {{ margin-right: 1em; }}</style>
  <script>{SCRIPT_MARKER} = {{ page: "{safe_slug}", consent: false }};</script>
</head>
<body>
  <header class="site-header">
    <a class="logo" href="/pages/home">{SITE}</a>
    <nav>{" ".join(f'<a href="/pages/{w.lower()}">{w}</a>' for w in NAV_TEXT.split())}</nav>
  </header>
  <main>
    <article>
      <h1>{title}</h1>
      <p class="byline">By the sandbox editors &middot; updated 2025-01-01</p>
{body}
      <h2>In practice</h2>
{rest}
      <ul>
        <li><a href="/pages/{safe_slug}-guide">A practical guide to {topic}</a></li>
        <li><a href="/pages/{safe_slug}-news">{title}: latest news</a></li>
      </ul>
    </article>
    <aside class="sidebar">Subscribe to our newsletter for more articles like this one.</aside>
  </main>
  <footer><p>&copy; 2025 {SITE} &middot; <a href="/pages/privacy">Privacy</a> &middot;
    {FOOTER_TEXT}</p></footer>
  <script src="/static/analytics.js" async></script>
</body>
</html>
"""


def simple_page(title: str, text: str) -> str:
    title, text = html.escape(title), html.escape(text)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head>\n<body><h1>{title}</h1><p>{text}</p></body></html>\n"
    )


PDF_TEXT = "Sandbox PDF: a small document served by the fake web."


@functools.cache
def pdf_bytes() -> bytes:
    """A minimal valid one-page PDF whose text is :data:`PDF_TEXT`."""
    stream = f"BT /F1 18 Tf 72 720 Td ({PDF_TEXT}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
