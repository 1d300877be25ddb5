"""/start and /help."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.chat.settings import ChatSettingsService
from bot.i18n import Translator
from bot.storage.dto import Chat
from bot.voice.service import VoiceService

router = Router(name=__name__)


@router.message(CommandStart())
async def start(
    message: Message, t: Translator, chat_record: Chat, chat_settings: ChatSettingsService
) -> None:
    name = message.from_user.first_name if message.from_user else ""
    model = chat_settings.model_label(chat_record, t)
    await message.answer(t("start-greeting", name=name, model=model))


@router.message(Command("help"))
async def help_(message: Message, t: Translator, voice: VoiceService) -> None:
    text = t("help-text")
    if voice.available:  # said only where speech recognition is set up
        text = f"{text}\n{t('help-voice')}"
    await message.answer(text)
