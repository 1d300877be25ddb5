"""Stop and regenerate: /stop, the Stop button, the draft's stop button, /retry.

Stop controls reach the chat while it is busy answering: the ordering middleware lets them
past the chat's lock (see `bot.middlewares.ordering.is_control_update`).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, MessageGenerationStopped

from bot.chat.service import ChatService, NeedsVisionError
from bot.chat.settings import ChatSettingsService
from bot.handlers.files import send_vision_refusal
from bot.i18n import Translator
from bot.storage.dto import Chat
from bot.telegram.views import AnswerViewFactory
from bot.telegram.views.base import StopGeneration

router = Router(name=__name__)


@router.message(Command("stop"))
async def stop_command(message: Message, t: Translator, chat_service: ChatService) -> None:
    stopped = await chat_service.stop(message.chat.id)
    if not stopped:
        await message.answer(t("stop-nothing"))


@router.callback_query(StopGeneration.filter())
async def stop_button(
    query: CallbackQuery, callback_data: StopGeneration, t: Translator, chat_service: ChatService
) -> None:
    chat_id = query.message.chat.id if query.message else query.from_user.id
    stopped = await chat_service.stop(chat_id, callback_data.generation)
    await query.answer(t("stop-done") if stopped else t("stop-nothing"))


@router.stopped_message_generation()
async def draft_stopped(event: MessageGenerationStopped, chat_service: ChatService) -> None:
    await chat_service.stop(event.chat.id, event.draft_id)


@router.message(Command("retry"))
async def retry(
    message: Message,
    t: Translator,
    chat_record: Chat,
    chat_service: ChatService,
    chat_settings: ChatSettingsService,
    answer_views: AnswerViewFactory,
) -> None:
    views = answer_views.for_chat(
        message.chat.id, private=chat_record.is_private, reply_to=message.message_id, t=t
    )
    try:
        user_id = message.from_user.id if message.from_user else None
        retried = await chat_service.retry(chat_record, views, t, user_id)
    except NeedsVisionError as exc:  # a question about a picture; the model was changed since
        await send_vision_refusal(message, exc, chat_settings, t)
        return
    if not retried:
        await message.answer(t("retry-nothing"))
