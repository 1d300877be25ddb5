"""Voice messages, audio files and video notes: transcribed, the transcript shown quoted, then
answered as if typed. A caption joins the transcript, and so does the text of a message that
replies to a recording. In groups a recording is answered when it is addressed like a text:
a reply to the bot, a mention in the caption, or the short name at the start of the transcript.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

from bot.characters.service import CharacterService
from bot.chat.inputs import UserInput
from bot.chat.service import ChatService
from bot.handlers.common import without_retired_character
from bot.i18n import Translator
from bot.middlewares.dedupe import UpdateReceipt
from bot.moderation.service import Moderator
from bot.payments.quotas import QuotaExceededError
from bot.storage.dto import Chat
from bot.telegram.addressing import addressed_text, strip_short_name
from bot.telegram.media import FileTooLargeError, download
from bot.telegram.quote import quoted
from bot.telegram.typing_indicator import TypingIndicator
from bot.telegram.views import AnswerViewFactory
from bot.telegram.views.base import buttons_markup
from bot.voice.service import Clip, Fetch, Heard, VoiceRefusal, VoiceService

logger = logging.getLogger(__name__)
router = Router(name=__name__)


def clip_of(message: Message) -> Clip | None:
    """The recording a message carries, as Telegram describes it."""
    if message.voice is not None:
        v = message.voice
        return Clip(v.file_id, v.duration, v.file_size, "voice")
    if message.audio is not None:
        a = message.audio
        return Clip(a.file_id, a.duration, a.file_size, "audio", a.file_name)
    if message.video_note is not None:
        n = message.video_note
        return Clip(n.file_id, n.duration, n.file_size, "video_note")
    return None


@router.message(F.voice | F.audio | F.video_note)
async def on_recording(
    message: Message,
    bot: Bot,
    t: Translator,
    chat_record: Chat,
    chat_service: ChatService,
    voice: VoiceService,
    characters: CharacterService,
    answer_views: AnswerViewFactory,
    update_receipt: UpdateReceipt,
    moderator: Moderator | None,
) -> None:
    clip = clip_of(message)
    if clip is None or message.from_user is None:
        return
    caption: str | None = message.caption or ""
    if not chat_record.is_private:
        me = await bot.me()
        caption = addressed_text(message, me, chat_record.short_name)
        if caption is None and not chat_record.short_name:
            return  # group chatter: nothing is downloaded, nothing is stored
        if caption is not None and caption.strip().lower() == f"@{me.username}".lower():
            caption = ""  # the caption only addressed the bot
    addressed = caption is not None
    heard = await _hear(message, bot, clip, voice, t, tell=addressed)
    if heard is None:
        return
    text = heard.transcript.text
    if not addressed:  # perhaps "Bot, ..." at the start of what was said
        stripped = strip_short_name(text, chat_record.short_name or "")
        if stripped is None:
            await voice.drop(heard)
            return
        text = stripped
    if await _may_show(chat_record, text, moderator):
        await _show_transcript(message, heard, voice, t)
    chat_record = await without_retired_character(message, chat_record, characters, t)
    turn = UserInput(
        chat_id=message.chat.id,
        user_id=message.from_user.id,
        text="\n\n".join(part for part in (text, caption) if part),
        message_id=message.message_id,
        updates=(update_receipt.mark,),
    )
    views = answer_views.for_chat(
        turn.chat_id, private=chat_record.is_private, reply_to=turn.message_id, t=t
    )
    await chat_service.reply(chat_record, turn, views, t)
    await voice.keep(heard)
    update_receipt.recorded = True


async def with_replied_recording(
    message: Message, text: str, bot: Bot, voice: VoiceService, t: Translator
) -> str | None:
    """`text` after the transcript of the recording it replies to (a user's, not the bot's);
    None when that recording cannot be read (the user was told why)."""
    replied = message.reply_to_message
    clip = clip_of(replied) if replied is not None else None
    if replied is None or clip is None or replied.from_user is None:
        return text
    if replied.from_user.id == bot.id:
        return text
    heard = await _hear(message, bot, clip, voice, t, tell=True)
    if heard is None:
        return None
    await voice.keep(heard)
    return f"{heard.transcript.text}\n\n{text}"


async def _hear(
    message: Message, bot: Bot, clip: Clip, voice: VoiceService, t: Translator, *, tell: bool
) -> Heard | None:
    """The transcript; None when there is none (told to the user when `tell`)."""
    user_id = message.from_user.id if message.from_user else message.chat.id
    typing = TypingIndicator(bot, message.chat.id) if tell else contextlib.nullcontext()
    try:
        async with typing:
            return await voice.hear(clip, user_id, _fetch(bot, clip))
    except QuotaExceededError as exc:
        if tell:
            text, buttons = voice.notice(exc, t)
            await message.reply(text, reply_markup=buttons_markup(buttons))
    except VoiceRefusal as exc:
        if tell:
            await message.reply(t(exc.key, **exc.args_))
    except TelegramAPIError as exc:  # gone, expired, or Telegram kept failing
        logger.warning("chat %s: a recording could not be downloaded: %s", message.chat.id, exc)
        if tell:
            await message.reply(t("file-download-failed"))
    return None


def _fetch(bot: Bot, clip: Clip) -> Fetch:
    async def fetch(limit: int) -> bytes:
        try:
            return await download(bot, clip.file_id, size=clip.size, limit=limit)
        except FileTooLargeError:
            raise VoiceRefusal("voice-too-large", limit=f"{limit / 1024 / 1024:g}") from None

    return fetch


async def _may_show(chat: Chat, text: str, moderator: Moderator | None) -> bool:
    """Where questions are filtered, a transcript on a kept-out topic is not quoted back (the
    question is then refused like a typed one)."""
    if moderator is None or not moderator.checks_questions:
        return True
    if not moderator.applies(chat.id, chat.is_private):
        return True
    return not (await moderator.decide(text)).blocked


async def _show_transcript(
    message: Message, heard: Heard, voice: VoiceService, t: Translator
) -> None:
    text, entities = quoted(t("voice-transcript"), heard.transcript.text, voice.expand_over_chars)
    await message.reply(text, entities=entities, parse_mode=None)
