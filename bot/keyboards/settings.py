"""The /settings menu: a summary with one button per setting, and a page of presets for each."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.chat.settings import TEMPERATURE_PRESETS, TOP_P_PRESETS, Setting
from bot.i18n import Translator
from bot.llm.spec import ModelSpec
from bot.storage.dto import Chat

CURRENT_MARK = "✅ "
NAME_KEYS = {
    Setting.TEMPERATURE: "settings-name-temperature",
    Setting.TOP_P: "settings-name-top-p",
    Setting.MAX_OUTPUT_TOKENS: "settings-name-max-tokens",
    Setting.FOOTER: "settings-name-footer",
    Setting.ROUTING: "settings-name-routing",
}
TOGGLES = (Setting.FOOTER, Setting.ROUTING)
CHOOSE_KEYS = {
    Setting.TEMPERATURE: "settings-choose-temperature",
    Setting.TOP_P: "settings-choose-top-p",
    Setting.MAX_OUTPUT_TOKENS: "settings-choose-max-tokens",
}
ICONS = {
    Setting.TEMPERATURE: "🌡",
    Setting.TOP_P: "🎯",
    Setting.MAX_OUTPUT_TOKENS: "📏",
    Setting.FOOTER: "🏷",
    Setting.ROUTING: "🧭",
}


class SettingsMenu(CallbackData, prefix="cfg"):
    """Open the presets of one setting, or the summary when `page` is None."""

    page: Setting | None = None


class SettingsValue(CallbackData, prefix="cfgv"):
    """Store a value; None restores the default. Toggles use 1 (on) and 0 (off)."""

    setting: Setting
    value: float | None = None


def current_value(chat: Chat, setting: Setting) -> float | None:
    if setting is Setting.TEMPERATURE:
        return chat.temperature
    if setting is Setting.TOP_P:
        return chat.top_p
    if setting is Setting.MAX_OUTPUT_TOKENS:
        return chat.max_output_tokens
    if setting is Setting.ROUTING:
        return 1.0 if chat.routing_enabled else 0.0
    return 1.0 if chat.show_footer else 0.0


def format_value(setting: Setting, value: float | None, t: Translator) -> str:
    if setting in TOGGLES:
        return t("settings-on") if value else t("settings-off")
    if value is None:
        return t("settings-default")
    return str(int(value)) if setting is Setting.MAX_OUTPUT_TOKENS else f"{value:g}"


def settings_summary(
    chat: Chat,
    model: ModelSpec,
    t: Translator,
    *,
    model_name: str,
    routing: bool,
    filtered: bool = False,
) -> str:
    """`model` sets the limits; `model_name` is what the chat uses ("Auto" on auto)."""

    def shown(setting: Setting) -> str:
        return format_value(setting, current_value(chat, setting), t)

    summary = t(
        "settings-summary",
        model=model_name,
        temperature=shown(Setting.TEMPERATURE),
        top_p=shown(Setting.TOP_P),
        max_tokens=shown(Setting.MAX_OUTPUT_TOKENS),
        model_limit=str(model.capabilities.max_output_tokens),
        footer=shown(Setting.FOOTER),
    )
    if routing:
        summary += "\n" + t("settings-summary-routing", routing=shown(Setting.ROUTING))
    if filtered:  # set by the operator, not here: shown so that admins know
        summary += "\n" + t("settings-summary-filter")
    return f"{summary}\n{t('settings-hint')}"


def settings_keyboard(chat: Chat, t: Translator, *, routing: bool) -> InlineKeyboardMarkup:
    """`routing`: whether the bot routes at all (then a chat may turn it off)."""
    builder = InlineKeyboardBuilder()
    for setting in (Setting.TEMPERATURE, Setting.TOP_P, Setting.MAX_OUTPUT_TOKENS):
        value = format_value(setting, current_value(chat, setting), t)
        label = f"{ICONS[setting]} {t(NAME_KEYS[setting])}: {value}"
        builder.button(text=label, callback_data=SettingsMenu(page=setting))
    for toggle in TOGGLES:
        if toggle is Setting.ROUTING and not routing:
            continue
        state = current_value(chat, toggle)
        label = f"{ICONS[toggle]} {t(NAME_KEYS[toggle])}: {format_value(toggle, state, t)}"
        builder.button(
            text=label, callback_data=SettingsValue(setting=toggle, value=0.0 if state else 1.0)
        )
    builder.adjust(1)
    return builder.as_markup()


def presets_text(chat: Chat, setting: Setting, model: ModelSpec, t: Translator) -> str:
    return t(
        CHOOSE_KEYS[setting],
        current=format_value(setting, current_value(chat, setting), t),
        model_limit=str(model.capabilities.max_output_tokens),
    )


def presets_for(setting: Setting, max_tokens_presets: Sequence[int]) -> Sequence[float]:
    if setting is Setting.TEMPERATURE:
        return TEMPERATURE_PRESETS
    if setting is Setting.TOP_P:
        return TOP_P_PRESETS
    return [float(p) for p in max_tokens_presets]


def presets_keyboard(
    chat: Chat, setting: Setting, presets: Sequence[float], t: Translator
) -> InlineKeyboardMarkup:
    current = current_value(chat, setting)
    builder = InlineKeyboardBuilder()
    for preset in presets:
        label = format_value(setting, preset, t)
        mark = CURRENT_MARK if current is not None and abs(current - preset) < 1e-9 else ""
        builder.button(
            text=f"{mark}{label}", callback_data=SettingsValue(setting=setting, value=preset)
        )
    default_mark = CURRENT_MARK if current is None else ""
    builder.button(
        text=f"{default_mark}{t('settings-default-button')}",
        callback_data=SettingsValue(setting=setting, value=None),
    )
    builder.button(text=t("settings-back"), callback_data=SettingsMenu(page=None))
    per_row = 3 if len(presets) > 4 else 2
    rows = [per_row] * (len(presets) // per_row)
    if len(presets) % per_row:
        rows.append(len(presets) % per_row)
    builder.adjust(*rows, 1, 1)
    return builder.as_markup()
