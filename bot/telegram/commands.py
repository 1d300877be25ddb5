"""The bot's command menus: what each scope (private chats, group members, group admins)
sees, in every locale."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
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
)
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


async def register_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu per scope (private chats, group members, group admins) in every
    locale; the default locale also serves other languages."""
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
