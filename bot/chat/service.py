"""ChatService: one conversational turn, from the user's message to the stored answer.

Each database step is its own short unit of work: nothing holds a transaction open while a
model streams, so one slow answer never blocks other chats' writes. The answer's row is
written before streaming starts (so a crash leaves it marked interrupted, and buttons under
the answer can refer to it) and completed at the end with the provider-reported usage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from bot.characters.catalog import CharacterCatalog
from bot.characters.files import Character
from bot.characters.service import with_character
from bot.chat.attachments import AttachmentLoader
from bot.chat.context import ContextTooLongError
from bot.chat.delivery import deliver
from bot.chat.generations import Generation, Generations
from bot.chat.inputs import UserInput
from bot.chat.limits import TurnLimits
from bot.chat.ports import AnswerView, AnswerViews, Translate
from bot.chat.records import TurnContext, document_note, record_attachments
from bot.chat.tooling import AnswerToolContext, TurnTools, offered_tools, request_with_tools
from bot.chat.transcript import answer_content
from bot.chat.turn import Outcome, stream_answer
from bot.llm.base import ChatModel
from bot.llm.spec import ModelSpec
from bot.llm.types import LLMError, LLMErrorKind
from bot.payments.quotas import QuotaExceededError, Reservation
from bot.routing.service import RoutingService, TurnPlan
from bot.storage.blobs import BlobStore
from bot.storage.dto import Chat, MessageStatus, Role, RouteDecisionRecord
from bot.storage.uow import UnitOfWork, UnitOfWorkFactory
from bot.tools.executor import Toolbox

logger = logging.getLogger(__name__)


class NeedsVisionError(Exception):
    """A message with images for a chat whose (fixed) model cannot see them."""

    def __init__(self, model: ModelSpec, vision_models: list[ModelSpec]) -> None:
        super().__init__(f"{model.id} has no vision")
        self.model = model
        self.vision_models = vision_models


class ChatService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        routing: RoutingService,
        generations: Generations,
        *,
        blobs: BlobStore,
        attachments: AttachmentLoader,
        default_system_prompt: str,
        max_history_messages: int,
        limits: TurnLimits,
        characters: CharacterCatalog | None = None,
        toolbox: Toolbox | None = None,
    ) -> None:
        self._uow = uow
        self._toolbox = toolbox
        self._limits = limits
        self._blobs = blobs
        self._attachments = attachments
        self._characters = characters
        self._routing = routing
        self._generations = generations
        self._default_system_prompt = default_system_prompt
        self._max_history = max_history_messages

    async def reply(self, chat: Chat, turn: UserInput, views: AnswerViews, t: Translate) -> None:
        """Raises NeedsVisionError (before anything is shown or stored) for images that no
        model of this chat can see."""
        needs = frozenset({"vision"}) if turn.needs_vision else frozenset[str]()
        if needs:
            self.ensure_can_see(chat)
        chat, character = self._as_seen(chat)
        async with self._preparing(chat.id, views, t) as (generation, view):
            if not needs and self._routing.is_auto(chat) and await self._sees_pictures(chat):
                needs = frozenset({"vision"})  # a follow-up about a photo or a scan
            plan = await self._routing.plan(chat, turn.text, needs, user_id=turn.user_id)
            try:
                plan, reservation = await self._limits.reserve(turn.user_id, plan, needs)
            except QuotaExceededError as exc:  # nothing is stored: the user may ask again
                await self._refuse(exc, generation, view, t)
                return
            try:
                await self._store_blobs(turn)
                context = await self._record_user_message(chat, turn, plan)
            except BaseException:  # nothing was answered: the reservation does not count
                await self._limits.release(reservation)
                raise
        system = self._system_prompt(chat, character, t)
        tools = self._tools(chat, plan, character, view, t, turn.user_id)
        await self._answer(chat, plan, system, context, (generation, view, tools), t, reservation)

    async def retry(
        self, chat: Chat, views: AnswerViews, t: Translate, user_id: int | None = None
    ) -> bool:
        """Answer the last question again, on the route it was given; the previous answer is
        kept, marked superseded. Raises NeedsVisionError for a question about a picture that
        this chat's model cannot see."""
        async with self._uow(read_only=True) as uow:
            current = await uow.chats.get(chat.id)
            conversation_id = current.current_conversation_id if current else None
            if conversation_id is None:
                return False
            question, answers = await uow.messages.last_exchange(conversation_id)
            route = await uow.decisions.route_of(question.id) if question else None
        if question is None:
            return False
        needs = frozenset({"vision"}) if question.has_images else frozenset[str]()
        if needs:
            self.ensure_can_see(chat)
        chat, character = self._as_seen(chat)
        async with self._preparing(chat.id, views, t) as (generation, view):
            plan = await self._routing.plan(chat, question.text, needs, route=route)
            try:
                plan, reservation = await self._limits.reserve(user_id, plan, needs)
            except QuotaExceededError as exc:  # the previous answer stays as it was
                await self._refuse(exc, generation, view, t)
                return True
            async with self._uow() as uow:
                await uow.messages.set_status([a.id for a in answers], MessageStatus.SUPERSEDED)
                history = await uow.messages.history(conversation_id, limit=self._max_history)
                documents = await uow.documents.pinned(conversation_id)
                answer_id = await self._open_answer(uow, conversation_id, plan.model)
                await uow.commit()
        system = self._system_prompt(chat, character, t)
        context = TurnContext(history, documents, answer_id, None)
        tools = self._tools(chat, plan, character, view, t, user_id)
        await self._answer(chat, plan, system, context, (generation, view, tools), t, reservation)
        return True

    async def _refuse(
        self, exc: QuotaExceededError, generation: Generation, view: AnswerView, t: Translate
    ) -> None:
        """The limit is reached: say when it resets and offer the plans."""
        self._generations.end(generation)
        text, buttons = self._limits.notice(exc, t)
        try:
            await view.notice(text, buttons)
        finally:
            await view.close()

    async def _sees_pictures(self, chat: Chat) -> bool:
        """Whether the conversation so far shows the model pictures (recent photos, scans)."""
        async with self._uow(read_only=True) as uow:
            current = await uow.chats.get(chat.id)
            conversation_id = current.current_conversation_id if current else None
            if conversation_id is None:
                return False
            recent = await uow.messages.history(
                conversation_id, limit=3 * self._attachments.image_turns
            )
            documents = await uow.documents.pinned(conversation_id)
        return self._attachments.shows_pictures(recent, documents)

    def _as_seen(self, chat: Chat) -> tuple[Chat, Character | None]:
        character = self._characters.get(chat.character_id) if self._characters else None
        return with_character(chat, character), character

    def _tools(
        self,
        chat: Chat,
        plan: TurnPlan,
        character: Character | None,
        view: AnswerView,
        t: Translate,
        user_id: int | None,
    ) -> TurnTools | None:
        """The tools this answer may call: none when the chat turned them off or the model
        cannot call tools; the route and the character may narrow them."""
        tools = offered_tools(
            self._toolbox,
            enabled=chat.tools_enabled,
            model_can=plan.model.spec.capabilities.tools,
            restrictions=(plan.tools, character.tools if character else None),
            denials=(plan.deny_tools, character.deny_tools if character else frozenset()),
        )
        if not tools or self._toolbox is None:
            return None
        context = AnswerToolContext(chat.id, user_id, view, self._limits)
        return TurnTools(tools, context, self._toolbox.limits, t)

    def _system_prompt(self, chat: Chat, character: Character | None, t: Translate) -> str:
        """The character's prompt, else the chat's own, else the operator's default."""
        if character is not None:
            return character.prompt_for(t.locale)
        return chat.system_prompt or self._default_system_prompt

    @contextlib.asynccontextmanager
    async def _preparing(
        self, chat_id: int, views: AnswerViews, t: Translate
    ) -> AsyncIterator[tuple[Generation, AnswerView]]:
        """The answer's generation and its view, shown at once (routing may wait for the
        judge); both are closed here only when preparing the answer fails, and the user is
        told (a group's "Thinking…" placeholder must not stay behind)."""
        generation = self._generations.begin(chat_id)
        view = views(generation.id)
        try:
            await view.start()
            yield generation, view
        except Exception:
            self._generations.end(generation)
            with contextlib.suppress(Exception):
                await view.notice(t("error-internal"))
            await view.close()
            raise
        except BaseException:  # cancelled (shutdown): nothing more to say
            self._generations.end(generation)
            await view.close()
            raise

    def ensure_can_see(self, chat: Chat) -> None:
        """On `auto` any model that can see will do; a fixed model must see itself."""
        seeing = self._routing.models_with({"vision"})
        model = self._routing.fixed_model(chat).spec
        if not seeing or (not self._routing.is_auto(chat) and not model.capabilities.vision):
            raise NeedsVisionError(model, seeing)

    def stop(self, chat_id: int, generation_id: int | None = None) -> bool:
        return self._generations.stop(chat_id, generation_id)

    async def start_new_conversation(self, chat_id: int) -> None:
        async with self._uow() as uow:
            await uow.chats.set_conversation(chat_id, None)
            await uow.commit()

    async def _answer(
        self,
        chat: Chat,
        plan: TurnPlan,
        system: str,
        context: TurnContext,
        answering: tuple[Generation, AnswerView, TurnTools | None],
        t: Translate,
        reservation: Reservation | None,
    ) -> None:
        """Stream and deliver the answer; the view has started, the generation is this
        answer's, the tools (if any) are what the model may call."""
        generation, view, tools = answering
        model, answer_id = plan.model, context.answer_id
        if plan.instructions:  # the character's or chat's own prompt stays first and primary
            system = f"{system}\n\n{plan.instructions}"
        try:
            loaded = await self._attachments.load(
                model.spec, context.history, context.documents, context.question_id
            )
            request, tools = request_with_tools(chat, model.spec, system, context, loaded, tools)
        except Exception as exc:  # nothing was asked yet: say why and close the answer
            if isinstance(exc, ContextTooLongError):
                notice = t("error-too-long", limit=exc.limit)
            else:
                logger.exception("chat %s: the request could not be assembled", chat.id)
                notice = t("error-internal")
            self._generations.end(generation)
            ids = await view.notice(notice)
            await view.close()
            failed = Outcome(error=LLMError(LLMErrorKind.REJECTED, type(exc).__name__))
            await self._close_answer(answer_id, model, failed, ids, reservation)
            return
        outcome = Outcome()
        message_ids: list[int] = []
        try:
            outcome = await stream_answer(model, request, view, generation, tools)
            outcome.pictures = len(tools.context.photo_ids) if tools else 0
            notes = [document_note(note, t) for note in loaded.notes]
            message_ids = await deliver(chat, plan, view, outcome, answer_id, t, notes)
        except asyncio.CancelledError:
            outcome.error = outcome.error or LLMError(LLMErrorKind.INTERRUPTED, "cancelled")
            raise
        finally:
            if tools is not None:  # pictures sent during the answer belong to it
                message_ids = [*tools.context.photo_ids, *message_ids]
            self._generations.end(generation)
            await view.close()
            await asyncio.shield(
                self._close_answer(answer_id, model, outcome, message_ids, reservation)
            )

    async def _store_blobs(self, turn: UserInput) -> None:
        """Images and files on disk before their rows are written (a blob without a row is
        harmless and reused; a row without its blob would not be)."""
        for image in turn.all_images:
            await self._blobs.put(image.data, image.sha256)
        for document in turn.documents:
            await self._blobs.put(document.data, document.sha256)

    async def _record_user_message(
        self, chat: Chat, turn: UserInput, plan: TurnPlan
    ) -> TurnContext:
        """The user's message with its images and documents, its update ids and the
        answer's row: one transaction."""
        async with self._uow() as uow:
            current = await uow.chats.get(chat.id)
            conversation_id = current.current_conversation_id if current else None
            if conversation_id is None:
                conversation_id = await uow.conversations.create(chat.id)
                await uow.chats.set_conversation(chat.id, conversation_id)
            question = await uow.messages.add(
                conversation_id,
                Role.USER,
                [{"type": "text", "text": plan.text}, *turn.image_notes(), *_document_notes(turn)],
                user_id=turn.user_id,
                telegram_message_ids=[turn.message_id] if turn.message_id else [],
            )
            await record_attachments(uow, conversation_id, question.id, turn)
            for update_id in turn.update_ids:  # every part of a merged paste, atomically
                await uow.updates.mark(update_id)
            if plan.decision is not None:
                decision = plan.decision
                await uow.decisions.add(
                    RouteDecisionRecord(
                        message_id=question.id,
                        chat_id=chat.id,
                        route=decision.route,
                        stage=decision.stage.value,
                        confidence=decision.confidence,
                        latency_ms=decision.seconds * 1000,
                        model=plan.model.spec.id,
                    )
                )
            answer_id = await self._open_answer(uow, conversation_id, plan.model)
            await uow.commit()
        # Read after the commit, outside the write gate (the chat's lock keeps it consistent).
        async with self._uow(read_only=True) as uow:
            history = await uow.messages.history(conversation_id, limit=self._max_history)
            documents = await uow.documents.pinned(conversation_id)
        history = [m for m in history if m.id != answer_id]
        return TurnContext(history, documents, answer_id, question.id)

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
        self,
        answer_id: int,
        model: ChatModel,
        outcome: Outcome,
        message_ids: list[int],
        reservation: Reservation | None,
    ) -> None:
        error = (
            "stopped" if outcome.stopped else (outcome.error.kind.value if outcome.error else None)
        )
        async with self._uow() as uow:
            await uow.messages.update_answer(
                answer_id,
                content=answer_content(outcome.parts),
                status=outcome.status,
                model=model.spec.id,
                input_tokens=outcome.usage.input_tokens if outcome.usage else None,
                output_tokens=outcome.usage.output_tokens if outcome.usage else None,
                telegram_message_ids=message_ids,
                error=error,
            )
            await self._limits.settle(uow, reservation, outcome)
            await uow.commit()


def _document_notes(turn: UserInput) -> list[dict[str, object]]:
    return [{"type": "document", "name": d.file_name, "kind": d.kind} for d in turn.documents]
