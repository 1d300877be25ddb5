"""/settings: this chat's temperature, top-p, answer length and model footer, by inline buttons."""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.chat.settings import ChatSettingsService, InvalidSettingError, Setting
from bot.handlers.groups import ChatAdmin
from bot.i18n import Translator
from bot.keyboards.settings import (
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
    model = chat_settings.current_model(chat_record)
    await message.answer(
        settings_summary(chat_record, model, t), reply_markup=settings_keyboard(chat_record, t)
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
    if setting is None or setting is Setting.FOOTER:
        await _show(
            query, settings_summary(chat_record, model, t), settings_keyboard(chat_record, t)
        )
    else:
        presets = presets_for(setting, chat_settings.max_output_tokens_presets(chat_record))
        await _show(
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
    model = chat_settings.current_model(chat)
    await _show(query, settings_summary(chat, model, t), settings_keyboard(chat, t))
    await query.answer(t("settings-saved"))


async def _show(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup) -> None:
    if not isinstance(query.message, Message):
        return
    try:
        await query.message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            raise
