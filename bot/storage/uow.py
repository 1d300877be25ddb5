"""Unit of work: one transaction's repositories, bound to a (synchronous) session.

Work is a plain function of a `UnitOfWork`, run whole by `bot.storage.database.Database`:
`await db.write(work)` commits what it did (or nothing, if it raised), `await db.read(work)`
only reads. A unit of work never waits for the network or the event loop: it runs in one go,
which is what keeps transactions short whoever else is busy.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.storage.repositories import (
    BlobRepository,
    BroadcastRepository,
    CharacterRevisionRepository,
    ChatRepository,
    ConversationRepository,
    DocumentRepository,
    EntitlementRepository,
    FeedbackRepository,
    LedgerRepository,
    MessageRepository,
    ModerationRepository,
    QuotaRepository,
    RouteDecisionRepository,
    StatsRepository,
    TurnRepository,
    UpdateRepository,
    UserRepository,
)


class UnitOfWork:
    """The repositories of one transaction. Repositories never commit; the database does."""

    __slots__ = (
        "blobs",
        "broadcasts",
        "changed",
        "chats",
        "conversations",
        "decisions",
        "documents",
        "entitlements",
        "feedback",
        "ledger",
        "messages",
        "moderation",
        "quota",
        "revisions",
        "session",
        "stats",
        "turns",
        "updates",
        "users",
    )

    def __init__(self, session: Session) -> None:
        self.session = session
        # ("chat" | "user", id) of the records this transaction changed (see RecordCache).
        self.changed: set[tuple[str, int]] = set()
        self.users = UserRepository(session, self.changed)
        self.chats = ChatRepository(session, self.changed)
        self.conversations = ConversationRepository(session)
        self.messages = MessageRepository(session)
        self.feedback = FeedbackRepository(session)
        self.updates = UpdateRepository(session)
        self.turns = TurnRepository(session)
        self.decisions = RouteDecisionRepository(session)
        self.revisions = CharacterRevisionRepository(session)
        self.blobs = BlobRepository(session)
        self.documents = DocumentRepository(session)
        self.entitlements = EntitlementRepository(session)
        self.ledger = LedgerRepository(session)
        self.quota = QuotaRepository(session)
        self.moderation = ModerationRepository(session)
        self.stats = StatsRepository(session)
        self.broadcasts = BroadcastRepository(session)
