"""/privacy: what the bot stores, where, and how to have it deleted."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.i18n import Translator

router = Router(name=__name__)


@router.message(Command("privacy"))
async def privacy(message: Message, t: Translator) -> None:
    user_id = message.from_user.id if message.from_user else message.chat.id
    await message.answer(t("privacy-text", user_id=str(user_id)))
