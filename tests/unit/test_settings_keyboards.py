"""Keyboards of /settings, /language and feedback: what the buttons show and what they carry."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram.types import InlineKeyboardMarkup

from bot.chat.language import LanguageOption
from bot.chat.settings import Setting
from bot.handlers.feedback import TOASTS
from bot.i18n import I18n
from bot.keyboards.feedback import FeedbackChoice, feedback_keyboard
from bot.keyboards.language import LanguageChoice, language_keyboard
from bot.keyboards.settings import (
    CHOOSE_KEYS,
    NAME_KEYS,
    SettingsMenu,
    SettingsValue,
    presets_for,
    presets_keyboard,
    settings_keyboard,
)
from bot.storage.dto import Chat

LOCALES = Path(__file__).parents[2] / "locales"
I18N = I18n(LOCALES, "en")
T = I18N.translator("en")
MAX_CALLBACK_BYTES = 64


def chat(**values: object) -> Chat:
    fields: dict[str, object] = {
        "id": -1_001_234_567_890,
        "type": "supergroup",
        "title": "G",
        "model": None,
        "system_prompt": None,
        "temperature": None,
        "top_p": None,
        "max_output_tokens": None,
        "current_conversation_id": None,
    }
    fields.update(values)
    return Chat(**fields)  # type: ignore[arg-type]


def buttons(markup: InlineKeyboardMarkup) -> list[tuple[str, str]]:
    return [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]


def all_keyboards() -> list[InlineKeyboardMarkup]:
    target = chat(temperature=1.3, top_p=0.95, max_output_tokens=16384, show_footer=True)
    tokens = [256, 512, 1024, 2048, 4096, 8192, 16384, 128_000]
    keyboards = [
        settings_keyboard(target, T, routing=True),
        settings_keyboard(chat(), T, routing=True),
    ]
    for setting in (Setting.TEMPERATURE, Setting.TOP_P, Setting.MAX_OUTPUT_TOKENS):
        keyboards.append(presets_keyboard(target, setting, presets_for(setting, tokens), T))
    keyboards.append(language_keyboard([LanguageOption("en", "English")], "en"))
    keyboards.append(feedback_keyboard(2**63 - 1, T))
    return keyboards


def test_every_callback_fits_telegrams_64_bytes() -> None:
    datas = [data for markup in all_keyboards() for _, data in buttons(markup)]
    assert len(datas) > 20
    too_long = [d for d in datas if len(d.encode()) > MAX_CALLBACK_BYTES]
    assert not too_long


def test_settings_summary_buttons_show_current_values_and_footer_toggles() -> None:
    off = buttons(settings_keyboard(chat(temperature=0.7), T, routing=False))
    assert off == [
        ("🌡 Temperature: 0.7", "cfg:temperature"),
        ("🎯 Top-p: default", "cfg:top_p"),
        ("📏 Answer length: default", "cfg:max_tokens"),
        ("🏷 Model name under answers: off", "cfgv:footer:1.0"),
    ]
    on = buttons(settings_keyboard(chat(show_footer=True), T, routing=False))
    assert on[-1] == ("🏷 Model name under answers: on", "cfgv:footer:0.0")
    routed = buttons(settings_keyboard(chat(routing_enabled=False), T, routing=True))
    assert routed[-1] == ("🧭 Routing by topic: off", "cfgv:routing:1.0")


def test_preset_page_marks_the_current_value_and_offers_default_and_back() -> None:
    markup = presets_keyboard(
        chat(temperature=0.3), Setting.TEMPERATURE, presets_for(Setting.TEMPERATURE, []), T
    )
    assert buttons(markup) == [
        ("0", "cfgv:temperature:0.0"),
        ("✅ 0.3", "cfgv:temperature:0.3"),
        ("0.7", "cfgv:temperature:0.7"),
        ("1", "cfgv:temperature:1.0"),
        ("1.3", "cfgv:temperature:1.3"),
        ("Default", "cfgv:temperature:"),
        ("⬅️ Back", "cfg:"),
    ]
    unset = buttons(presets_keyboard(chat(), Setting.TOP_P, presets_for(Setting.TOP_P, []), T))
    assert ("✅ Default", "cfgv:top_p:") in unset
    assert not [text for text, _ in unset[:-2] if text.startswith("✅")]


def test_max_tokens_page_lists_the_given_presets() -> None:
    markup = presets_keyboard(
        chat(max_output_tokens=1000),
        Setting.MAX_OUTPUT_TOKENS,
        presets_for(Setting.MAX_OUTPUT_TOKENS, [256, 512, 1000]),
        T,
    )
    assert [text for text, _ in buttons(markup)] == ["256", "512", "✅ 1000", "Default", "⬅️ Back"]


@pytest.mark.parametrize(
    "data",
    [
        SettingsValue(setting=Setting.TEMPERATURE, value=0.0),
        SettingsValue(setting=Setting.TEMPERATURE, value=None),
        SettingsValue(setting=Setting.MAX_OUTPUT_TOKENS, value=16384.0),
        SettingsMenu(page=None),
        SettingsMenu(page=Setting.TOP_P),
    ],
)
def test_settings_callback_data_survives_the_round_trip(
    data: SettingsValue | SettingsMenu,
) -> None:
    assert type(data).unpack(data.pack()) == data


def test_zero_temperature_is_not_mistaken_for_default() -> None:
    unpacked = SettingsValue.unpack(SettingsValue(setting=Setting.TEMPERATURE, value=0.0).pack())
    assert unpacked.value == 0.0
    assert unpacked.value is not None


def test_feedback_keyboard_carries_the_answer_id_and_the_vote() -> None:
    assert buttons(feedback_keyboard(42, T)) == [("👍", "fb:42:1"), ("👎", "fb:42:-1")]
    assert FeedbackChoice.unpack("fb:42:-1") == FeedbackChoice(message_id=42, value=-1)


def test_language_keyboard_marks_the_current_language() -> None:
    options = [LanguageOption("en", "English"), LanguageOption("ru", "Русский")]
    assert buttons(language_keyboard(options, "ru")) == [
        ("English", "lang:en"),
        ("✅ Русский", "lang:ru"),
    ]
    assert LanguageChoice.unpack("lang:ru").code == "ru"


@pytest.mark.parametrize("locale", I18N.locales)
def test_keys_built_in_code_exist_in_every_locale(locale: str) -> None:
    keys = [*NAME_KEYS.values(), *CHOOSE_KEYS.values(), *TOASTS.values(), "language-name"]
    t = I18N.translator(locale)
    missing = [key for key in keys if t(key, vote="x", current="x", model_limit="x") == key]
    assert not missing
