"""Blobs (images and files, once each by hash) and the documents pinned to conversations."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.storage.dto import Blob, PinnedDocument
from bot.storage.models import BlobRow, DocumentRow


class BlobRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, blob: Blob) -> None:
        """Record the blob unless it is known already (the same picture sent twice)."""
        values = {
            "sha256": blob.sha256,
            "media_type": blob.media_type,
            "size": blob.size,
            "width": blob.width,
            "height": blob.height,
        }
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._session.execute(
            insert(BlobRow).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
        )

    def get(self, sha256: str) -> Blob | None:
        row = self._session.get(BlobRow, sha256)
        if row is None:
            return None
        return Blob(row.sha256, row.media_type, row.size, row.width, row.height)


class DocumentRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, conversation_id: int, message_id: int, document: PinnedDocument) -> int:
        row = DocumentRow(
            conversation_id=conversation_id,
            message_id=message_id,
            kind=document.kind,
            file_name=document.file_name,
            blob_sha256=document.blob_sha256,
            text=document.text,
            pages_total=document.pages_total,
            pages_read=document.pages_read,
            page_images=list(document.page_images),
        )
        self._session.add(row)
        self._session.flush()
        return row.id

    def pinned(self, conversation_id: int) -> list[PinnedDocument]:
        """The conversation's documents, oldest first."""
        rows = self._session.connection().execute(_PINNED, {"conversation": conversation_id})
        return [
            PinnedDocument(
                id=row.id,
                kind=row.kind,
                file_name=row.file_name,
                blob_sha256=row.blob_sha256,
                text=row.text,
                pages_total=row.pages_total,
                pages_read=row.pages_read,
                page_images=tuple(row.page_images or ()),
                message_id=row.message_id,
            )
            for row in rows.all()
        ]


_PINNED = (
    select(*DocumentRow.__table__.columns)
    .where(DocumentRow.conversation_id == bindparam("conversation"))
    .order_by(DocumentRow.id)
)
