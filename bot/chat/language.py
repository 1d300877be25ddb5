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
