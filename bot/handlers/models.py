"""/setmodel (inline keyboard, per chat; `auto` lets the router choose) and /getmodel."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.chat.settings import ChatSettingsService
from bot.config import AUTO_MODEL
from bot.handlers.groups import ChatAdmin
from bot.handlers.menus import edit_menu
from bot.i18n import Translator
from bot.keyboards.models import ModelChoice, models_keyboard
from bot.llm.registry import UnknownModelError
from bot.storage.dto import Chat

router = Router(name=__name__)


def _keyboard(
    chat: Chat, t: Translator, chat_settings: ChatSettingsService
) -> InlineKeyboardMarkup:
    current = AUTO_MODEL if chat_settings.is_auto(chat) else chat_settings.current_model(chat).id
    return models_keyboard(
        chat_settings.available_models(),
        current,
        auto_label=t("model-auto-button") if chat_settings.routing_available else None,
    )


@router.message(Command("setmodel"), ChatAdmin())
async def set_model(
    message: Message, t: Translator, chat_record: Chat, chat_settings: ChatSettingsService
) -> None:
    await message.answer(
        t("model-choose", model=chat_settings.model_label(chat_record, t)),
        reply_markup=_keyboard(chat_record, t, chat_settings),
    )


@router.message(Command("getmodel"))
async def get_model(
    message: Message, t: Translator, chat_record: Chat, chat_settings: ChatSettingsService
) -> None:
    await message.answer(t("model-current", model=chat_settings.model_label(chat_record, t)))


@router.callback_query(ModelChoice.filter(), ChatAdmin())
async def model_chosen(
    query: CallbackQuery,
    callback_data: ModelChoice,
    t: Translator,
    chat_record: Chat,
    chat_settings: ChatSettingsService,
) -> None:
    try:
        await chat_settings.set_model(chat_record.id, callback_data.id)
    except UnknownModelError:
        await query.answer(t("model-unknown"), show_alert=True)
        return
    chat = chat_record.with_model(callback_data.id)
    label = chat_settings.model_label(chat, t)
    await query.answer(t("model-set", model=label))
    await edit_menu(query, t("model-set", model=label), _keyboard(chat, t, chat_settings))
