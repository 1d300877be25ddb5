"""Load what a request carries besides text: recent images and the pinned documents.

Images live in the blob store, once each; history refers to them by hash. Only the images
of the last few user messages are sent again (older ones cost tokens for little); each is
fitted to what the receiving model's provider accepts. Documents stay pinned to their
conversation: a PDF goes as itself to models that read PDFs (within their limits), a scan as
its rendered pages to models that see, and otherwise its text, cut to the model's budget.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from PIL import Image

from bot.chat.context import CHARS_PER_TOKEN, IMAGE_TOKENS, Attachments, estimate_tokens
from bot.documents.images import PreparedImage, fit_image
from bot.llm.spec import ModelSpec
from bot.llm.types import DocumentPart, ImagePart, Part, TextPart
from bot.storage.blobs import BlobStore
from bot.storage.dto import PinnedDocument, Role, StoredMessage

logger = logging.getLogger(__name__)

PDF_PAGE_TOKENS = 2000  # a PDF page sent natively: its text plus an image of the page
SCANNED_WITHOUT_VISION = "[A scanned document without a text layer; this model cannot see it.]"


@dataclass(frozen=True, slots=True)
class DocumentNote:
    """Tell the user how much of a document the model read."""

    file_name: str
    percent: int  # of the extracted text
    pages_read: int | None
    pages_total: int | None


@dataclass(frozen=True, slots=True)
class LoadedAttachments:
    attachments: Attachments
    notes: tuple[DocumentNote, ...]  # for the documents that came with the current message


class AttachmentLoader:
    def __init__(self, blobs: BlobStore, *, image_history_turns: int, context_share: float):
        self._blobs = blobs
        self._image_turns = image_history_turns
        self._context_share = context_share

    async def load(
        self,
        spec: ModelSpec,
        history: Sequence[StoredMessage],
        documents: Sequence[PinnedDocument],
        question_id: int | None,
    ) -> LoadedAttachments:
        images = await self._images(spec, history) if spec.capabilities.vision else {}
        caps = spec.capabilities
        budget = int((caps.context_tokens - caps.max_output_tokens) * self._context_share)
        # The documents of the current question are served first: a new, short document must
        # not be crowded out by a long one sent earlier. Their order in the request stays.
        first = sorted(documents, key=lambda d: d.message_id != question_id or question_id is None)
        loaded: dict[int, tuple[list[Part], DocumentNote | None]] = {}
        used = 0
        for document in first:
            parts, cost, note = await self._document(spec, document, budget - used)
            loaded[document.id] = parts, note
            used += cost
        pinned = tuple(part for d in documents for part in loaded[d.id][0])
        notes = tuple(
            note
            for d in documents
            if d.message_id == question_id and (note := loaded[d.id][1]) is not None
        )
        return LoadedAttachments(Attachments(images, pinned, used), notes)

    @property
    def image_turns(self) -> int:
        return self._image_turns

    def shows_pictures(
        self, history: Sequence[StoredMessage], documents: Sequence[PinnedDocument]
    ) -> bool:
        """Whether a model answering now would be sent pictures (so it needs vision)."""
        return any(d.scanned for d in documents) or any(
            m.has_images for m in self._recent_questions(history)
        )

    def _recent_questions(self, history: Sequence[StoredMessage]) -> list[StoredMessage]:
        return [m for m in history if m.role is Role.USER][-self._image_turns :]

    async def _images(
        self, spec: ModelSpec, history: Sequence[StoredMessage]
    ) -> dict[int, tuple[ImagePart, ...]]:
        recent = self._recent_questions(history)
        result: dict[int, tuple[ImagePart, ...]] = {}
        for message in recent:
            refs = [p["sha256"] for p in message.content if p.get("type") == "image"]
            parts = [await self._image(spec, str(ref)) for ref in refs if ref]
            shown = tuple(p for p in parts if p is not None)
            if shown:
                result[message.id] = shown
        return result

    async def _image(self, spec: ModelSpec, sha256: str) -> ImagePart | None:
        """A stored image, fitted to the provider's limit; None if it is gone."""
        data = await self._blob(sha256)
        if data is None:
            return None
        return await asyncio.to_thread(_fitted, data, spec.limits.image_max_side)

    async def _document(
        self, spec: ModelSpec, document: PinnedDocument, budget: int
    ) -> tuple[list[Part], int, DocumentNote | None]:
        caps, limits = spec.capabilities, spec.limits
        pages = document.pages_total or 0
        if (
            document.kind == "pdf"
            and caps.pdf_native
            and 0 < pages <= limits.pdf_max_pages
            and pages * PDF_PAGE_TOKENS <= budget
        ):
            data = await self._blob(document.blob_sha256)
            if data is not None and len(data) <= limits.pdf_max_bytes:
                return [DocumentPart(data, document.file_name)], pages * PDF_PAGE_TOKENS, None
        if document.scanned:
            return await self._scanned(spec, document, budget)
        return _text_parts(document, budget)

    async def _scanned(
        self, spec: ModelSpec, document: PinnedDocument, budget: int
    ) -> tuple[list[Part], int, DocumentNote | None]:
        header = TextPart(_header(document) + "\n")
        if not spec.capabilities.vision:
            return [header, TextPart(SCANNED_WITHOUT_VISION + "\n</document>\n\n")], 60, None
        fits = max(0, (budget - 60) // IMAGE_TOKENS)  # pages beyond the budget stay out
        parts: list[Part] = [header]
        for sha in document.page_images[:fits]:
            image = await self._image(spec, sha)
            if image is not None:
                parts.append(image)
        parts.append(TextPart("</document>\n\n"))
        shown = len(parts) - 2
        note = _pages_note(replace(document, pages_read=shown), 100)
        return parts, IMAGE_TOKENS * shown + 60, note

    async def _blob(self, sha256: str) -> bytes | None:
        try:
            return await self._blobs.get(sha256)
        except (FileNotFoundError, ValueError):
            logger.warning("blob %s is missing from the blob store", sha256)
            return None


def _header(document: PinnedDocument) -> str:
    pages = f' pages="{document.pages_total}"' if document.pages_total else ""
    name = html.escape(" ".join(document.file_name.split()), quote=True)  # no tag injection
    return f'<document name="{name}"{pages}>'


def _text_parts(
    document: PinnedDocument, budget: int
) -> tuple[list[Part], int, DocumentNote | None]:
    header, footer = _header(document) + "\n", "\n</document>\n\n"
    room = max(0, budget - estimate_tokens(header + footer)) * CHARS_PER_TOKEN
    text = document.text
    percent = 100
    if len(text) > room:
        percent = int(100 * room / len(text)) if text else 100
        text = text[:room]
    body = header + text + footer
    return [TextPart(body)], estimate_tokens(body), _pages_note(document, percent)


def _pages_note(document: PinnedDocument, percent: int) -> DocumentNote | None:
    capped = (document.pages_read or 0) < (document.pages_total or 0)
    if percent >= 100 and not capped:
        return None
    return DocumentNote(document.file_name, percent, document.pages_read, document.pages_total)


def _fitted(data: bytes, max_side: int) -> ImagePart | None:
    """Blocking: the image's type and size from its header, then downscaled if needed."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            media_type = Image.MIME.get(opened.format or "", "image/jpeg")
    except (OSError, SyntaxError, ValueError) as exc:  # a damaged blob: leave it out
        logger.warning("stored image unreadable: %s", exc)
        return None
    fitted = fit_image(PreparedImage(data, media_type, width, height), max_side)
    return ImagePart(fitted.data, fitted.media_type)
