"""What a turn is asked to answer, independent of Telegram."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from bot.llm.types import ImagePart


@dataclass(frozen=True, slots=True)
class UserInput:
    chat_id: int
    user_id: int
    text: str
    message_id: int | None = None
    update_ids: tuple[int, ...] = field(default=())
    images: tuple[ImagePart, ...] = field(default=())

    def image_notes(self) -> list[dict[str, Any]]:
        """What history keeps of the images: a reference, never the bytes."""
        return [
            {
                "type": "image",
                "media_type": image.media_type,
                "bytes": len(image.data),
                "sha256": hashlib.sha256(image.data).hexdigest(),
            }
            for image in self.images
        ]

    def merged_with(self, other: UserInput) -> UserInput:
        """A paste that Telegram split into several messages becomes one input again."""
        return replace(
            self, text=f"{self.text}\n{other.text}", update_ids=self.update_ids + other.update_ids
        )
