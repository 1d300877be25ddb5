"""Data transfer objects: what repositories return. Plain, frozen, free of the ORM."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
class UpdateMark:
    """A Telegram update as the deduplication log records it."""

    update_id: int
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    """An update received (its raw JSON kept) whose effects were never committed."""

    update_id: int
    raw: dict[str, Any]
    received_at: datetime


class TurnState(StrEnum):
    STREAMING = "streaming"  # the question is stored; the answer is being generated
    GENERATED = "generated"  # the final parts are stored; delivering them
    DELIVERED = "delivered"
    ABANDONED = "abandoned"  # could not be finished; the user was told (or could not be)


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """An answer on its way: what a restarted bot needs to finish it (see models.TurnRow)."""

    answer_id: int
    chat_id: int
    question_id: int | None
    user_id: int | None
    reply_to: int | None
    private: bool
    locale: str
    state: TurnState
    visible: tuple[int, ...] = ()
    parts: tuple[dict[str, Any], ...] | None = None
    delivered: tuple[tuple[int, ...] | None, ...] = ()
    reservation: dict[str, Any] | None = None
    resumes: int = 0
    created_at: datetime | None = None


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
    routing_enabled: bool = True
    character_id: str | None = None
    tools_enabled: bool = True

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    def with_model(self, model: str | None) -> Chat:
        return replace(self, model=model)


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

    @property
    def has_images(self) -> bool:
        return any(p.get("type") == "image" for p in self.content)


@dataclass(frozen=True, slots=True)
class RouteDecisionRecord:
    message_id: int
    chat_id: int
    route: str
    stage: str
    confidence: float
    latency_ms: float
    model: str | None


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    """A user message with the route a decision gave it (for retraining exports)."""

    text: str
    route: str
    stage: str
    confidence: float
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class CharacterRevision:
    character_id: str
    revision: int
    action: str
    author_id: int
    previous_text: str | None
    new_text: str
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class Blob:
    """An image or file kept once on disk under its SHA-256."""

    sha256: str
    media_type: str
    size: int
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class PinnedDocument:
    """A document of a conversation: its text (as read) and, for PDFs, the file itself."""

    id: int
    kind: str  # pdf, text, docx
    file_name: str
    blob_sha256: str
    text: str
    pages_total: int | None = None
    pages_read: int | None = None
    page_images: tuple[str, ...] = ()  # a scanned PDF's rendered pages (blob hashes)
    message_id: int | None = None

    @property
    def scanned(self) -> bool:
        return bool(self.page_images)


@dataclass(frozen=True, slots=True)
class Entitlement:
    """Time on a paid plan; `renewal` is set for Stars subscriptions (active/canceled/failed)."""

    user_id: int
    plan_id: str
    expires_at: datetime
    subscription_charge_id: str | None = None
    renewal: str | None = None
    paid_until: datetime | None = None  # Telegram's expiration date of the subscription


class LedgerKind(StrEnum):
    PURCHASE = "purchase"
    RENEWAL = "renewal"
    GRANT = "grant"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    user_id: int
    plan_id: str
    kind: LedgerKind
    amount: int  # in the currency's smallest units; negative for refunds
    seconds: int
    currency: str = "XTR"
    charge_id: str | None = None
    refund_of: str | None = None
    payload: str | None = None
    actor_id: int | None = None
    provider_charge_id: str | None = None
    note: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RevenueLine:
    """Ledger sums of one plan in one currency since a moment: paid (purchases, renewals)
    and refunded, in the currency's smallest units."""

    plan_id: str
    currency: str
    amount: int
    payments: int
    refunded: int
    refunds: int


@dataclass(frozen=True, slots=True)
class UsageEntry:
    at: datetime
    tokens: int


@dataclass(frozen=True, slots=True)
class ModerationEvent:
    """A block by the content filter (never the blocked text)."""

    chat_id: int
    user_id: int | None
    answer_id: int | None
    subject: str
    topic: str | None
    stage: str
    confidence: float
    route: str | None
    model: str | None
    judge_failure: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UserCounts:
    """All users; new and active (wrote to the bot) in the last day, week and month."""

    total: int
    new: tuple[int, int, int]
    active: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class ModelUsage:
    model: str
    answers: int
    input_tokens: int
    output_tokens: int
    pictures: int


@dataclass(frozen=True, slots=True)
class LatencyBucket:
    model: str
    floor_ms: int  # answers that took floor_ms .. floor_ms + the bucket's width
    count: int


@dataclass(frozen=True, slots=True)
class FeedbackVotes:
    """👍 and 👎 on the answers of one model written as one character (None: none)."""

    model: str
    character_id: str | None
    up: int
    down: int


@dataclass(frozen=True, slots=True)
class FeedbackCount:
    key: str | None  # a model or a character id (None: no character)
    up: int
    down: int


@dataclass(frozen=True, slots=True)
class DailyActivity:
    day: str  # YYYY-MM-DD, UTC
    questions: int
    users: int
    answers: int
    tokens: int


class BroadcastState(StrEnum):
    DRAFT = "draft"  # shown to its operator as a preview, not confirmed yet
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class RecipientState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot (403): marked inactive
    FAILED = "failed"  # refused, or failing past the retry budget


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    author_id: int
    content: dict[str, Any]
    state: BroadcastState
    progress_message_id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    locale: str | None
    language_code: str | None
