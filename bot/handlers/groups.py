"""Groups: who may change a group's settings, and the group's short name for the bot.

`ChatAdmin` is the one admin check. Settings handlers carry it as a filter, so a non-admin's
command or button press falls through them to the refusals here; this router must come after
every router with admin-only handlers (see `bot.handlers.get_routers`).
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, Filter, or_f
from aiogram.types import CallbackQuery, Chat, Message, User

from bot.chat.settings import ChatSettingsService, InvalidShortNameError
from bot.i18n import Translator
from bot.keyboards.characters import CharacterChoice, CharacterPage
from bot.keyboards.models import ModelChoice
from bot.keyboards.settings import SettingsMenu, SettingsValue
from bot.keyboards.tools import ToolsSwitch
from bot.storage.dto import Chat as ChatRecord

logger = logging.getLogger(__name__)

router = Router(name=__name__)

# In groups, only the group's admins may run these (and press their keyboards' buttons).
ADMIN_COMMANDS = (
    "settings",
    "setsystem",
    "resetsystem",
    "setmodel",
    "setshortname",
    "setcharacter",
    "tools",
)
ADMIN_STATUSES = (ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR)
CLEAR_SHORT_NAME = "-"


class ChatAdmin(Filter):
    """Passes in private chats, and in groups for the group's creator and administrators."""

    async def __call__(self, event: Message | CallbackQuery, bot: Bot) -> bool:
        chat: Chat | None
        if isinstance(event, Message):
            chat, user = event.chat, event.from_user
            # An anonymous admin writes on behalf of the group itself.
            if event.sender_chat is not None and event.sender_chat.id == chat.id:
                return True
        else:
            chat = event.message.chat if event.message is not None else None
            user = event.from_user
        if chat is None or user is None:
            return False
        return chat.type == "private" or await is_admin(bot, chat, user)


async def is_admin(bot: Bot, chat: Chat, user: User) -> bool:
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramBadRequest as exc:
        logger.info("no member status for user %s in chat %s: %s", user.id, chat.id, exc)
        return False
    return member.status in ADMIN_STATUSES


@router.message(Command("setshortname"), ChatAdmin())
async def set_short_name(
    message: Message,
    command: CommandObject,
    t: Translator,
    chat_record: ChatRecord,
    chat_settings: ChatSettingsService,
) -> None:
    if chat_record.is_private:
        await message.answer(t("shortname-groups-only"))
        return
    name = (command.args or "").strip()
    if not name:
        current = chat_record.short_name
        text = t("shortname-current", name=current) if current else t("shortname-none")
        await message.reply(f"{text}\n{t('shortname-usage')}")
        return
    try:
        await chat_settings.set_short_name(
            chat_record.id, None if name == CLEAR_SHORT_NAME else name
        )
    except InvalidShortNameError:
        await message.reply(t("shortname-invalid"))
        return
    if name == CLEAR_SHORT_NAME:
        await message.reply(t("shortname-cleared"))
    else:
        await message.reply(t("shortname-set", name=name))


@router.message(Command(*ADMIN_COMMANDS), ~ChatAdmin())
async def refuse_command(message: Message, t: Translator) -> None:
    await message.reply(t("admin-only"))


@router.callback_query(
    or_f(
        ModelChoice.filter(),
        SettingsMenu.filter(),
        SettingsValue.filter(),
        CharacterChoice.filter(),
        CharacterPage.filter(),
        ToolsSwitch.filter(),
    ),
    ~ChatAdmin(),
)
async def refuse_button(query: CallbackQuery, t: Translator) -> None:
    await query.answer(t("admin-only"), show_alert=True)
