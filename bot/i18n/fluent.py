"""Fluent bundles per locale, loaded once at start from `locales/<lang>/*.ftl`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax import FluentParser
from fluent.syntax.ast import Junk

logger = logging.getLogger(__name__)


class Translator:
    """Formats messages for one locale, falling back to the default locale's bundle."""

    def __init__(self, locale: str, bundles: list[FluentBundle]) -> None:
        self.locale = locale
        self._bundles = bundles

    def __call__(self, key: str, **args: Any) -> str:
        for bundle in self._bundles:
            if bundle.has_message(key):
                pattern = bundle.get_message(key).value
                if pattern is None:
                    continue
                text, errors = bundle.format_pattern(pattern, args)
                for error in errors:
                    logger.error("locale %s, message %s: %s", self.locale, key, error)
                return str(text)
        logger.error("message %s is missing from every locale", key)
        return key


class I18n:
    def __init__(self, locales_dir: Path, default_locale: str) -> None:
        self.default_locale = default_locale
        self._bundles = {
            path.name: _load_bundle(path.name, sorted(path.glob("*.ftl")))
            for path in sorted(locales_dir.iterdir())
            if path.is_dir()
        }
        if default_locale not in self._bundles:
            raise ValueError(f"{locales_dir}: no folder for the default locale {default_locale!r}")

    @property
    def locales(self) -> list[str]:
        return sorted(self._bundles)

    def resolve(self, chosen: str | None, telegram_language: str | None) -> str:
        """The user's choice, else their Telegram language if we have it, else the default."""
        for candidate in (chosen, (telegram_language or "").split("-")[0].lower()):
            if candidate and candidate in self._bundles:
                return candidate
        return self.default_locale

    def translator(self, locale: str) -> Translator:
        chain = [self._bundles[locale]] if locale in self._bundles else []
        if locale != self.default_locale:
            chain.append(self._bundles[self.default_locale])
        return Translator(locale if locale in self._bundles else self.default_locale, chain)


def _load_bundle(locale: str, files: Iterable[Path]) -> FluentBundle:
    # No Unicode isolation marks: Telegram would show them as stray characters.
    bundle = FluentBundle([locale], use_isolating=False)
    for path in files:
        source = path.read_text(encoding="utf-8")
        for entry in FluentParser().parse(source).body:
            if isinstance(entry, Junk):
                detail = "; ".join(str(a.message) for a in entry.annotations)
                near = (entry.content or "")[:40]
                raise ValueError(f"{path}: invalid Fluent syntax near {near!r}: {detail}")
        bundle.add_resource(FluentResource(source))
    return bundle
