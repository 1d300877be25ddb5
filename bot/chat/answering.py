"""One answer, from its assembled request to its delivered messages, durable at each step.

The answer's row and its turn exist before this starts (written with the question). The
final text and its messages (the outbox) are committed together with the answer's content,
usage and quota before the first message is sent; each delivered message is recorded. A
shutdown that cuts the answer short tells the user and leaves the turn for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from bot.chat.attachments import AttachmentLoader, LoadedAttachments
from bot.chat.context import ContextTooLongError
from bot.chat.delivery import Final, final_message
from bot.chat.generations import Generation, Generations
from bot.chat.lifecycle import Lifecycle
from bot.chat.limits import TurnLimits
from bot.chat.outbox import TurnOutbox
from bot.chat.ports import AnswerView, ContentFilter, DeliveryError, Part, Screened, Translate
from bot.chat.records import TurnContext, document_note
from bot.chat.tooling import TurnTools, request_with_tools
from bot.chat.transcript import answer_content
from bot.chat.turn import Outcome, stream_answer
from bot.llm.types import ChatRequest, LLMError, LLMErrorKind
from bot.logs import bind as bind_log
from bot.observability.metrics import answer_finished
from bot.payments.quotas import Reservation
from bot.routing.service import TurnPlan
from bot.storage.database import Database
from bot.storage.dto import Chat, TurnState
from bot.storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

# After a shutdown cut an answer short, telling the user may take this long.
RESTART_NOTICE_SECONDS = 5.0


@dataclass(slots=True)
class AnswerJob:
    """Everything one answer needs; the view has started, the generation is the answer's."""

    chat: Chat
    plan: TurnPlan
    system: str
    context: TurnContext
    generation: Generation
    view: AnswerView
    tools: TurnTools | None
    t: Translate
    reservation: Reservation | None
    notes: tuple[str, ...] = ()  # said under a complete answer (a resumed one says so)
    user_id: int | None = None  # who asked

    @property
    def answer_id(self) -> int:
        return self.context.answer_id

    @property
    def photo_ids(self) -> list[int]:
        return self.tools.context.photo_ids if self.tools else []


class Answerer:
    def __init__(
        self,
        db: Database,
        generations: Generations,
        attachments: AttachmentLoader,
        limits: TurnLimits,
        outbox: TurnOutbox,
        lifecycle: Lifecycle,
        content_filter: ContentFilter | None = None,
    ) -> None:
        self._db = db
        self._filter = content_filter
        self._generations = generations
        self._attachments = attachments
        self._limits = limits
        self._outbox = outbox
        self._lifecycle = lifecycle

    async def run(self, job: AnswerJob) -> None:
        view = job.view
        bind_log(chat_id=job.chat.id, turn_id=job.answer_id)
        started = time.monotonic()
        try:
            try:
                outcome, final = await self._generate(job)
            except asyncio.CancelledError:
                self._generations.end(job.generation)
                await self._cut_short(job)
                raise
            outcome.seconds = time.monotonic() - started
            self._generations.end(job.generation)
            await view.settle()
            parts = final.parts(view, job.answer_id)
            await asyncio.shield(self._commit(job, outcome, parts))
            _observe(job, outcome)
            with contextlib.suppress(DeliveryError):  # logged; the next start tries again
                await self._outbox.deliver(view.send, job.answer_id, parts, before=job.photo_ids)
                logger.info(
                    "answer delivered: chat=%s answer=%s parts=%d paced_ms=%.1f",
                    job.chat.id,
                    job.answer_id,
                    len(parts),
                    view.paced_seconds * 1000,
                )
        finally:
            await view.close()

    async def _generate(self, job: AnswerJob) -> tuple[Outcome, Final]:
        """Ask the model (and run its tools) until it is done; what the user will read."""
        try:
            loaded, request, tools = await self._request(job)
        except Exception as exc:  # nothing was asked yet: say why
            if isinstance(exc, ContextTooLongError):
                notice = job.t("error-too-long", limit=exc.limit)
            else:
                logger.exception("chat %s: the request could not be assembled", job.chat.id)
                notice = job.t("error-internal")
            return Outcome(error=LLMError(LLMErrorKind.REJECTED, type(exc).__name__)), Final(
                notice, notice=True
            )
        checks = self._filter if self._filtered(job) else None
        if checks is not None and checks.checks_questions:  # the model is not even asked
            refusal = await checks.refusal(job.plan.text, _about(job, "question"), job.t)
            if refusal is not None:
                return Outcome(moderated=refusal), Final(refusal, notice=True)
        model = job.plan.model
        try:
            outcome = await stream_answer(model, request, job.view, job.generation, tools)
        except Exception:
            logger.exception("chat %s: the answer failed", job.chat.id)
            return Outcome(error=LLMError(LLMErrorKind.INTERRUPTED, "internal")), Final(
                job.t("error-internal"), notice=True
            )
        outcome.pictures = len(job.photo_ids)
        if checks is not None and outcome.text.strip():  # before anything of it is shown
            refusal = await checks.refusal(outcome.text, _about(job, "answer"), job.t)
            if refusal is not None:
                outcome.moderated = refusal
                return outcome, Final(refusal, notice=True)
        notes = [*(document_note(note, job.t) for note in loaded.notes), *job.notes]
        return outcome, final_message(job.chat, job.plan, outcome, job.t, notes)

    def _filtered(self, job: AnswerJob) -> bool:
        return self._filter is not None and self._filter.applies(job.chat.id, job.chat.is_private)

    async def _request(
        self, job: AnswerJob
    ) -> tuple[LoadedAttachments, ChatRequest, TurnTools | None]:
        spec = job.plan.model.spec
        system = job.system
        if job.plan.instructions:  # the character's or chat's own prompt stays first
            system = f"{system}\n\n{job.plan.instructions}"
        context = job.context
        loaded = await self._attachments.load(
            spec, context.history, context.documents, context.question_id
        )
        request, tools = request_with_tools(job.chat, spec, system, context, loaded, job.tools)
        return loaded, request, tools

    async def _commit(self, job: AnswerJob, outcome: Outcome, parts: list[Part]) -> None:
        """The answer, its usage and its outbox: one transaction, before anything is sent."""

        def commit(uow: UnitOfWork) -> None:
            self._store_answer(uow, job, outcome)
            uow.turns.generated(job.answer_id, parts)

        await self._db.write(commit)

    def _store_answer(self, uow: UnitOfWork, job: AnswerJob, outcome: Outcome) -> None:
        error = (
            "stopped" if outcome.stopped else (outcome.error.kind.value if outcome.error else None)
        )
        content = answer_content(outcome.parts)
        if outcome.moderated is not None:
            # History keeps what the chat saw: the refusal, never the blocked text (which the
            # model would otherwise read, and repeat, in the next turns).
            content, error = [{"type": "text", "text": outcome.moderated}], "moderated"
        uow.messages.update_answer(
            job.answer_id,
            content=content,
            status=outcome.status,
            model=job.plan.model.spec.id,
            input_tokens=outcome.usage.input_tokens if outcome.usage else None,
            output_tokens=outcome.usage.output_tokens if outcome.usage else None,
            telegram_message_ids=job.photo_ids,
            error=error,
            latency_ms=round(outcome.seconds * 1000) if outcome.seconds is not None else None,
            pictures=outcome.pictures,
        )
        self._limits.settle(uow, job.reservation, outcome)

    async def _cut_short(self, job: AnswerJob) -> None:
        """Cancelled while generating. At a shutdown the user is told and the turn stays for
        the next start (which answers it); otherwise the answer is closed as interrupted."""
        if not self._lifecycle.stopping:

            def close(uow: UnitOfWork) -> None:
                self._store_answer(uow, job, Outcome(error=_CANCELLED))
                uow.turns.set_state(job.answer_id, TurnState.ABANDONED)

            await self._db.write(close)
            return
        view = job.view
        try:
            async with asyncio.timeout(RESTART_NOTICE_SECONDS):
                await view.settle()
                ids: list[int] = []
                for part in view.notice_parts(job.t("answer-restarting")):
                    ids += await view.send(part)
                await self._outbox.journal(job.answer_id)(ids)
        except (TimeoutError, DeliveryError) as exc:
            logger.warning("chat %s: the restart notice was not sent: %s", job.chat.id, exc)


def _observe(job: AnswerJob, outcome: Outcome) -> None:
    error = "stopped" if outcome.stopped else (outcome.error.kind.value if outcome.error else None)
    route = job.plan.decision.route if job.plan.decision else None
    answer_finished(route, job.plan.model.spec.id, outcome.status.value, error, outcome.seconds)


_CANCELLED = LLMError(LLMErrorKind.INTERRUPTED, "cancelled")


def _about(job: AnswerJob, subject: str) -> Screened:
    decision = job.plan.decision
    return Screened(
        subject=subject,
        chat_id=job.chat.id,
        user_id=job.user_id,
        answer_id=job.answer_id,
        route=decision.route if decision is not None else None,
        model=job.plan.model.spec.id,
    )
