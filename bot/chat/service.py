"""ChatService: one conversational turn, from the user's message to the stored answer.

Each database step is its own short unit of work: nothing holds a transaction open while a
model streams, so one slow answer never blocks other chats' writes. The question, the
answer's row and the turn (see `bot.chat.outbox`) are written in one transaction before
streaming starts, so a crash leaves a turn that the next start finishes; the answer itself is
delivered by `Answerer`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator

from bot.characters.catalog import CharacterCatalog
from bot.characters.files import Character
from bot.characters.service import with_character
from bot.chat.answering import Answerer, AnswerJob
from bot.chat.attachments import AttachmentLoader
from bot.chat.generations import Generation, Generations
from bot.chat.inputs import UserInput
from bot.chat.limits import TurnLimits
from bot.chat.outbox import TurnOutbox
from bot.chat.ports import AnswerView, AnswerViews, Translate
from bot.chat.records import TurnContext, record_attachments
from bot.chat.tooling import AnswerToolContext, TurnTools, offered_tools
from bot.llm.spec import ModelSpec
from bot.payments.quotas import QuotaExceededError, Reservation
from bot.routing.router import Decision
from bot.routing.service import RoutingService, TurnPlan
from bot.storage.blobs import BlobStore
from bot.storage.dto import Chat, MessageStatus, Role, RouteDecisionRecord, TurnRecord
from bot.storage.uow import UnitOfWork, UnitOfWorkFactory
from bot.tools.executor import Toolbox

logger = logging.getLogger(__name__)


class NeedsVisionError(Exception):
    """A message with images for a chat whose (fixed) model cannot see them."""

    def __init__(self, model: ModelSpec, vision_models: list[ModelSpec]) -> None:
        super().__init__(f"{model.id} has no vision")
        self.model = model
        self.vision_models = vision_models


class ResumeError(Exception):
    """A stored turn can no longer be answered (its chat or question is gone)."""


class Opened:
    """A turn being opened: whose answer, and the messages its view already shows."""

    def __init__(
        self,
        answer_id: int,
        chat: Chat,
        user_id: int | None,
        reply_to: int | None,
        view: AnswerView,
        t: Translate,
    ) -> None:
        self.answer_id = answer_id
        self.chat = chat
        self.user_id = user_id
        self.reply_to = reply_to
        self.t = t
        self.visible = view.visible  # a group's placeholder, if it is there already


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    """Where a turn's question and answer are, as the answer needs them."""

    context: TurnContext
    reservation: Reservation | None


class ChatService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        routing: RoutingService,
        generations: Generations,
        answerer: Answerer,
        outbox: TurnOutbox,
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
        self._answerer = answerer
        self._outbox = outbox
        self._default_system_prompt = default_system_prompt
        self._max_history = max_history_messages

    async def reply(self, chat: Chat, turn: UserInput, views: AnswerViews, t: Translate) -> None:
        """Answer `turn`; when this returns, its updates are recorded as handled. Raises
        NeedsVisionError (before anything is shown or stored) for images that no model of this
        chat can see."""
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
                await self.dismiss(turn)
                return
            try:
                await self._store_blobs(turn)
                context = await self._record_user_message(chat, turn, plan, reservation, view, t)
            except BaseException:  # nothing was answered: the reservation does not count
                await self._limits.release(reservation)
                raise
        stored = Stored(context, reservation)
        await self._answer(chat, character, plan, stored, (generation, view), t, turn.user_id)

    async def dismiss(self, turn: UserInput) -> None:
        """The turn ends without a stored question (refused, unreadable): its updates are
        handled all the same (a restarted bot must not take them up again)."""
        if turn.updates:
            async with self._uow() as uow:
                await uow.updates.mark(turn.updates)
                await uow.commit()

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
                answer_id = await self._open_answer(uow, conversation_id, plan, chat.character_id)
                asked = question.telegram_message_ids[0] if question.telegram_message_ids else None
                opened = Opened(answer_id, chat, user_id, asked, view, t)
                await self._open_turn(uow, opened, question.id, reservation)
                await uow.commit()
            await view.record_visible(self._outbox.journal(answer_id), opened.visible)
        stored = Stored(TurnContext(history, documents, answer_id, None), reservation)
        await self._answer(chat, character, plan, stored, (generation, view), t, user_id)
        return True

    async def resume(self, turn: TurnRecord, views: AnswerViews, t: Translate) -> None:
        """Answer a turn that a stopped or crashed process left unfinished, from the stored
        conversation, on its route and model; its quota reservation is settled, not taken
        again. Raises ResumeError when its chat or question is gone."""
        async with self._uow() as uow:
            chat = await uow.chats.get(turn.chat_id)
            question = await uow.messages.get(turn.question_id) if turn.question_id else None
            answer = await uow.messages.get(turn.answer_id)
            if chat is None or question is None or answer is None:
                raise ResumeError(f"turn {turn.answer_id}: its chat or question is gone")
            route = await uow.decisions.route_of(question.id)
            history = await uow.messages.history_until(
                question.conversation_id, question.id, limit=self._max_history
            )
            documents = await uow.documents.pinned(question.conversation_id)
            await uow.turns.count_resume(turn.answer_id)
            await uow.commit()
        needs = frozenset({"vision"}) if question.has_images else frozenset[str]()
        chat, character = self._as_seen(chat)
        async with self._preparing(chat.id, views, t) as (generation, view):
            plan = await self._routing.plan(chat, question.text, needs, route=route)
            model = self._routing.model(answer.model) if answer.model else None
            if model is not None:  # the model the answer was started on
                plan = dataclasses.replace(plan, model=model)
            await view.record_visible(self._outbox.journal(turn.answer_id), turn.visible)
        reservation = Reservation(**turn.reservation) if turn.reservation else None
        stored = Stored(TurnContext(history, documents, turn.answer_id, question.id), reservation)
        await self._answer(
            chat,
            character,
            plan,
            stored,
            (generation, view),
            t,
            turn.user_id,
            notes=(t("answer-resumed"),),
        )

    async def _refuse(
        self, exc: QuotaExceededError, generation: Generation, view: AnswerView, t: Translate
    ) -> None:
        """The limit is reached: say when it resets and offer the plans."""
        self._generations.end(generation)
        text, buttons = self._limits.notice(exc, t)
        try:
            await view.settle()
            for part in view.notice_parts(text, buttons):
                await view.send(part)
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
                await view.settle()
                for part in view.notice_parts(t("error-internal")):
                    await view.send(part)
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
        character: Character | None,
        plan: TurnPlan,
        stored: Stored,
        answering: tuple[Generation, AnswerView],
        t: Translate,
        user_id: int | None,
        *,
        notes: tuple[str, ...] = (),
    ) -> None:
        generation, view = answering
        await self._answerer.run(
            AnswerJob(
                chat=chat,
                plan=plan,
                system=self._system_prompt(chat, character, t),
                context=stored.context,
                generation=generation,
                view=view,
                tools=self._tools(chat, plan, character, view, t, user_id),
                t=t,
                reservation=stored.reservation,
                notes=notes,
            )
        )

    async def _store_blobs(self, turn: UserInput) -> None:
        """Images and files on disk before their rows are written (a blob without a row is
        harmless and reused; a row without its blob would not be)."""
        for image in turn.all_images:
            await self._blobs.put(image.data, image.sha256)
        for document in turn.documents:
            await self._blobs.put(document.data, document.sha256)

    async def _record_user_message(
        self,
        chat: Chat,
        turn: UserInput,
        plan: TurnPlan,
        reservation: Reservation | None,
        view: AnswerView,
        t: Translate,
    ) -> TurnContext:
        """The user's message with its images and documents, its updates, the answer's row
        and the turn: one transaction."""
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
                pictures=len(turn.all_images),
            )
            await record_attachments(uow, conversation_id, question.id, turn)
            await uow.updates.mark(turn.updates)  # every part of a merged paste, atomically
            if plan.decision is not None:
                record = _decision_record(question.id, chat.id, plan.decision, plan.model.spec.id)
                await uow.decisions.add(record)
            answer_id = await self._open_answer(uow, conversation_id, plan, chat.character_id)
            opened = Opened(answer_id, chat, turn.user_id, turn.message_id, view, t)
            await self._open_turn(uow, opened, question.id, reservation)
            await uow.commit()
        await view.record_visible(self._outbox.journal(answer_id), opened.visible)
        # Read after the commit, outside the write gate (the chat's lock keeps it consistent).
        async with self._uow(read_only=True) as uow:
            history = await uow.messages.history(conversation_id, limit=self._max_history)
            documents = await uow.documents.pinned(conversation_id)
        history = [m for m in history if m.id != answer_id]
        return TurnContext(history, documents, answer_id, question.id)

    @staticmethod
    async def _open_turn(
        uow: UnitOfWork, opened: Opened, question_id: int, reservation: Reservation | None
    ) -> None:
        """The turn that lets a restarted bot finish this answer."""
        await uow.turns.open(
            opened.answer_id,
            chat_id=opened.chat.id,
            question_id=question_id,
            user_id=opened.user_id,
            reply_to=opened.reply_to,
            private=opened.chat.is_private,
            locale=opened.t.locale,
            reservation=dataclasses.asdict(reservation) if reservation is not None else None,
            visible=opened.visible,
        )

    @staticmethod
    async def _open_answer(
        uow: UnitOfWork, conversation_id: int, plan: TurnPlan, character_id: str | None
    ) -> int:
        """The answer's row, written before streaming: interrupted until completed."""
        row = await uow.messages.add(
            conversation_id,
            Role.ASSISTANT,
            [],
            status=MessageStatus.INTERRUPTED,
            model=plan.model.spec.id,
            character_id=character_id,
        )
        return row.id


def _decision_record(
    message_id: int, chat_id: int, decision: Decision, model_id: str
) -> RouteDecisionRecord:
    return RouteDecisionRecord(
        message_id=message_id,
        chat_id=chat_id,
        route=decision.route,
        stage=decision.stage.value,
        confidence=decision.confidence,
        latency_ms=decision.seconds * 1000,
        model=model_id,
    )


def _document_notes(turn: UserInput) -> list[dict[str, object]]:
    return [{"type": "document", "name": d.file_name, "kind": d.kind} for d in turn.documents]
