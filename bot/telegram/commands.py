"""The bot's command menus: what each scope (private chats, group members, group admins)
sees, in every locale."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.i18n import I18n

COMMANDS = (
    "start",
    "help",
    "reset",
    "new",
    "retry",
    "stop",
    "setmodel",
    "getmodel",
    "setcharacter",
    "character",
    "settings",
    "setsystem",
    "getsystem",
    "resetsystem",
    "language",
    "history",
    "tools",
    "limits",
    "subscribe",
    "subinfo",
    "paysupport",
    "terms",
    "privacy",
    "unsubscribe",
)
# The operators' (`admins`) private chats also list these.
OPERATOR_COMMANDS = ("stats", "broadcast", "revenue")
# Groups: what every member may run; admins also get the commands that change the group.
GROUP_COMMANDS = (
    "help",
    "reset",
    "retry",
    "stop",
    "getmodel",
    "character",
    "getsystem",
    "language",
    "history",
    "limits",
    "privacy",
)
GROUP_ADMIN_COMMANDS = (
    *GROUP_COMMANDS,
    "setmodel",
    "setcharacter",
    "settings",
    "setsystem",
    "resetsystem",
    "setshortname",
    "tools",
)


logger = logging.getLogger(__name__)


async def register_commands(bot: Bot, i18n: I18n, admins: Sequence[int] = ()) -> None:
    """The command menu per scope (private chats, group members, group admins, each
    operator's private chat) in every locale; the default locale also serves other
    languages."""
    scopes = (
        (BotCommandScopeDefault(), COMMANDS),
        (BotCommandScopeAllPrivateChats(), COMMANDS),
        (BotCommandScopeAllGroupChats(), GROUP_COMMANDS),
        (BotCommandScopeAllChatAdministrators(), GROUP_ADMIN_COMMANDS),
    )
    for locale in i18n.locales:
        t = i18n.translator(locale)
        for scope, names in scopes:
            commands = [BotCommand(command=c, description=t(f"command-{c}")) for c in names]
            await bot.set_my_commands(commands, scope=scope, language_code=locale)
            if locale == i18n.default_locale:
                await bot.set_my_commands(commands, scope=scope)
    await _operator_menus(bot, i18n, admins)


async def _operator_menus(bot: Bot, i18n: I18n, admins: Sequence[int]) -> None:
    t = i18n.translator(i18n.default_locale)
    names = (*COMMANDS, *OPERATOR_COMMANDS)
    commands = [BotCommand(command=c, description=t(f"command-{c}")) for c in names]
    for admin in admins:
        try:
            await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=admin))
        except TelegramAPIError as exc:  # an operator who never started the bot
            logger.info("no operator menu for %s: %s", admin, exc)
