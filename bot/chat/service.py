"""ChatService: one conversational turn, from the user's message to the stored answer.

A turn reads the conversation once (beside routing) and writes in one transaction everything
it must keep before the model is asked: the quota reservation, the question, its update ids,
the answer's row and the turn (see `bot.chat.records` and `bot.chat.outbox`), so a crash
leaves a turn that the next start finishes. Nothing holds a transaction open while a model
streams. The answer itself is produced and delivered by `Answerer`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

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
from bot.chat.records import (
    Opening,
    Past,
    Reserve,
    TurnContext,
    last_exchange,
    open_turn,
    read_past,
    reopen_turn,
    resumable,
)
from bot.chat.tooling import AnswerToolContext, TurnTools, offered_tools
from bot.llm.spec import ModelSpec
from bot.payments.quotas import QuotaExceededError, Reservation
from bot.routing.service import RoutingService, TurnPlan
from bot.storage.blobs import BlobStore
from bot.storage.database import Database
from bot.storage.dto import Chat, TurnRecord
from bot.storage.uow import UnitOfWork
from bot.tools.executor import Toolbox

logger = logging.getLogger(__name__)


class NeedsVisionError(Exception):
    """A message with images for a chat whose (fixed) model cannot see them."""

    def __init__(self, model: ModelSpec, vision_models: list[ModelSpec]) -> None:
        super().__init__(f"{model.id} has no vision")
        self.model = model
        self.vision_models = vision_models


StopAnswer = Callable[[int, int | None], Awaitable[bool]]


class ResumeError(Exception):
    """A stored turn can no longer be answered (its chat or question is gone)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    """Where a turn's question and answer are, as the answer needs them."""

    context: TurnContext
    reservation: Reservation | None


class ChatService:
    def __init__(
        self,
        db: Database,
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
        stop_answer: StopAnswer | None = None,
    ) -> None:
        """`stop_answer`: ends a chat's answer in whichever process generates it (default:
        only this process's)."""
        self._db = db
        self._stop_answer = stop_answer
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
            past = await self._db.read(lambda uow: read_past(uow, chat.id, self._max_history))
            if not needs and self._routing.is_auto(chat) and self._sees_pictures(past):
                needs = frozenset({"vision"})  # a follow-up about a photo or a scan
            plan = await self._routing.plan(chat, turn.text, needs, user_id=turn.user_id)
            await self._store_blobs(turn)
            opening = Opening(chat, turn.user_id, turn.message_id, t.locale, view.visible)
            reserve = self._reserve(turn.user_id, needs)
            try:
                opened = await self._db.write(
                    lambda uow: open_turn(uow, opening, turn, plan, reserve)
                )
            except QuotaExceededError as exc:  # nothing is stored: the user may ask again
                await self._refuse(exc, generation, view, t)
                await self.dismiss(turn)
                return
            await view.record_visible(self._outbox.journal(opened.answer_id), opening.visible)
        history = [*past.history, opened.question] if opened.question else past.history
        context = TurnContext(
            history[-self._max_history :],
            past.documents if opened.documents is None else opened.documents,
            opened.answer_id,
            opened.question.id if opened.question else None,
        )
        stored = Stored(context, opened.reservation)
        await self._answer(
            chat, character, opened.plan, stored, (generation, view), t, turn.user_id
        )

    async def dismiss(self, turn: UserInput) -> None:
        """The turn ends without a stored question (refused, unreadable): its updates are
        handled all the same (a restarted bot must not take them up again)."""
        if turn.updates:
            await self._db.write(lambda uow: uow.updates.mark(turn.updates))

    async def retry(
        self, chat: Chat, views: AnswerViews, t: Translate, user_id: int | None = None
    ) -> bool:
        """Answer the last question again, on the route it was given; the previous answer is
        kept, marked superseded. Raises NeedsVisionError for a question about a picture that
        this chat's model cannot see."""
        found = await self._db.read(lambda uow: last_exchange(uow, chat.id, self._max_history))
        if found is None:
            return False
        past, question, answers = found.past, found.question, found.answers
        needs = frozenset({"vision"}) if question.has_images else frozenset[str]()
        if needs:
            self.ensure_can_see(chat)
        chat, character = self._as_seen(chat)
        async with self._preparing(chat.id, views, t) as (generation, view):
            plan = await self._routing.plan(chat, question.text, needs, route=found.route)
            asked = question.telegram_message_ids[0] if question.telegram_message_ids else None
            opening = Opening(chat, user_id, asked, t.locale, view.visible)
            reserve = self._reserve(user_id, needs)
            conversation_id = question.conversation_id
            try:
                opened = await self._db.write(
                    lambda uow: reopen_turn(
                        uow, opening, conversation_id, question, answers, plan, reserve
                    )
                )
            except QuotaExceededError as exc:  # the previous answer stays as it was
                await self._refuse(exc, generation, view, t)
                return True
            await view.record_visible(self._outbox.journal(opened.answer_id), opening.visible)
        history = [m for m in past.history if m.id not in answers]
        context = TurnContext(history, past.documents, opened.answer_id, None)
        stored = Stored(context, opened.reservation)
        await self._answer(chat, character, opened.plan, stored, (generation, view), t, user_id)
        return True

    async def resume(self, turn: TurnRecord, views: AnswerViews, t: Translate) -> None:
        """Answer a turn that a stopped or crashed process left unfinished, from the stored
        conversation, on its route and model; its quota reservation is settled, not taken
        again. Raises ResumeError when its chat or question is gone."""
        found = await self._db.write(lambda uow: resumable(uow, turn, self._max_history))
        if found is None:
            raise ResumeError(f"turn {turn.answer_id}: its chat or question is gone")
        question = found.question
        needs = frozenset({"vision"}) if question.has_images else frozenset[str]()
        chat, character = self._as_seen(found.chat)
        async with self._preparing(chat.id, views, t) as (generation, view):
            plan = await self._routing.plan(chat, question.text, needs, route=found.route)
            model = self._routing.model(found.model) if found.model else None
            if model is not None:  # the model the answer was started on
                plan = dataclasses.replace(plan, model=model)
            await view.record_visible(self._outbox.journal(turn.answer_id), turn.visible)
        reservation = Reservation(**turn.reservation) if turn.reservation else None
        context = TurnContext(found.history, found.documents, turn.answer_id, question.id)
        stored = Stored(context, reservation)
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

    def _sees_pictures(self, past: Past) -> bool:
        """Whether the conversation so far shows the model pictures (recent photos, scans)."""
        recent = past.history[-3 * self._attachments.image_turns :]
        return self._attachments.shows_pictures(recent, past.documents)

    def _reserve(self, user_id: int | None, needs: frozenset[str]) -> Reserve:
        def reserve(uow: UnitOfWork, plan: TurnPlan) -> tuple[TurnPlan, Reservation | None]:
            return self._limits.reserve_in(uow, user_id, plan, needs)

        return reserve

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

    async def stop(self, chat_id: int, generation_id: int | None = None) -> bool:
        if self._stop_answer is None:
            return self._generations.stop(chat_id, generation_id)
        return await self._stop_answer(chat_id, generation_id)

    async def start_new_conversation(self, chat_id: int) -> None:
        await self._db.write(lambda uow: uow.chats.set_conversation(chat_id, None))

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
                user_id=user_id,
            )
        )

    async def _store_blobs(self, turn: UserInput) -> None:
        """Images and files on disk before their rows are written (a blob without a row is
        harmless and reused; a row without its blob would not be)."""
        for image in turn.all_images:
            await self._blobs.put(image.data, image.sha256)
        for document in turn.documents:
            await self._blobs.put(document.data, document.sha256)
