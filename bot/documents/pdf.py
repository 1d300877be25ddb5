"""Blocking PDF primitives on pypdfium2: page count, page text and page images.

pdfium is neither thread-safe nor safe against hostile files (it can crash, loop or allocate
without bound), so these functions are meant to run in a worker process
(:mod:`bot.documents.worker`), never on the event loop or in a thread. Every document, page,
text page and bitmap is closed explicitly, so a long-lived worker does not grow over thousands
of files. Paths are plain ``str`` and results plain data, so jobs pickle cheaply.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

RejectReason = Literal["encrypted", "corrupt", "truncated"]

EOF_WINDOW = 1024
"""A complete PDF has ``%%EOF`` within its last bytes (writers may add a little junk after)."""
JPEG_QUALITY = 80
HYPHEN_JOIN = "\ufffe"

_BLANK_RUN = re.compile(r"\n{4,}")  # three or more blank lines


def _pdfium() -> Any:
    """pypdfium2, imported where PDFs are read (the worker processes), not in the bot's own
    process, which only needs this module's error type (it saves ~15 MB there)."""
    import pypdfium2  # type: ignore[import-untyped]  # ships without type hints

    return pypdfium2


def _pdfium_raw() -> Any:
    import pypdfium2.raw  # type: ignore[import-untyped]

    return pypdfium2.raw


class PdfRejectedError(Exception):
    """The file cannot be read as a PDF; ``reason`` says why, in words a user can act on."""

    reason: RejectReason

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type[PdfRejectedError], tuple[RejectReason, str]]:
        # Raised in a worker process: it must survive the trip back through pickle.
        return (type(self), (self.reason, self.detail))

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


@dataclass(frozen=True, slots=True)
class PdfInfo:
    pages: int


def _check_complete(path: str) -> None:
    """Reject a cut-off file (e.g. an interrupted download) before pdfium tries to repair it."""
    with open(path, "rb") as file:
        size = file.seek(0, os.SEEK_END)
        file.seek(max(0, size - EOF_WINDOW))
        tail = file.read()
    if b"%%EOF" not in tail:
        raise PdfRejectedError("truncated", f"no %%EOF in the last {EOF_WINDOW} bytes")


@contextmanager
def _open(path: str) -> Iterator[Any]:
    """The open document; closed (with its pages) on exit."""
    _check_complete(path)
    try:
        document = _pdfium().PdfDocument(path)
    except _pdfium().PdfiumError as exc:
        # FPDF_ERR_SECURITY is an encryption handler pdfium lacks: still "encrypted" to a user.
        if exc.err_code in (_pdfium_raw().FPDF_ERR_PASSWORD, _pdfium_raw().FPDF_ERR_SECURITY):
            raise PdfRejectedError("encrypted", str(exc)) from None
        # pypdfium2 also reports a document with no pages as a load failure.
        raise PdfRejectedError("corrupt", str(exc)) from None
    try:
        if len(document) < 1:
            raise PdfRejectedError("corrupt", "the document has no pages")
        yield document
    finally:
        document.close()


@contextmanager
def _page(document: Any, index: int) -> Iterator[Any]:
    page = document[index]
    try:
        yield page
    finally:
        page.close()


def pdf_info(path: str) -> PdfInfo:
    """Open the file and count its pages; raises :class:`PdfRejectedError`."""
    with _open(path) as document:
        return PdfInfo(pages=len(document))


def clean_text(text: str) -> str:
    """Unix newlines, no NULs, no trailing spaces, at most two blank lines in a row.

    pdfium joins a word hyphenated across lines and marks the join with U+FFFE
    ("man<U+FFFE>agement"): the mark is dropped, which leaves the whole word.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\x00", "").replace(HYPHEN_JOIN, "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUN.sub("\n\n\n", text)


def _page_text(document: Any, index: int) -> str:
    try:
        page = document[index]
    except _pdfium().PdfiumError:
        return ""  # one unreadable page should not cost the user the rest of the document
    try:
        textpage = page.get_textpage()
        try:
            return clean_text(str(textpage.get_text_range()))
        finally:
            textpage.close()
    except _pdfium().PdfiumError:
        return ""
    finally:
        page.close()


def pdf_page_texts(path: str, first: int, last: int) -> list[str]:
    """Cleaned text of pages ``[first, last)`` (0-based; ``last`` is capped at the page count).

    A page pdfium cannot load gives an empty string rather than failing the document.
    """
    if first < 0 or last < first:
        raise ValueError(f"bad page range [{first}, {last})")
    with _open(path) as document:
        last = min(last, len(document))
        return [_page_text(document, index) for index in range(first, last)]


def _render_jpeg(page: Any, max_side: int) -> bytes:
    width, height = page.get_size()  # points, i.e. pixels at scale 1 (72 dpi)
    if min(width, height) <= 0:
        raise PdfRejectedError("corrupt", "a page has no area")
    scale = max_side / max(width, height)  # render no larger than what we send
    bitmap = page.render(scale=scale, rev_byteorder=True)  # RGB, white background
    try:
        image = bitmap.to_pil().convert("RGB")  # a copy: independent of the bitmap's buffer
    finally:
        bitmap.close()
    if max(image.size) > max_side:  # pdfium rounds the pixel size up
        image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def pdf_render_pages(path: str, pages: list[int], max_side: int) -> list[bytes]:
    """JPEG (RGB, quality 80) of each page in ``pages`` (0-based), longer side <= ``max_side``."""
    if max_side < 1:
        raise ValueError("max_side must be positive")
    with _open(path) as document:
        count = len(document)
        images: list[bytes] = []
        for index in pages:
            if not 0 <= index < count:
                raise ValueError(f"page {index} is outside 0..{count - 1}")
            with _page(document, index) as page:
                images.append(_render_jpeg(page, max_side))
        return images
