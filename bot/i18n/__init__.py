"""Fluent translations and locale resolution."""

from bot.i18n.fluent import I18n, Translator

__all__ = ["I18n", "Translator"]
