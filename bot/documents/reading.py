"""Turn an uploaded file into what a model can read: prepared images, or a document's text.

Everything blocking runs off the event loop: Pillow and text decoding in worker threads, PDF
work in worker processes (`DocumentWorker`). A file that cannot be read raises
`FileRejectedError` with the locale key of the message the user gets; nothing is stored
before a file has been read completely.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal

from bot.config import DocumentsConfig
from bot.documents.images import ImageRejectedError, PreparedImage, prepare_image
from bot.documents.pdf import PdfRejectedError
from bot.documents.text import TEXT_EXTENSIONS, TextRejectedError, decode_text, docx_text
from bot.documents.worker import DocumentWorker, Progress
from bot.storage.blobs import sha256_of

Kind = Literal["pdf", "image", "docx", "text"]

# Fewer visible characters than this per page: the PDF is a scan (or drawings) without text.
SCANNED_CHARS_PER_PAGE = 25

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"})
_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/x-sh"})


class FileRejectedError(Exception):
    """The file cannot be used; `key` names the localized message, `args` its arguments."""

    def __init__(self, key: str, **args: object) -> None:
        super().__init__(key)
        self.key = key
        self.args_ = args


@dataclass(frozen=True, slots=True)
class ReadDocument:
    kind: Kind
    file_name: str
    data: bytes  # the file as uploaded (a PDF is sent as itself to models that read PDFs)
    media_type: str
    text: str
    pages_total: int | None = None
    pages_read: int | None = None
    page_images: tuple[PreparedImage, ...] = ()  # a scanned PDF's pages, rendered
    sha256: str = field(kw_only=True)  # of `data`, taken off the event loop (20 MB: ~30 ms)

    @property
    def scanned(self) -> bool:
        return bool(self.page_images)


def kind_of(file_name: str, mime_type: str | None) -> Kind | None:
    """What the file is, by name and declared type (the content is checked when read)."""
    suffix = PurePath(file_name.lower()).suffix
    mime = (mime_type or "").lower()
    if suffix == ".pdf" or mime == "application/pdf":
        return "pdf"
    if suffix == ".docx" or mime == DOCX_TYPE:
        return "docx"
    if suffix in _IMAGE_EXTENSIONS or mime.startswith("image/"):
        return "image"
    if suffix in TEXT_EXTENSIONS or mime.startswith("text/") or mime in _TEXT_TYPES:
        return "text"
    return None


class DocumentReader:
    def __init__(self, config: DocumentsConfig, worker: DocumentWorker) -> None:
        self._config = config
        self._worker = worker

    @property
    def max_file_mb(self) -> float:
        return self._config.max_file_mb

    @property
    def max_file_bytes(self) -> int:
        return int(self._config.max_file_mb * 1024 * 1024)

    @property
    def progress_min_pages(self) -> int:
        return self._config.progress_min_pages

    async def image(self, data: bytes) -> PreparedImage:
        """Upright, converted and downscaled for storage; raises FileRejectedError."""
        try:
            return await asyncio.to_thread(
                prepare_image,
                data,
                max_side=self._config.image_store_max_side,
                max_input_pixels=int(self._config.max_image_megapixels * 1_000_000),
            )
        except ImageRejectedError as exc:
            if exc.reason == "too_many_pixels":
                raise FileRejectedError(
                    "image-too-many-pixels", limit=self._config.max_image_megapixels
                ) from exc
            raise FileRejectedError("photo-unreadable") from exc

    async def document(
        self, data: bytes, file_name: str, kind: Kind, progress: Progress | None = None
    ) -> ReadDocument:
        sha256 = await asyncio.to_thread(sha256_of, data)
        if kind == "pdf":
            return await self._pdf(data, file_name, sha256, progress)
        # In a worker process, like PDFs: a small DOCX can inflate to a lot of XML, and
        # decoding megabytes of text would hold the event loop's GIL.
        try:
            if kind == "docx":
                text = await self._worker.run(docx_text, data)  # refuses empty documents
                return ReadDocument("docx", file_name, data, DOCX_TYPE, text, sha256=sha256)
            decoded = await self._worker.run(decode_text, data)
        except TextRejectedError as exc:
            raise FileRejectedError(f"file-{exc.reason}", name=file_name) from exc
        except PdfRejectedError as exc:  # the worker timed out, ran out of memory or crashed
            raise FileRejectedError("file-unreadable", name=file_name) from exc
        return ReadDocument("text", file_name, data, "text/plain", decoded.text, sha256=sha256)

    async def _pdf(
        self, data: bytes, file_name: str, sha256: str, progress: Progress | None
    ) -> ReadDocument:
        if not data.startswith(b"%PDF"):
            raise FileRejectedError("file-pdf-corrupt", name=file_name)
        scan_cap = self._config.scanned_max_pages
        async with _temporary_file(data, ".pdf") as path:
            try:
                read = await self._worker.pdf_text(
                    path, max_pages=self._config.max_pages, progress=progress
                )
                pages: tuple[PreparedImage, ...] = ()
                if read.chars_per_page < SCANNED_CHARS_PER_PAGE:
                    pages = await self._render(path, min(read.pages_read, scan_cap))
            except PdfRejectedError as exc:
                raise FileRejectedError(f"file-pdf-{exc.reason}", name=file_name) from exc
        return ReadDocument(
            "pdf",
            file_name,
            data,
            "application/pdf",
            "" if pages else read.text,
            read.pages_total,
            len(pages) if pages else read.pages_read,
            pages,
            sha256=sha256,
        )

    async def _render(self, path: Path, count: int) -> tuple[PreparedImage, ...]:
        rendered = await self._worker.render_pages(
            path, list(range(count)), max_side=self._config.render_max_side
        )
        return tuple([await self.image(page) for page in rendered])


@contextlib.asynccontextmanager
async def _temporary_file(data: bytes, suffix: str) -> AsyncIterator[Path]:
    """A private temporary file holding `data` (PDF workers read files, not pickled bytes)."""
    path = await asyncio.to_thread(_write_temporary, data, suffix)
    try:
        yield path
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


def _write_temporary(data: bytes, suffix: str) -> Path:
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as fh:
        fh.write(data)
    return Path(fh.name)
