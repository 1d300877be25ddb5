"""Commands no router handles get a short hint instead of silence.

Private chats: any unknown `/command`. Groups: only `/command@thisbot`, since a bare `/command`
may be meant for another bot. The chat router comes after this one and may handle commands
too (e.g. /retry), so "unknown" is decided against every `Command` filter registered in the
dispatcher, not by router order alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command, Filter
from aiogram.types import Message

from bot.i18n import Translator

router = Router(name=__name__)

COMMAND_RE = re.compile(r"/(?P<command>[A-Za-z0-9_]{1,32})(?:@(?P<mention>\w+))?(?:\s|$)")


def registered_commands(root: Router) -> Iterator[Command]:
    """Every Command filter on message handlers of `root` and the routers below it."""
    for each in root.chain_tail:
        for handler in each.message.handlers:
            for filter_ in handler.filters or ():
                if isinstance(filter_.callback, Command):
                    yield filter_.callback


def is_known(command: str, root: Router) -> bool:
    for flt in registered_commands(root):
        for known in flt.commands:
            if isinstance(known, re.Pattern):
                if known.fullmatch(command):
                    return True
            elif (command.casefold() if flt.ignore_case else command) == known:
                return True
    return False


class UnknownCommand(Filter):
    """A `/command` meant for this bot that no handler in the dispatcher knows; passes the
    command (without mention) as `unknown`."""

    async def __call__(
        self, message: Message, bot: Bot, dispatcher: Dispatcher
    ) -> bool | dict[str, str]:
        match = COMMAND_RE.match(message.text or "")
        if match is None:
            return False
        command, mention = match.group("command"), match.group("mention")
        if message.chat.type != "private":
            me = await bot.me()
            if not mention or mention.lower() != (me.username or "").lower():
                return False
        if is_known(command, dispatcher):
            return False  # handled further down (or refused by that handler's filters)
        return {"unknown": command}


@router.message(UnknownCommand())
async def unknown_command(message: Message, unknown: str, t: Translator) -> None:
    await message.reply(t("unknown-command", command=f"/{unknown}"))
