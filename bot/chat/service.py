"""ChatService: one conversational turn, from the user's message to the stored answer.

Each database step is its own short unit of work: nothing holds a transaction open while a
model streams, so one slow answer never blocks other chats' writes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.chat.context import ContextTooLongError, Sampling, build_request
from bot.chat.inputs import UserInput
from bot.chat.ports import AnswerView, Translate
from bot.llm.base import ChatModel
from bot.llm.registry import ModelRegistry
from bot.llm.types import (
    ChatRequest,
    Finish,
    FinishReason,
    LLMError,
    LLMErrorKind,
    TextDelta,
    Usage,
)
from bot.storage.dto import Chat, MessageStatus, Role, StoredMessage
from bot.storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

ERROR_KEYS = {kind: f"error-{kind.value.replace('_', '-')}" for kind in LLMErrorKind}


@dataclass(slots=True)
class _Outcome:
    text: str = ""
    usage: Usage | None = None
    error: LLMError | None = None
    finish: FinishReason | None = None

    @property
    def status(self) -> MessageStatus:
        if self.error is None:
            return MessageStatus.COMPLETE
        return MessageStatus.INTERRUPTED if self.text else MessageStatus.FAILED


class ChatService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        models: ModelRegistry,
        *,
        default_model: str,
        default_system_prompt: str,
        max_history_messages: int,
    ) -> None:
        self._uow = uow
        self._models = models
        self._default_model = default_model
        self._default_system_prompt = default_system_prompt
        self._max_history = max_history_messages

    def model_for(self, chat: Chat) -> ChatModel:
        """The chat's model, or the default one if it is unset or no longer configured."""
        if chat.model and chat.model in self._models:
            return self._models.get(chat.model)
        return self._models.get(self._default_model)

    async def reply(self, chat: Chat, turn: UserInput, view: AnswerView, t: Translate) -> None:
        model = self.model_for(chat)
        conversation_id, history = await self._record_user_message(chat, turn)
        try:
            request = build_request(
                model.spec,
                chat.system_prompt or self._default_system_prompt,
                history,
                Sampling(chat.temperature, chat.top_p, chat.max_output_tokens),
            )
        except ContextTooLongError as exc:
            await view.notice(t("error-too-long", limit=exc.limit))
            return
        outcome = _Outcome()
        await view.start()
        try:
            await self._stream(model, request, view, outcome)
            message_ids = await self._deliver(view, outcome, t)
        except asyncio.CancelledError:
            outcome.error = outcome.error or LLMError(LLMErrorKind.INTERRUPTED, "cancelled")
            await asyncio.shield(self._record_answer(conversation_id, model, outcome, []))
            raise
        finally:
            await view.close()
        await self._record_answer(conversation_id, model, outcome, message_ids)

    async def start_new_conversation(self, chat_id: int) -> None:
        async with self._uow() as uow:
            await uow.chats.set_conversation(chat_id, None)
            await uow.commit()

    async def _record_user_message(
        self, chat: Chat, turn: UserInput
    ) -> tuple[int, list[StoredMessage]]:
        async with self._uow() as uow:
            current = await uow.chats.get(chat.id)
            conversation_id = current.current_conversation_id if current else None
            if conversation_id is None:
                conversation_id = await uow.conversations.create(chat.id)
                await uow.chats.set_conversation(chat.id, conversation_id)
            await uow.messages.add(
                conversation_id,
                Role.USER,
                [{"type": "text", "text": turn.text}],
                user_id=turn.user_id,
                telegram_message_ids=[turn.message_id] if turn.message_id else [],
            )
            for update_id in turn.update_ids:  # every part of a merged paste, atomically
                await uow.updates.mark(update_id)
            history = await uow.messages.history(conversation_id, limit=self._max_history)
            await uow.commit()
        return conversation_id, history

    async def _stream(
        self, model: ChatModel, request: ChatRequest, view: AnswerView, outcome: _Outcome
    ) -> None:
        try:
            async for event in model.stream(request):
                if isinstance(event, TextDelta):
                    outcome.text += event.text
                    await view.update(outcome.text)
                elif isinstance(event, Usage):
                    outcome.usage = event
                elif isinstance(event, Finish):
                    outcome.finish = event.reason
        except LLMError as exc:
            logger.warning("model %s failed: %s", model.spec.id, exc)
            outcome.error = exc

    async def _deliver(self, view: AnswerView, outcome: _Outcome, t: Translate) -> list[int]:
        if outcome.error is None:
            if not outcome.text.strip():
                return await view.notice(t("answer-empty"))
            if outcome.finish is FinishReason.LENGTH:
                return await view.finish(f"{outcome.text}\n\n{t('answer-truncated')}")
            return await view.finish(outcome.text)
        reason = t(ERROR_KEYS[outcome.error.kind])
        if outcome.text:
            interrupted = t("answer-interrupted", reason=reason)
            return await view.finish(f"{outcome.text}\n\n{interrupted}")
        return await view.notice(reason)

    async def _record_answer(
        self, conversation_id: int, model: ChatModel, outcome: _Outcome, message_ids: list[int]
    ) -> None:
        async with self._uow() as uow:
            await uow.messages.add(
                conversation_id,
                Role.ASSISTANT,
                [{"type": "text", "text": outcome.text}] if outcome.text else [],
                status=outcome.status,
                model=model.spec.id,
                input_tokens=outcome.usage.input_tokens if outcome.usage else None,
                output_tokens=outcome.usage.output_tokens if outcome.usage else None,
                telegram_message_ids=message_ids,
                error=outcome.error.kind.value if outcome.error else None,
            )
            await uow.commit()
