"""ORM models. Only the storage package sees them; the rest of the bot gets DTOs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(128), default="")
    language_code: Mapped[str | None] = mapped_column(String(16))
    locale: Mapped[str | None] = mapped_column(String(8))
    # Broadcasts: the user opted out (/unsubscribe), or blocked the bot (a send answered 403).
    unsubscribed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ChatRow(Base):
    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(256))
    model: Mapped[str | None] = mapped_column(String(64))
    system_prompt: Mapped[str | None] = mapped_column(Text)
    temperature: Mapped[float | None] = mapped_column(Float)
    top_p: Mapped[float | None] = mapped_column(Float)
    max_output_tokens: Mapped[int | None] = mapped_column(Integer)
    show_footer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    short_name: Mapped[str | None] = mapped_column(String(32))
    routing_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    tools_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    character_id: Mapped[str | None] = mapped_column(String(40))
    # No foreign key: chats and conversations would reference each other in a cycle.
    current_conversation_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


STATS_COLUMNS = (
    "role",
    "created_at",
    "model",
    "status",
    "error",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "pictures",
    "character_id",
    "user_id",
)


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # /stats: one role's window by (role, created_at), with every column its queries
        # read, so that they scan the index and never the rows (whose content makes them
        # large). See bot/storage/repositories/stats.py.
        Index("ix_messages_stats", *STATS_COLUMNS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    model: Mapped[str | None] = mapped_column(String(64))
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    telegram_message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="complete")
    error: Mapped[str | None] = mapped_column(String(64))
    # Answers: how long the answer took (ms, from the start of generation to its end), the
    # character it was written as. Both: pictures attached (questions) or generated (answers).
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    character_id: Mapped[str | None] = mapped_column(String(40))
    pictures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FeedbackRow(Base):
    """One user's vote on one answer; voting again replaces the value."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("message_id", "user_id"),
        CheckConstraint("value IN (-1, 1)", name="value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UpdateRow(Base):
    """A Telegram update: `received` (an inbox row with its raw JSON, so that a restarted bot
    can handle it) until its effects are committed, then `handled` (deduplication)."""

    __tablename__ = "updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Tells a redelivery of this update from another update that reuses its id (a new token,
    # a reset Telegram server): see bot.telegram.updates.fingerprint.
    fingerprint: Mapped[str | None] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(10), default="handled")
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class TurnRow(Base):
    """An answer on its way to the user, kept so that any process can finish it.

    `streaming` from the moment the question is stored; `generated` once the final text and
    its split into messages (`parts`, the outbox) are committed; `delivered` when every part
    has its message ids in `delivered`; `abandoned` when it could not be finished.
    """

    __tablename__ = "turns"
    __table_args__ = (Index("ix_turns_chat_id_answer_id", "chat_id", "answer_id"),)

    answer_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    reply_to: Mapped[int | None] = mapped_column(BigInteger)  # the question's Telegram message
    private: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(12), default="streaming", index=True)
    # Messages shown while answering (a group's placeholders, parts sent while streaming):
    # a resumed answer replaces them.
    visible: Mapped[list[int]] = mapped_column(JSON, default=list)
    parts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    delivered: Mapped[list[list[int] | None]] = mapped_column(JSON, default=list)
    reservation: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the quota's usage row
    resumes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RouteDecisionRow(Base):
    """How the router classified one user message: for `/route`, exports and recalibration."""

    __tablename__ = "route_decisions"
    __table_args__ = (Index("ix_route_decisions_created_at_route", "created_at", "route"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    route: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    model: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModerationEventRow(Base):
    """A text the content filter blocked: where, why and on what route and model, never the
    text itself."""

    __tablename__ = "moderation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    answer_id: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(16))  # "question" or "answer"
    topic: Mapped[str | None] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16))  # local, judge, unsure, failure
    confidence: Mapped[float] = mapped_column(Float)  # the local stage's P(on a topic)
    route: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(64))
    judge_failure: Mapped[str | None] = mapped_column(String(16))


class CharacterRevisionRow(Base):
    """One change of a character file made from Telegram, with the text it replaced."""

    __tablename__ = "character_revisions"
    __table_args__ = (UniqueConstraint("character_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    character_id: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # new, edit, revert
    author_id: Mapped[int] = mapped_column(BigInteger)
    previous_text: Mapped[str | None] = mapped_column(Text)  # None: the file did not exist
    new_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BlobRow(Base):
    """An image or file kept once on disk (named by its SHA-256), whoever sent it how often."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DocumentRow(Base):
    """A document pinned to a conversation: what was read of it, for every later question."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # pdf, text, docx
    file_name: Mapped[str] = mapped_column(String(256))
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    text: Mapped[str] = mapped_column(Text)
    pages_total: Mapped[int | None] = mapped_column(Integer)
    pages_read: Mapped[int | None] = mapped_column(Integer)
    page_images: Mapped[list[str]] = mapped_column(JSON, default=list)  # scanned pages' blobs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EntitlementRow(Base):
    """A user's time on one paid plan: passes, subscription periods and grants extend it."""

    __tablename__ = "entitlements"
    __table_args__ = (UniqueConstraint("user_id", "plan_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    plan_id: Mapped[str] = mapped_column(String(24))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Stars subscriptions: the first charge (Telegram's id of the subscription) and whether it
    # renews (active), was canceled, or its last renewal failed.
    subscription_charge_id: Mapped[str | None] = mapped_column(String(128))
    renewal: Mapped[str | None] = mapped_column(String(16))
    # Telegram's subscription_expiration_date of the last subscription payment: a renewal
    # adds the time from there, on top of any days granted meanwhile.
    paid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class LedgerRow(Base):
    """Every credit and revocation: payments, renewals, grants and refunds. Never updated."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    plan_id: Mapped[str] = mapped_column(String(24))
    kind: Mapped[str] = mapped_column(String(16))  # purchase, renewal, grant, refund
    # Telegram's telegram_payment_charge_id: one credit per charge, whatever is redelivered.
    charge_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    refund_of: Mapped[str | None] = mapped_column(String(128), unique=True)
    # In the currency's smallest units (Stars; cents, kopecks); negative for refunds.
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="XTR", server_default="XTR")
    # Payments in money: the provider's id of the charge (what its dashboard shows).
    provider_charge_id: Mapped[str | None] = mapped_column(String(128), index=True)
    seconds: Mapped[int] = mapped_column(Integer)  # plan time credited; negative when revoked
    payload: Mapped[str | None] = mapped_column(String(128))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # the admin of a grant or refund
    note: Mapped[str | None] = mapped_column(String(256))  # an operator's refund note
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class QuotaUsageRow(Base):
    """One answer (or costly action) counted against a user's limit: reserved, then settled."""

    __tablename__ = "quota_usage"
    __table_args__ = (Index("ix_quota_usage_user_bucket_at", "user_id", "bucket", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    bucket: Mapped[str] = mapped_column(String(64))  # model id, group:<name> or action:<name>
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    settled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class BroadcastRow(Base):
    """A message an operator sends to every user who has not opted out."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(BigInteger)
    # What is sent: text (Markdown) or a photo with a caption, and URL buttons.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default="sending", index=True)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BroadcastRecipientRow(Base):
    """One user of a broadcast: pending until sent (or blocked, or failed for good)."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        Index("ix_broadcast_recipients_state", "broadcast_id", "state"),
        Index("ix_broadcast_recipients_user_id_message_id", "user_id", "message_id"),
    )

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(128))
