"""Keys that handlers receive by name (aiogram dependency injection), declared in one place.

`Services` are put into the dispatcher's workflow data once at start; `UpdateContext` is set
per update by the middlewares.
"""

from __future__ import annotations

from typing import TypedDict

from bot.chat.ordering import PasteMerger
from bot.chat.service import ChatService
from bot.chat.settings import ChatSettingsService
from bot.i18n import I18n, Translator
from bot.storage.dto import Chat, User
from bot.telegram.answer_view import AnswerViewFactory


class Services(TypedDict):
    chat_service: ChatService
    chat_settings: ChatSettingsService
    merger: PasteMerger
    answer_views: AnswerViewFactory
    i18n: I18n


class UpdateContext(TypedDict):
    user_record: User | None
    chat_record: Chat | None
    locale: str
    t: Translator
