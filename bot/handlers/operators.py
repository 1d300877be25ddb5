"""Commands for the bot's operators (the `admins` of the configuration): /route here, the
character commands in `character_admin`; the refusal below covers them all.

`BotAdmin` is the one operator check; everyone else gets a refusal, never a silent drop.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator
from bot.routing.explain import explain_decision
from bot.routing.service import RoutingService
from bot.storage.dto import Chat

router = Router(name=__name__)

OPERATOR_COMMANDS = (
    "route",
    "characters",
    "character_show",
    "character_edit",
    "character_new",
    "character_history",
    "character_revert",
    "refund",
    "grant",
    "revenue",
    "moderation",
    "stats",
    "broadcast",
)


class BotAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, admins: frozenset[int]) -> bool:
        user = event.from_user
        return user is not None and user.id in admins


@router.message(Command("route"), BotAdmin())
async def route(
    message: Message,
    command: CommandObject,
    t: Translator,
    chat_record: Chat,
    routing: RoutingService,
) -> None:
    text = (command.args or "").strip()
    if routing.router is None:
        await message.answer(t("route-off"))
        return
    if not text:
        await message.answer(t("route-usage"))
        return
    await message.answer(await explain_decision(routing, chat_record, text, t))


@router.message(Command(*OPERATOR_COMMANDS))
async def refuse(message: Message, t: Translator) -> None:
    await message.answer(t("operators-only"))
