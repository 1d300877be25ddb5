"""The interface language a user chose (per user, in every chat)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import I18n, Translator
from bot.storage.uow import UnitOfWorkFactory

LANGUAGE_NAME_KEY = "language-name"


class UnknownLocaleError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class LanguageOption:
    code: str
    name: str  # in its own language, from that locale's files


class LanguageService:
    def __init__(self, uow: UnitOfWorkFactory, i18n: I18n) -> None:
        self._uow = uow
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
        async with self._uow() as uow:
            await uow.users.set_locale(user_id, code)
            await uow.commit()
        return self._i18n.translator(code)
