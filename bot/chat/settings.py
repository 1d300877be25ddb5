"""Per-chat settings. Every change is scoped to one chat: nothing here touches defaults.

A value of None means "not set": the model's (or the operator's) default applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

from bot.chat.ports import Translate
from bot.config import AUTO_MODEL
from bot.llm.registry import ModelRegistry, UnknownModelError
from bot.llm.spec import ModelSpec
from bot.routing.service import RoutingService
from bot.storage.database import Database
from bot.storage.dto import Chat
from bot.storage.uow import UnitOfWork

TEMPERATURE_PRESETS = (0.0, 0.3, 0.7, 1.0, 1.3)
TOP_P_PRESETS = (0.5, 0.8, 0.9, 0.95, 1.0)
MAX_OUTPUT_TOKENS_PRESETS = (256, 512, 1024, 2048, 4096, 8192, 16384)
TEMPERATURE_RANGE = (0.0, 2.0)
SYSTEM_PROMPT_MAX_CHARS = 4000  # in UTF-16 units, as Telegram counts, so it fits one message
SHORT_NAME_PATTERN = re.compile(r"[^\W_][\w-]{1,31}")  # 2..32 characters


class Setting(StrEnum):
    TEMPERATURE = "temperature"
    TOP_P = "top_p"
    MAX_OUTPUT_TOKENS = "max_tokens"
    FOOTER = "footer"
    ROUTING = "routing"
    TOOLS = "tools"


class InvalidSettingError(ValueError):
    """A value outside what the setting accepts."""


class SystemPromptTooLongError(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"a system prompt may have at most {limit} characters")
        self.limit = limit


class InvalidShortNameError(ValueError):
    pass


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class ChatSettingsService:
    def __init__(
        self,
        db: Database,
        models: ModelRegistry,
        routing: RoutingService,
        *,
        routing_available: bool,
        filtered: Callable[[int, bool], bool] | None = None,
    ) -> None:
        self._db = db
        self._models = models
        self._routing = routing
        self.routing_available = routing_available  # the bot routes (so `auto` can be chosen)
        self._filtered = filtered  # whether the content filter checks a chat's answers

    def filtered(self, chat: Chat) -> bool:
        return self._filtered is not None and self._filtered(chat.id, chat.is_private)

    def available_models(self) -> list[ModelSpec]:
        return self._models.specs()

    def current_model(self, chat: Chat) -> ModelSpec:
        """The chat's model; on `auto`, the fallback model (whose limits the settings use)."""
        return self._routing.fixed_model(chat).spec

    def is_auto(self, chat: Chat) -> bool:
        return self.routing_available and self._routing.is_auto(chat)

    def model_label(self, chat: Chat, t: Translate) -> str:
        """What users see as the chat's model."""
        if self.is_auto(chat):
            return t("model-auto-name")
        return self.current_model(chat).display_name

    def model_name(self, model_id: str | None) -> str | None:
        """The display name of a configured model; None for one no longer configured."""
        if model_id is None or model_id not in self._models:
            return None
        return self._models.get(model_id).spec.display_name

    def max_output_tokens_presets(self, chat: Chat) -> list[int]:
        """Presets up to the chat's model limit, the limit itself always included."""
        limit = self.current_model(chat).capabilities.max_output_tokens
        return sorted({*(p for p in MAX_OUTPUT_TOKENS_PRESETS if p < limit), limit})

    async def set_model(self, chat_id: int, model_id: str) -> None:
        if model_id not in self._models and not (model_id == AUTO_MODEL and self.routing_available):
            raise UnknownModelError(model_id)
        await self._db.write(lambda uow: uow.chats.set_model(chat_id, model_id))

    async def apply(self, chat: Chat, setting: Setting, value: float | None) -> Chat:
        """Store one sampling/display setting for this chat; returns the updated chat."""
        checked = self._checked(chat, setting, value)

        def store(uow: UnitOfWork) -> Chat | None:
            if setting is Setting.TEMPERATURE:
                uow.chats.set_temperature(chat.id, checked)
            elif setting is Setting.TOP_P:
                uow.chats.set_top_p(chat.id, checked)
            elif setting is Setting.MAX_OUTPUT_TOKENS:
                uow.chats.set_max_output_tokens(chat.id, None if checked is None else int(checked))
            elif setting is Setting.ROUTING:
                uow.chats.set_routing(chat.id, bool(checked))
            elif setting is Setting.TOOLS:
                uow.chats.set_tools(chat.id, bool(checked))
            else:
                uow.chats.set_show_footer(chat.id, bool(checked))
            return uow.chats.get(chat.id)

        updated = await self._db.write(store)
        if updated is None:
            raise LookupError(f"chat {chat.id} does not exist")
        return updated

    def _checked(self, chat: Chat, setting: Setting, value: float | None) -> float | None:
        if value is None:
            return None
        if setting is Setting.TEMPERATURE:
            low, high = TEMPERATURE_RANGE
            ok = low <= value <= high
        elif setting is Setting.TOP_P:
            ok = 0.0 < value <= 1.0
        elif setting is Setting.MAX_OUTPUT_TOKENS:
            limit = self.current_model(chat).capabilities.max_output_tokens
            ok = float(value).is_integer() and 1 <= value <= limit
        else:
            ok = value in (0.0, 1.0)
        if not ok:
            raise InvalidSettingError(f"{setting.value}={value} is out of range")
        return value

    async def set_system_prompt(self, chat_id: int, prompt: str) -> None:
        prompt = prompt.strip()
        if not prompt:
            raise InvalidSettingError("the system prompt is empty")
        if utf16_length(prompt) > SYSTEM_PROMPT_MAX_CHARS:
            raise SystemPromptTooLongError(SYSTEM_PROMPT_MAX_CHARS)
        await self._db.write(lambda uow: uow.chats.set_system_prompt(chat_id, prompt))

    async def reset_system_prompt(self, chat_id: int) -> None:
        await self._db.write(lambda uow: uow.chats.set_system_prompt(chat_id, None))

    async def set_short_name(self, chat_id: int, name: str | None) -> None:
        """A group's short name for the bot (letters, digits, '_' or '-'); None removes it."""
        if name is not None and not SHORT_NAME_PATTERN.fullmatch(name):
            raise InvalidShortNameError(name)
        await self._db.write(lambda uow: uow.chats.set_short_name(chat_id, name))
