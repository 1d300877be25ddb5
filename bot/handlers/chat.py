"""Text messages become turns. Private chats: every message; groups: when addressed."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import Message, Update

from bot.chat.inputs import UserInput
from bot.chat.ordering import PasteMerger
from bot.chat.service import ChatService
from bot.i18n import Translator
from bot.storage.dto import Chat
from bot.telegram.addressing import is_addressed_to_bot
from bot.telegram.answer_view import AnswerViewFactory

router = Router(name=__name__)


@router.message(F.text & ~F.text.startswith("/"))
async def on_text(
    message: Message,
    bot: Bot,
    t: Translator,
    chat_record: Chat,
    chat_service: ChatService,
    merger: PasteMerger,
    answer_views: AnswerViewFactory,
    event_update: Update,
) -> None:
    if message.from_user is None or message.text is None:
        return
    if not chat_record.is_private and not is_addressed_to_bot(message, await bot.me()):
        return
    turn = UserInput(
        chat_id=message.chat.id,
        user_id=message.from_user.id,
        text=message.text,
        message_id=message.message_id,
        update_ids=(event_update.update_id,),
    )

    async def run(merged: UserInput) -> None:
        view = answer_views(merged.chat_id, reply_to=merged.message_id)
        await chat_service.reply(chat_record, merged, view, t)

    if merger.looks_split(turn.text):
        merger.defer(turn, run)
        return
    await run(turn)


@router.message(F.chat.type == "private")
async def unsupported(message: Message, t: Translator) -> None:
    await message.answer(t("unsupported-message"))
