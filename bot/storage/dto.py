"""Data transfer objects: what repositories return. Plain, frozen, free of the ORM."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    SUPERSEDED = "superseded"  # replaced by a regenerated answer (/retry); kept, never sent again


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str | None
    first_name: str
    language_code: str | None
    locale: str | None


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    type: str
    title: str | None
    model: str | None
    system_prompt: str | None
    temperature: float | None
    top_p: float | None
    max_output_tokens: int | None
    current_conversation_id: int | None
    show_footer: bool = False
    short_name: str | None = None

    @property
    def is_private(self) -> bool:
        return self.type == "private"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    conversation_id: int
    role: Role
    content: list[dict[str, Any]]
    status: MessageStatus
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    user_id: int | None = None
    telegram_message_ids: list[int] = field(default_factory=list)
    created_at: datetime | None = None

    @property
    def text(self) -> str:
        return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
