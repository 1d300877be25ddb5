"""Per-chat settings. Every change is scoped to one chat: nothing here touches defaults."""

from __future__ import annotations

from bot.llm.registry import ModelRegistry, UnknownModelError
from bot.llm.spec import ModelSpec
from bot.storage.dto import Chat
from bot.storage.uow import UnitOfWorkFactory


class ChatSettingsService:
    def __init__(self, uow: UnitOfWorkFactory, models: ModelRegistry, default_model: str) -> None:
        self._uow = uow
        self._models = models
        self._default_model = default_model

    def available_models(self) -> list[ModelSpec]:
        return self._models.specs()

    def current_model(self, chat: Chat) -> ModelSpec:
        model_id = chat.model if chat.model and chat.model in self._models else self._default_model
        return self._models.get(model_id).spec

    async def set_model(self, chat_id: int, model_id: str) -> ModelSpec:
        if model_id not in self._models:
            raise UnknownModelError(model_id)
        async with self._uow() as uow:
            await uow.chats.set_model(chat_id, model_id)
            await uow.commit()
        return self._models.get(model_id).spec
