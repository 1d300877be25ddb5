"""/settings: this chat's temperature, top-p, answer length, footer and routing, by buttons."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.chat.settings import ChatSettingsService, InvalidSettingError
from bot.handlers.groups import ChatAdmin
from bot.handlers.menus import edit_menu
from bot.i18n import Translator
from bot.keyboards.settings import (
    TOGGLES,
    SettingsMenu,
    SettingsValue,
    presets_for,
    presets_keyboard,
    presets_text,
    settings_keyboard,
    settings_summary,
)
from bot.storage.dto import Chat

router = Router(name=__name__)


@router.message(Command("settings"), ChatAdmin())
async def show_settings(
    message: Message, t: Translator, chat_record: Chat, chat_settings: ChatSettingsService
) -> None:
    await message.answer(
        _summary(chat_record, t, chat_settings),
        reply_markup=settings_keyboard(chat_record, t, routing=chat_settings.routing_available),
    )


@router.callback_query(SettingsMenu.filter(), ChatAdmin())
async def open_page(
    query: CallbackQuery,
    callback_data: SettingsMenu,
    t: Translator,
    chat_record: Chat,
    chat_settings: ChatSettingsService,
) -> None:
    setting = callback_data.page
    model = chat_settings.current_model(chat_record)
    if setting is None or setting in TOGGLES:
        keyboard = settings_keyboard(chat_record, t, routing=chat_settings.routing_available)
        await edit_menu(query, _summary(chat_record, t, chat_settings), keyboard)
    else:
        presets = presets_for(setting, chat_settings.max_output_tokens_presets(chat_record))
        await edit_menu(
            query,
            presets_text(chat_record, setting, model, t),
            presets_keyboard(chat_record, setting, presets, t),
        )
    await query.answer()


@router.callback_query(SettingsValue.filter(), ChatAdmin())
async def choose_value(
    query: CallbackQuery,
    callback_data: SettingsValue,
    t: Translator,
    chat_record: Chat,
    chat_settings: ChatSettingsService,
) -> None:
    try:
        chat = await chat_settings.apply(chat_record, callback_data.setting, callback_data.value)
    except InvalidSettingError:
        await query.answer(t("settings-invalid"), show_alert=True)
        return
    keyboard = settings_keyboard(chat, t, routing=chat_settings.routing_available)
    await edit_menu(query, _summary(chat, t, chat_settings), keyboard)
    await query.answer(t("settings-saved"))


def _summary(chat: Chat, t: Translator, chat_settings: ChatSettingsService) -> str:
    return settings_summary(
        chat,
        chat_settings.current_model(chat),
        t,
        model_name=chat_settings.model_label(chat, t),
        routing=chat_settings.routing_available,
        filtered=chat_settings.filtered(chat),
    )
