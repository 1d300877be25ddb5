"""/language: the user's interface language (kept per user, in every chat)."""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.chat.language import LanguageService, UnknownLocaleError
from bot.i18n import Translator
from bot.keyboards.language import LanguageChoice, language_keyboard

router = Router(name=__name__)


@router.message(Command("language"))
async def choose_language(message: Message, t: Translator, languages: LanguageService) -> None:
    await message.answer(
        t("language-choose"), reply_markup=language_keyboard(languages.options(), t.locale)
    )


@router.callback_query(LanguageChoice.filter())
async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageChoice,
    t: Translator,
    languages: LanguageService,
) -> None:
    try:
        chosen = await languages.choose(query.from_user.id, callback_data.code)
    except UnknownLocaleError:
        await query.answer(t("language-unknown"), show_alert=True)
        return
    confirmation = chosen("language-set", language=chosen("language-name"))
    # In a group the menu is shared: the presser's choice is only confirmed to them.
    if isinstance(query.message, Message) and query.message.chat.type == "private":
        try:
            await query.message.edit_text(
                confirmation,
                reply_markup=language_keyboard(languages.options(), chosen.locale),
            )
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                raise
    await query.answer(confirmation)
