"""Keys that handlers receive by name (aiogram dependency injection), declared in one place.

`Services` are put into the dispatcher's workflow data once at start; `UpdateContext` is set
per update by the middlewares.
"""

from __future__ import annotations

from typing import TypedDict

from bot.broadcasts.service import BroadcastService
from bot.characters.editor import CharacterEditor
from bot.characters.service import CharacterService
from bot.chat.feedback import FeedbackService
from bot.chat.history_export import HistoryExporter
from bot.chat.language import LanguageService
from bot.chat.ordering import PasteMerger
from bot.chat.service import ChatService
from bot.chat.settings import ChatSettingsService
from bot.documents.reading import DocumentReader
from bot.i18n import I18n, Translator
from bot.middlewares.dedupe import UpdateReceipt
from bot.moderation.service import Moderator
from bot.payments.quotas import QuotaService
from bot.payments.service import PaymentService
from bot.routing.service import RoutingService
from bot.stats.service import StatsService
from bot.storage.dto import Chat, User
from bot.telegram.views import AnswerViewFactory
from bot.tools.executor import Toolbox
from bot.voice.service import VoiceService


class Services(TypedDict):
    chat_service: ChatService
    chat_settings: ChatSettingsService
    routing: RoutingService
    characters: CharacterService
    character_editor: CharacterEditor
    admins: frozenset[int]
    languages: LanguageService
    history_export: HistoryExporter
    feedback: FeedbackService
    merger: PasteMerger
    document_reader: DocumentReader
    album_window: float
    answer_views: AnswerViewFactory
    i18n: I18n
    payments: PaymentService
    quotas: QuotaService
    toolbox: Toolbox | None
    voice: VoiceService
    moderator: Moderator | None  # None: the content filter is off
    stats_service: StatsService
    broadcasts: BroadcastService


class UpdateContext(TypedDict):
    user_record: User | None
    chat_record: Chat | None
    locale: str
    t: Translator
    update_receipt: UpdateReceipt
