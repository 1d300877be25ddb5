"""Text messages become turns. Private chats: every message; groups: when addressed."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import Message

from bot.characters.service import CharacterService
from bot.chat.inputs import UserInput
from bot.chat.ordering import PasteMerger
from bot.chat.service import ChatService
from bot.handlers.common import is_blank, text_for_bot, without_retired_character
from bot.handlers.voice import with_replied_recording
from bot.i18n import Translator
from bot.middlewares.dedupe import UpdateReceipt
from bot.storage.dto import Chat
from bot.telegram.views import AnswerViewFactory
from bot.voice.service import VoiceService

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
    characters: CharacterService,
    update_receipt: UpdateReceipt,
    voice: VoiceService,
) -> None:
    if message.from_user is None or message.text is None:
        return
    text = await text_for_bot(message, bot, chat_record)
    if text is None:
        return  # not for the bot: nothing is stored
    if is_blank(text):
        await message.answer(t("message-unreadable"))
        return
    if message.reply_to_message is not None:  # a reply to a recording: its transcript joins
        joined = await with_replied_recording(message, text, bot, voice, t)
        if joined is None:
            return
        text = joined
    chat_record = await without_retired_character(message, chat_record, characters, t)
    turn = UserInput(
        chat_id=message.chat.id,
        user_id=message.from_user.id,
        text=text,
        message_id=message.message_id,
        updates=(update_receipt.mark,),
    )

    async def run(merged: UserInput) -> None:
        views = answer_views.for_chat(
            merged.chat_id, private=chat_record.is_private, reply_to=merged.message_id, t=t
        )
        await chat_service.reply(chat_record, merged, views, t)

    if merger.looks_split(turn.text):
        merger.defer(turn, run)
        update_receipt.deferred = True  # recorded with the merged turn
        return
    await run(turn)
    update_receipt.recorded = True  # stored with the user's message, in one transaction


@router.message(F.chat.type == "private")
async def unsupported(message: Message, t: Translator) -> None:
    await message.answer(t("unsupported-message"))
