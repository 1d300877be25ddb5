"""/broadcast for operators (compose, preview, confirm), /unsubscribe and the Unsubscribe
button for everyone, and Telegram's word that a user blocked or unblocked the bot.

`/broadcast` waits for the operator's next message in this chat (FSM state): this router must
come before the chat router so that message is not taken as a question.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, MessageEntity

from bot.broadcasts.content import ContentError, read_content
from bot.broadcasts.service import BroadcastService
from bot.broadcasts.telegram import send_content
from bot.handlers.operators import BotAdmin
from bot.i18n import Translator
from bot.keyboards.broadcasts import (
    BroadcastDecision,
    Resubscribe,
    Unsubscribe,
    confirm_markup,
    resubscribe_markup,
)

logger = logging.getLogger(__name__)
router = Router(name=__name__)


class BroadcastForm(StatesGroup):
    waiting = State()


@router.message(Command("broadcast"), BotAdmin(), F.chat.type == "private")
async def broadcast(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    bot: Bot,
    t: Translator,
    broadcasts: BroadcastService,
) -> None:
    if command.args and command.args.strip():
        await state.clear()
        await _preview(message, command.args.strip(), None, None, bot, t, broadcasts)
        return
    await state.set_state(BroadcastForm.waiting)
    await message.answer(t("broadcast-send-next"))


@router.message(StateFilter(BroadcastForm.waiting), BotAdmin(), F.text | F.photo)
async def broadcast_content(
    message: Message, state: FSMContext, bot: Bot, t: Translator, broadcasts: BroadcastService
) -> None:
    await state.clear()
    if message.photo:
        text, entities, photo = (
            message.caption or "",
            message.caption_entities,
            message.photo[-1].file_id,
        )
    else:
        text, entities, photo = message.text or "", message.entities, None
    await _preview(message, text, entities, photo, bot, t, broadcasts)


async def _preview(
    message: Message,
    text: str,
    entities: list[MessageEntity] | None,
    photo: str | None,
    bot: Bot,
    t: Translator,
    broadcasts: BroadcastService,
) -> None:
    """The message exactly as users will get it, then how many and Send / Cancel."""
    try:
        content = read_content(text, entities, photo)
    except ContentError as exc:
        await message.answer(t(exc.key))
        return
    author = message.from_user.id if message.from_user else message.chat.id
    broadcast_id, audience = await broadcasts.draft(author, content)
    await send_content(bot, message.chat.id, content, t)
    await message.answer(
        t("broadcast-confirm", users=audience), reply_markup=confirm_markup(broadcast_id, t)
    )


@router.callback_query(BroadcastDecision.filter(), BotAdmin())
async def decide(
    query: CallbackQuery,
    callback_data: BroadcastDecision,
    t: Translator,
    broadcasts: BroadcastService,
) -> None:
    progress = query.message.message_id if query.message else None
    if not callback_data.send:
        cancelled = await broadcasts.cancel(callback_data.id)
        await query.answer(t("broadcast-cancelled" if cancelled else "broadcast-not-draft"))
        if cancelled and query.message is not None:
            await query.message.edit_text(t("broadcast-cancelled"))  # type: ignore[union-attr]
        return
    recipients = await broadcasts.send(callback_data.id, progress)
    if recipients is None:
        await query.answer(t("broadcast-not-draft"), show_alert=True)
        return
    await query.answer()
    if query.message is not None:
        await query.message.edit_text(  # type: ignore[union-attr]
            t("broadcast-started", id=callback_data.id, users=recipients)
        )


@router.message(Command("unsubscribe"))
async def unsubscribe(message: Message, t: Translator, broadcasts: BroadcastService) -> None:
    if message.from_user is None:
        return
    await broadcasts.set_unsubscribed(message.from_user.id, True)
    await message.answer(t("broadcast-unsubscribed"), reply_markup=resubscribe_markup(t))


@router.callback_query(Unsubscribe.filter())
async def unsubscribe_button(
    query: CallbackQuery, t: Translator, broadcasts: BroadcastService
) -> None:
    await broadcasts.set_unsubscribed(query.from_user.id, True)
    await query.answer(t("broadcast-unsubscribed-toast"), show_alert=True)


@router.callback_query(Resubscribe.filter())
async def resubscribe(query: CallbackQuery, t: Translator, broadcasts: BroadcastService) -> None:
    await broadcasts.set_unsubscribed(query.from_user.id, False)
    await query.answer(t("broadcast-resubscribed"), show_alert=True)


@router.my_chat_member(F.chat.type == "private")
async def blocked_or_back(event: ChatMemberUpdated, broadcasts: BroadcastService) -> None:
    """A user blocked the bot (kicked) or unblocked it: broadcasts skip or reach them."""
    status = event.new_chat_member.status
    if status in ("kicked", "member"):
        await broadcasts.set_blocked(event.from_user.id, status == "kicked")
