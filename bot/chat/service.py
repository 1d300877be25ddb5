"""ChatService: one conversational turn, from the user's message to the stored answer.

Each database step is its own short unit of work: nothing holds a transaction open while a
model streams, so one slow answer never blocks other chats' writes. The answer's row is
written before streaming starts (so a crash leaves it marked interrupted, and buttons under
the answer can refer to it) and completed at the end with the provider-reported usage.
"""

from __future__ import annotations

import asyncio
import logging

from bot.chat.context import ContextTooLongError, Sampling, build_request
from bot.chat.generations import Generations
from bot.chat.inputs import UserInput
from bot.chat.ports import AnswerView, AnswerViews, Translate
from bot.chat.turn import ERROR_KEYS, Outcome, stream_answer
from bot.llm.base import ChatModel
from bot.llm.registry import ModelRegistry
from bot.llm.types import FinishReason, LLMError, LLMErrorKind
from bot.storage.dto import Chat, MessageStatus, Role, StoredMessage
from bot.storage.uow import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)


class ChatService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        models: ModelRegistry,
        generations: Generations,
        *,
        default_model: str,
        default_system_prompt: str,
        max_history_messages: int,
    ) -> None:
        self._uow = uow
        self._models = models
        self._generations = generations
        self._default_model = default_model
        self._default_system_prompt = default_system_prompt
        self._max_history = max_history_messages

    def model_for(self, chat: Chat) -> ChatModel:
        """The chat's model, or the default one if it is unset or no longer configured."""
        return self._models.resolve(chat.model, self._default_model)

    async def reply(self, chat: Chat, turn: UserInput, views: AnswerViews, t: Translate) -> None:
        model = self.model_for(chat)
        history, answer_id = await self._record_user_message(chat, turn, model)
        await self._answer(chat, model, history, answer_id, views, t)

    async def retry(self, chat: Chat, views: AnswerViews, t: Translate) -> bool:
        """Answer the last question again; the previous answer is kept, marked superseded."""
        async with self._uow() as uow:
            current = await uow.chats.get(chat.id)
            conversation_id = current.current_conversation_id if current else None
            if conversation_id is None:
                return False
            question, answers = await uow.messages.last_exchange(conversation_id)
            if question is None:
                return False
            await uow.messages.set_status([a.id for a in answers], MessageStatus.SUPERSEDED)
            history = await uow.messages.history(conversation_id, limit=self._max_history)
            model = self.model_for(chat)
            answer_id = await self._open_answer(uow, conversation_id, model)
            await uow.commit()
        await self._answer(chat, model, history, answer_id, views, t)
        return True

    def stop(self, chat_id: int, generation_id: int | None = None) -> bool:
        return self._generations.stop(chat_id, generation_id)

    async def start_new_conversation(self, chat_id: int) -> None:
        async with self._uow() as uow:
            await uow.chats.set_conversation(chat_id, None)
            await uow.commit()

    async def _answer(
        self,
        chat: Chat,
        model: ChatModel,
        history: list[StoredMessage],
        answer_id: int,
        views: AnswerViews,
        t: Translate,
    ) -> None:
        generation = self._generations.begin(chat.id)
        view = views(generation.id)
        try:
            request = build_request(
                model.spec,
                chat.system_prompt or self._default_system_prompt,
                history,
                Sampling(chat.temperature, chat.top_p, chat.max_output_tokens),
            )
        except ContextTooLongError as exc:
            self._generations.end(generation)
            ids = await view.notice(t("error-too-long", limit=exc.limit))
            failed = Outcome(error=LLMError(LLMErrorKind.REJECTED, "context too long"))
            await self._close_answer(answer_id, model, failed, ids)
            return
        outcome = Outcome()
        message_ids: list[int] = []
        try:
            await view.start()
            outcome = await stream_answer(model, request, view, generation)
            message_ids = await self._deliver(chat, model, view, outcome, answer_id, t)
        except asyncio.CancelledError:
            outcome.error = outcome.error or LLMError(LLMErrorKind.INTERRUPTED, "cancelled")
            raise
        finally:
            self._generations.end(generation)
            await view.close()
            await asyncio.shield(self._close_answer(answer_id, model, outcome, message_ids))

    async def _deliver(
        self,
        chat: Chat,
        model: ChatModel,
        view: AnswerView,
        outcome: Outcome,
        answer_id: int,
        t: Translate,
    ) -> list[int]:
        text = outcome.text
        if outcome.stopped:
            if not text:
                return await view.notice(t("answer-stopped"))
            return await view.finish(f"{text}\n\n{t('answer-stopped')}", answer_id)
        if outcome.error is not None:
            reason = t(ERROR_KEYS[outcome.error.kind])
            if not text:
                return await view.notice(reason)
            return await view.finish(f"{text}\n\n{t('answer-interrupted', reason=reason)}")
        if not text.strip():
            return await view.notice(t("answer-empty"))
        if outcome.finish is FinishReason.LENGTH:
            text = f"{text}\n\n{t('answer-truncated')}"
        if chat.show_footer:
            text = f"{text}\n\n_{t('answer-footer', model=model.spec.display_name)}_"
        return await view.finish(text, answer_id)

    async def _record_user_message(
        self, chat: Chat, turn: UserInput, model: ChatModel
    ) -> tuple[list[StoredMessage], int]:
        """The user's message, its update ids and the answer's row: one transaction."""
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
            answer_id = await self._open_answer(uow, conversation_id, model)
            await uow.commit()
        # Read after the commit, outside the write gate (the chat's lock keeps it consistent).
        async with self._uow(read_only=True) as uow:
            history = await uow.messages.history(conversation_id, limit=self._max_history)
        return [m for m in history if m.id != answer_id], answer_id

    @staticmethod
    async def _open_answer(uow: UnitOfWork, conversation_id: int, model: ChatModel) -> int:
        """The answer's row, written before streaming: interrupted until completed."""
        row = await uow.messages.add(
            conversation_id,
            Role.ASSISTANT,
            [],
            status=MessageStatus.INTERRUPTED,
            model=model.spec.id,
        )
        return row.id

    async def _close_answer(
        self, answer_id: int, model: ChatModel, outcome: Outcome, message_ids: list[int]
    ) -> None:
        error = (
            "stopped" if outcome.stopped else (outcome.error.kind.value if outcome.error else None)
        )
        async with self._uow() as uow:
            await uow.messages.update_answer(
                answer_id,
                content=[{"type": "text", "text": outcome.text}] if outcome.text else [],
                status=outcome.status,
                model=model.spec.id,
                input_tokens=outcome.usage.input_tokens if outcome.usage else None,
                output_tokens=outcome.usage.output_tokens if outcome.usage else None,
                telegram_message_ids=message_ids,
                error=error,
            )
            await uow.commit()
