"""/setmodel (inline keyboard, per chat) and /getmodel."""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.chat.settings import ChatSettingsService
from bot.handlers.groups import ChatAdmin
from bot.i18n import Translator
from bot.keyboards.models import ModelChoice, models_keyboard
from bot.llm.registry import UnknownModelError
from bot.storage.dto import Chat

router = Router(name=__name__)


@router.message(Command("setmodel"), ChatAdmin())
async def set_model(
    message: Message, t: Translator, chat_record: Chat, chat_settings: ChatSettingsService
) -> None:
    current = chat_settings.current_model(chat_record)
    await message.answer(
        t("model-choose", model=current.display_name),
        reply_markup=models_keyboard(chat_settings.available_models(), current.id),
    )


@router.message(Command("getmodel"))
async def get_model(
    message: Message, t: Translator, chat_record: Chat, chat_settings: ChatSettingsService
) -> None:
    current = chat_settings.current_model(chat_record)
    await message.answer(t("model-current", model=current.display_name))


@router.callback_query(ModelChoice.filter(), ChatAdmin())
async def model_chosen(
    query: CallbackQuery,
    callback_data: ModelChoice,
    t: Translator,
    chat_record: Chat,
    chat_settings: ChatSettingsService,
) -> None:
    try:
        spec = await chat_settings.set_model(chat_record.id, callback_data.id)
    except UnknownModelError:
        await query.answer(t("model-unknown"), show_alert=True)
        return
    await query.answer(t("model-set", model=spec.display_name))
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(
                t("model-set", model=spec.display_name),
                reply_markup=models_keyboard(chat_settings.available_models(), spec.id),
            )
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                raise
