"""What a turn writes about its attachments, and what it reads back to answer."""

from __future__ import annotations

from dataclasses import dataclass

from bot.chat.attachments import DocumentNote
from bot.chat.inputs import UserInput
from bot.chat.ports import Translate
from bot.storage.dto import Blob, PinnedDocument, StoredMessage
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class TurnContext:
    """The history to answer from (ending with the question), the pinned documents, the
    answer's row, and the question's id (None for /retry: its documents were noted before)."""

    history: list[StoredMessage]
    documents: list[PinnedDocument]
    answer_id: int
    question_id: int | None


async def record_attachments(
    uow: UnitOfWork, conversation_id: int, message_id: int, turn: UserInput
) -> None:
    """Rows for the turn's images and documents (their bytes are in the blob store)."""
    for image in turn.all_images:
        blob = Blob(image.sha256, image.media_type, len(image.data), image.width, image.height)
        await uow.blobs.add(blob)
    for document in turn.documents:
        await uow.blobs.add(Blob(document.sha256, document.media_type, len(document.data)))
        await uow.documents.add(
            conversation_id,
            message_id,
            PinnedDocument(
                id=0,
                kind=document.kind,
                file_name=document.file_name,
                blob_sha256=document.sha256,
                text=document.text,
                pages_total=document.pages_total,
                pages_read=document.pages_read,
                page_images=tuple(p.sha256 for p in document.page_images),
            ),
        )


def document_note(note: DocumentNote, t: Translate) -> str:
    """How much of a document the model read, for the end of the answer."""
    if note.percent < 100:
        return t("document-truncated", name=note.file_name, percent=note.percent)
    return t(
        "document-pages-capped",
        name=note.file_name,
        read=note.pages_read or 0,
        total=note.pages_total or 0,
    )
