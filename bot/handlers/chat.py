"""Text and photo messages become turns. Private chats: every message; groups: when addressed."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import Message, Update

from bot.characters.service import CharacterService
from bot.chat.inputs import UserInput
from bot.chat.ordering import PasteMerger
from bot.chat.service import ChatService, NeedsVisionError
from bot.chat.settings import ChatSettingsService
from bot.i18n import Translator
from bot.middlewares.dedupe import UpdateReceipt
from bot.storage.dto import Chat
from bot.telegram.addressing import addressed_text
from bot.telegram.media import PhotoTooLargeError, UnreadablePhotoError, download_photo
from bot.telegram.views import AnswerViewFactory

router = Router(name=__name__)


@router.message(F.text & ~F.text.startswith("/"))
async def on_text(
    message: Message,
    bot: Bot,
    t: Translator,
    chat_record: Chat,
    chat_service: ChatService,
    merger: PasteMerger,
    answer_views: AnswerViewFactory,
    characters: CharacterService,
    event_update: Update,
    update_receipt: UpdateReceipt,
) -> None:
    if message.from_user is None or message.text is None:
        return
    text = await _text_for_bot(message, bot, chat_record)
    if text is None:
        return  # not for the bot: nothing is stored
    chat_record = await _without_retired_character(message, chat_record, characters, t)
    turn = UserInput(
        chat_id=message.chat.id,
        user_id=message.from_user.id,
        text=text,
        message_id=message.message_id,
        update_ids=(event_update.update_id,),
    )

    async def run(merged: UserInput) -> None:
        views = answer_views.for_chat(
            merged.chat_id, private=chat_record.is_private, reply_to=merged.message_id, t=t
        )
        await chat_service.reply(chat_record, merged, views, t)

    if merger.looks_split(turn.text):
        merger.defer(turn, run)
        return
    await run(turn)
    update_receipt.recorded = True  # stored with the user's message, in one transaction


@router.message(F.photo)
async def on_photo(
    message: Message,
    bot: Bot,
    t: Translator,
    chat_record: Chat,
    chat_service: ChatService,
    answer_views: AnswerViewFactory,
    chat_settings: ChatSettingsService,
    characters: CharacterService,
    event_update: Update,
    update_receipt: UpdateReceipt,
) -> None:
    """The largest size of the photo goes to a model that can see it; the caption is the
    question (without one, the model describes the picture)."""
    if message.from_user is None or not message.photo:
        return
    caption = await _text_for_bot(message, bot, chat_record)
    if caption is None:
        return
    chat_record = await _without_retired_character(message, chat_record, characters, t)
    try:
        chat_service.ensure_can_see(chat_record)  # before downloading anything
    except NeedsVisionError as exc:
        await message.answer(_needs_vision(exc, chat_settings.routing_available, t))
        return
    try:
        image = await download_photo(bot, message.photo[-1])  # the largest size
    except PhotoTooLargeError:
        await message.answer(t("photo-too-large"))
        return
    except UnreadablePhotoError:
        await message.answer(t("photo-unreadable"))
        return
    turn = UserInput(
        chat_id=message.chat.id,
        user_id=message.from_user.id,
        text=caption or t("photo-default-question"),
        message_id=message.message_id,
        update_ids=(event_update.update_id,),
        images=(image,),
    )
    views = answer_views.for_chat(
        turn.chat_id, private=chat_record.is_private, reply_to=turn.message_id, t=t
    )
    await chat_service.reply(chat_record, turn, views, t)
    update_receipt.recorded = True


def _needs_vision(exc: NeedsVisionError, auto_offered: bool, t: Translator) -> str:
    names = ", ".join(spec.display_name for spec in exc.vision_models)
    if not names:
        return t("photo-no-vision-model", model=exc.model.display_name)
    key = "photo-needs-vision" if auto_offered else "photo-needs-vision-no-auto"
    return t(key, model=exc.model.display_name, models=names)


async def _without_retired_character(
    message: Message, chat: Chat, characters: CharacterService, t: Translator
) -> Chat:
    """A chat whose character's file was removed goes on without one, and is told so."""
    current = await characters.retire_if_gone(chat)
    if current is not chat:
        await message.answer(t("character-retired", id=chat.character_id or ""))
    return current


async def _text_for_bot(message: Message, bot: Bot, chat: Chat) -> str | None:
    """The text (or caption) meant for the bot; None for group chatter."""
    text = message.text or message.caption or ""
    if chat.is_private:
        return text
    return addressed_text(message, await bot.me(), chat.short_name)


@router.message(F.chat.type == "private")
async def unsupported(message: Message, t: Translator) -> None:
    await message.answer(t("unsupported-message"))
