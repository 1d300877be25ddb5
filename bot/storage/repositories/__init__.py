"""Repositories: queries and changes inside a unit of work. They never commit."""

from bot.storage.repositories.accounts import ChatRepository, UserRepository
from bot.storage.repositories.broadcasts import BroadcastRepository
from bot.storage.repositories.characters import CharacterRevisionRepository
from bot.storage.repositories.conversations import (
    ConversationRepository,
    FeedbackRepository,
    MessageRepository,
)
from bot.storage.repositories.documents import BlobRepository, DocumentRepository
from bot.storage.repositories.moderation import ModerationRepository
from bot.storage.repositories.payments import (
    EntitlementRepository,
    LedgerRepository,
    QuotaRepository,
)
from bot.storage.repositories.routing import RouteDecisionRepository
from bot.storage.repositories.stats import StatsRepository
from bot.storage.repositories.turns import TurnRepository
from bot.storage.repositories.updates import UpdateRepository

__all__ = [
    "BlobRepository",
    "BroadcastRepository",
    "CharacterRevisionRepository",
    "ChatRepository",
    "ConversationRepository",
    "DocumentRepository",
    "EntitlementRepository",
    "FeedbackRepository",
    "LedgerRepository",
    "MessageRepository",
    "ModerationRepository",
    "QuotaRepository",
    "RouteDecisionRepository",
    "StatsRepository",
    "TurnRepository",
    "UpdateRepository",
    "UserRepository",
]
