"""Every message exists in every locale, with the same placeholders."""

from __future__ import annotations

from pathlib import Path

from fluent.syntax import FluentParser, ast
from fluent.syntax.visitor import Visitor

from bot.i18n import I18n

LOCALES = Path(__file__).parents[2] / "locales"


def messages(locale: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((LOCALES / locale).glob("*.ftl")):
        resource = FluentParser().parse(path.read_text(encoding="utf-8"))
        for entry in resource.body:
            assert not isinstance(entry, ast.Junk), f"{path}: {entry.content!r}"
            if isinstance(entry, ast.Message):
                found[entry.id.name] = _variables(entry)
    return found


def _variables(node: ast.BaseNode) -> set[str]:
    names: set[str] = set()

    class Variables(Visitor):
        def visit_VariableReference(self, node: ast.VariableReference) -> None:
            names.add(node.id.name)

    Variables().visit(node)
    return names


def test_en_and_ru_exist_and_have_the_same_keys_and_placeholders() -> None:
    locales = sorted(p.name for p in LOCALES.iterdir() if p.is_dir())
    assert {"en", "ru"} <= set(locales)
    reference = messages("en")
    assert len(reference) > 20
    for locale in locales:
        assert messages(locale) == reference, f"locale {locale} differs from en"


def test_code_uses_only_existing_keys() -> None:
    import re

    keys = set(messages("en"))
    used: set[str] = set()
    for path in (Path(__file__).parents[2] / "bot").rglob("*.py"):
        used.update(re.findall(r'\bt\(\s*"([a-z0-9-]+)"', path.read_text(encoding="utf-8")))
    assert used, "no translated strings found: the scan is broken"
    assert used <= keys, f"missing from locales: {sorted(used - keys)}"


def test_locale_resolution_prefers_choice_then_telegram_language() -> None:
    i18n = I18n(LOCALES, "en")
    assert i18n.resolve("ru", "en-US") == "ru"
    assert i18n.resolve(None, "ru-RU") == "ru"
    assert i18n.resolve(None, "de") == "en"
    assert i18n.translator("ru")("model-current", model="X") == "Текущая модель: X."
