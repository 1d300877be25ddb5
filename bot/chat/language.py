"""The interface language a user chose (per user, in every chat)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import I18n, Translator
from bot.storage.database import Database

LANGUAGE_NAME_KEY = "language-name"


class UnknownLocaleError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class LanguageOption:
    code: str
    name: str  # in its own language, from that locale's files


class LanguageService:
    def __init__(self, db: Database, i18n: I18n) -> None:
        self._db = db
        self._i18n = i18n

    def options(self) -> list[LanguageOption]:
        return [
            LanguageOption(code, self._i18n.translator(code)(LANGUAGE_NAME_KEY))
            for code in self._i18n.locales
        ]

    async def choose(self, user_id: int, code: str) -> Translator:
        """Store the user's language; returns the translator for it."""
        if code not in self._i18n.locales:
            raise UnknownLocaleError(code)
        await self._db.write(lambda uow: uow.users.set_locale(user_id, code))
        return self._i18n.translator(code)

    async def translator_for(self, user_id: int) -> Translator:
        """Another user's language (their choice, else their Telegram language, else the
        default): for what the bot tells them outside their own updates."""
        user = await self._db.read(lambda uow: uow.users.get(user_id))
        chosen, telegram = (user.locale, user.language_code) if user else (None, None)
        return self._i18n.translator(self._i18n.resolve(chosen, telegram))
