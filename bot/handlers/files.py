"""Photos, albums and documents become turns; the caption is the question.

Everything is checked before it is stored: size before download, content when read. A file
that cannot be used gets a localized reason and leaves nothing behind.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Document, Message

from bot.characters.service import CharacterService
from bot.chat.inputs import UserInput
from bot.chat.ordering import PasteMerger
from bot.chat.service import ChatService, NeedsVisionError
from bot.chat.settings import ChatSettingsService
from bot.documents.images import PreparedImage
from bot.documents.reading import DocumentReader, FileRejectedError, Kind, ReadDocument, kind_of
from bot.handlers.common import text_for_bot, without_retired_character
from bot.i18n import Translator
from bot.keyboards.models import models_keyboard
from bot.middlewares.dedupe import UpdateReceipt
from bot.storage.dto import Chat
from bot.telegram.media import MAX_PHOTO_BYTES, FileTooLargeError, download
from bot.telegram.progress import ReadingStatus
from bot.telegram.views import AnswerViewFactory

logger = logging.getLogger(__name__)
router = Router(name=__name__)


@router.message(F.photo)
async def on_photo(
    message: Message,
    bot: Bot,
    t: Translator,
    chat_record: Chat,
    chat_service: ChatService,
    chat_settings: ChatSettingsService,
    characters: CharacterService,
    document_reader: DocumentReader,
    merger: PasteMerger,
    album_window: float,
    answer_views: AnswerViewFactory,
    update_receipt: UpdateReceipt,
) -> None:
    """A photo, or the first photo of an album: the album's other photos join it (see the
    ordering middleware) and the whole album becomes one turn."""
    if message.from_user is None or not message.photo:
        return
    caption = await text_for_bot(message, bot, chat_record)
    if caption is None:
        return
    chat_record = await without_retired_character(message, chat_record, characters, t)
    if not await _can_see(message, chat_record, chat_service, chat_settings, t):
        if message.media_group_id is not None:  # one refusal for the whole album
            merger.drop_album(message.chat.id, message.media_group_id)
        return  # before downloading anything
    turn = UserInput(
        chat_id=message.chat.id,
        user_id=message.from_user.id,
        text=caption,
        message_id=message.message_id,
        updates=(update_receipt.mark,),
        album_id=message.media_group_id,
        attachment_refs=(message.photo[-1].file_id,),  # the largest size
    )

    async def run(collected: UserInput) -> None:
        images = await _photos(message, bot, collected.attachment_refs, document_reader, t)
        if images is not None:
            text = collected.text or t("photo-default-question")
            ready = replace(collected, text=text, images=images, attachment_refs=())
            if await _reply(
                message, chat_record, ready, chat_service, chat_settings, answer_views, t
            ):
                return
        await chat_service.dismiss(collected)  # the user was told why

    if message.media_group_id is not None:
        merger.defer(turn, run, window=album_window)
        update_receipt.deferred = True  # recorded with the album's turn
        return
    await run(turn)
    update_receipt.recorded = True


@router.message(F.document)
async def on_document(
    message: Message,
    bot: Bot,
    t: Translator,
    chat_record: Chat,
    chat_service: ChatService,
    chat_settings: ChatSettingsService,
    characters: CharacterService,
    document_reader: DocumentReader,
    answer_views: AnswerViewFactory,
    update_receipt: UpdateReceipt,
) -> None:
    document = message.document
    if message.from_user is None or document is None:
        return
    caption = await text_for_bot(message, bot, chat_record)
    if caption is None:
        return
    chat_record = await without_retired_character(message, chat_record, characters, t)
    name = document.file_name or "file"
    kind = kind_of(name, document.mime_type)
    if kind is None:
        await message.answer(t("file-unsupported", name=name))
        return
    if kind == "image" and not await _can_see(message, chat_record, chat_service, chat_settings, t):
        return
    read = await _read(message, document, name, kind, bot, document_reader, t)
    if read is None:
        return
    images, documents = read
    default = "photo-default-question" if images else "document-default-question"
    turn = UserInput(
        chat_id=message.chat.id,
        user_id=message.from_user.id,
        text=caption or t(default),
        message_id=message.message_id,
        updates=(update_receipt.mark,),
        images=images,
        documents=documents,
    )
    if await _reply(message, chat_record, turn, chat_service, chat_settings, answer_views, t):
        update_receipt.recorded = True


async def _read(
    message: Message,
    document: Document,
    name: str,
    kind: Kind,
    bot: Bot,
    reader: DocumentReader,
    t: Translator,
) -> tuple[tuple[PreparedImage, ...], tuple[ReadDocument, ...]] | None:
    """The file, downloaded and read; None (the user was told why) if it cannot be used."""
    status = ReadingStatus(
        bot,
        message.chat.id,
        lambda done, total: t("document-reading", page=done, pages=total),
        min_total=reader.progress_min_pages,
    )
    try:
        data = await download(
            bot, document.file_id, size=document.file_size, limit=reader.max_file_bytes
        )
        if kind == "image":
            return (await reader.image(data),), ()
        return (), (await reader.document(data, name, kind, status),)
    except FileTooLargeError:
        await message.answer(t("file-too-large", limit=reader.max_file_mb))
    except FileRejectedError as exc:
        await message.answer(t(exc.key, **exc.args_))
    except TelegramAPIError as exc:  # gone, expired, or Telegram kept failing
        logger.warning(
            "chat %s: the file %s could not be downloaded: %s", message.chat.id, name, exc
        )
        await message.answer(t("file-download-failed"))
    except Exception:  # a full disk, a bug...: the user hears something
        logger.exception("chat %s: the file %s could not be read", message.chat.id, name)
        await message.answer(t("error-internal"))
    finally:
        await status.close()
    return None


async def _photos(
    message: Message, bot: Bot, refs: tuple[str, ...], reader: DocumentReader, t: Translator
) -> tuple[PreparedImage, ...] | None:
    images: list[PreparedImage] = []
    try:
        for file_id in refs:
            data = await download(bot, file_id, size=None, limit=MAX_PHOTO_BYTES)
            images.append(await reader.image(data))
    except FileTooLargeError:
        await message.answer(t("photo-too-large"))
        return None
    except FileRejectedError as exc:
        await message.answer(t(exc.key, **exc.args_))
        return None
    except TelegramAPIError as exc:  # gone, expired, or Telegram kept failing
        logger.warning("chat %s: a photo could not be downloaded: %s", message.chat.id, exc)
        await message.answer(t("file-download-failed"))
        return None
    except Exception:  # a full disk, a bug...: the user hears something
        logger.exception("chat %s: a photo could not be read", message.chat.id)
        await message.answer(t("error-internal"))
        return None
    return tuple(images)


async def _reply(
    message: Message,
    chat: Chat,
    turn: UserInput,
    chat_service: ChatService,
    chat_settings: ChatSettingsService,
    answer_views: AnswerViewFactory,
    t: Translator,
) -> bool:
    views = answer_views.for_chat(
        turn.chat_id, private=chat.is_private, reply_to=turn.message_id, t=t
    )
    try:
        await chat_service.reply(chat, turn, views, t)
    except NeedsVisionError as exc:  # a scanned PDF: known to need eyes only once it was read
        await send_vision_refusal(message, exc, chat_settings, t)
        return False
    return True


async def _can_see(
    message: Message,
    chat: Chat,
    chat_service: ChatService,
    chat_settings: ChatSettingsService,
    t: Translator,
) -> bool:
    try:
        chat_service.ensure_can_see(chat)
    except NeedsVisionError as exc:
        await send_vision_refusal(message, exc, chat_settings, t)
        return False
    return True


async def send_vision_refusal(
    message: Message, exc: NeedsVisionError, chat_settings: ChatSettingsService, t: Translator
) -> None:
    """Say that the chat's model cannot see, with the models that can as buttons."""
    if not exc.vision_models:
        await message.answer(t("photo-no-vision-model", model=exc.model.display_name))
        return
    auto = chat_settings.routing_available
    names = ", ".join(spec.display_name for spec in exc.vision_models)
    key = "photo-needs-vision" if auto else "photo-needs-vision-no-auto"
    keyboard = models_keyboard(
        exc.vision_models, exc.model.id, auto_label=t("model-auto-button") if auto else None
    )
    await message.answer(t(key, model=exc.model.display_name, models=names), reply_markup=keyboard)
