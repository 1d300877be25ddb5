"""What a turn is asked to answer, independent of Telegram."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.documents.images import PreparedImage
from bot.documents.reading import ReadDocument
from bot.storage.dto import UpdateMark


@dataclass(frozen=True, slots=True)
class UserInput:
    chat_id: int
    user_id: int
    text: str
    message_id: int | None = None
    updates: tuple[UpdateMark, ...] = field(default=())  # recorded as handled with the turn
    images: tuple[PreparedImage, ...] = field(default=())
    documents: tuple[ReadDocument, ...] = field(default=())
    # An album (Telegram media group): its parts arrive as separate messages and are
    # collected into one turn; `attachment_refs` are the files still to be downloaded.
    album_id: str | None = None
    attachment_refs: tuple[str, ...] = field(default=())

    @property
    def update_ids(self) -> tuple[int, ...]:
        return tuple(mark.update_id for mark in self.updates)

    @property
    def needs_vision(self) -> bool:
        return bool(self.images or self.attachment_refs) or any(d.scanned for d in self.documents)

    @property
    def all_images(self) -> tuple[PreparedImage, ...]:
        """Every image the turn stores: its photos and the rendered pages of scans."""
        return (*self.images, *(p for d in self.documents for p in d.page_images))

    def image_notes(self) -> list[dict[str, Any]]:
        """What history keeps of the images: a reference to the stored blob, never the bytes."""
        return [
            {
                "type": "image",
                "sha256": image.sha256,
                "media_type": image.media_type,
                "width": image.width,
                "height": image.height,
            }
            for image in self.images
        ]

    def merged_with(self, other: UserInput) -> UserInput:
        """A paste that Telegram split into several messages becomes one input again; so do
        the photos of an album (the caption is usually on one of them)."""
        text = "\n".join(t for t in (self.text, other.text) if t)
        return replace(
            self,
            text=text,
            updates=self.updates + other.updates,
            attachment_refs=self.attachment_refs + other.attachment_refs,
        )

    def continues(self, other: UserInput) -> bool:
        """Whether `other` (a later message) is a further part of this input."""
        if other.user_id != self.user_id:
            return False
        if self.album_id is not None:
            return other.album_id == self.album_id
        return other.album_id is None and not other.attachment_refs
