"""/reset and /new: start a new conversation."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.chat.service import ChatService
from bot.i18n import Translator
from bot.storage.dto import Chat

router = Router(name=__name__)


@router.message(Command("reset", "new"))
async def reset(
    message: Message, t: Translator, chat_record: Chat, chat_service: ChatService
) -> None:
    await chat_service.start_new_conversation(chat_record.id)
    await message.answer(t("reset-done"))
