"""/history: the current conversation as a Markdown file."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

from bot.chat.history_export import HistoryExporter
from bot.i18n import Translator
from bot.storage.dto import Chat

router = Router(name=__name__)


@router.message(Command("history"))
async def history(
    message: Message, t: Translator, chat_record: Chat, history_export: HistoryExporter
) -> None:
    exported = await history_export.export(chat_record, t)
    if exported is None:
        await message.answer(t("history-empty"))
        return
    await message.answer_document(
        BufferedInputFile(exported.content, filename=exported.file_name),
        caption=t("history-caption", count=exported.turns),
    )
