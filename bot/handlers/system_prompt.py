"""/setsystem, /getsystem, /resetsystem: this chat's custom system prompt.

`/setsystem` without text waits for the same user's next text message in this chat (FSM state);
this router must come before the chat router so that message is not taken as a question.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import ForceReply, Message

from bot.chat.settings import (
    ChatSettingsService,
    InvalidSettingError,
    SystemPromptTooLongError,
)
from bot.handlers.broadcasts import BroadcastForm
from bot.handlers.groups import ChatAdmin
from bot.i18n import Translator
from bot.storage.dto import Chat

router = Router(name=__name__)


class SystemPromptForm(StatesGroup):
    waiting = State()


@router.message(Command("setsystem"), ChatAdmin())
async def set_system(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    t: Translator,
    chat_record: Chat,
    chat_settings: ChatSettingsService,
) -> None:
    if command.args and command.args.strip():
        await state.clear()
        await _store(message, command.args, t, chat_record, chat_settings)
        return
    await state.set_state(SystemPromptForm.waiting)
    # In groups, a reply is what the bot gets to see even in privacy mode.
    markup = None if chat_record.is_private else ForceReply(selective=True)
    await message.reply(t("system-prompt-send-next"), reply_markup=markup)


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, t: Translator) -> None:
    current = await state.get_state()
    if current is None:
        await message.answer(t("cancel-nothing"))
        return
    await state.clear()
    # The other conversations with a next-message step: a character edit, a broadcast.
    keys = {
        SystemPromptForm.waiting.state: "system-prompt-cancelled",
        BroadcastForm.waiting.state: "broadcast-cancelled",
    }
    await message.answer(t(keys.get(current, "character-admin-cancelled")))


@router.message(StateFilter(SystemPromptForm.waiting), F.text & ~F.text.startswith("/"))
async def receive_system(
    message: Message,
    state: FSMContext,
    t: Translator,
    chat_record: Chat,
    chat_settings: ChatSettingsService,
) -> None:
    await state.clear()
    await _store(message, message.text or "", t, chat_record, chat_settings)


@router.message(Command("getsystem"))
async def get_system(message: Message, t: Translator, chat_record: Chat) -> None:
    if chat_record.system_prompt:
        await message.answer(t("system-prompt-current", prompt=chat_record.system_prompt))
    else:
        await message.answer(t("system-prompt-default"))


@router.message(Command("resetsystem"), ChatAdmin())
async def reset_system(
    message: Message, t: Translator, chat_record: Chat, chat_settings: ChatSettingsService
) -> None:
    await chat_settings.reset_system_prompt(chat_record.id)
    await message.answer(t("system-prompt-reset"))


async def _store(
    message: Message,
    text: str,
    t: Translator,
    chat_record: Chat,
    chat_settings: ChatSettingsService,
) -> None:
    try:
        await chat_settings.set_system_prompt(chat_record.id, text)
    except SystemPromptTooLongError as exc:
        await message.reply(t("system-prompt-too-long", limit=exc.limit))
        return
    except InvalidSettingError:
        await message.reply(t("system-prompt-empty"))
        return
    await message.reply(t("system-prompt-set"))
