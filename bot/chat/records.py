"""What a turn reads and writes, as whole transactions (see `bot.storage.database`).

A turn reads the conversation once before it starts (`read_past`, beside routing), then
writes everything it must keep before the model is asked in one transaction (`open_turn`):
the quota reservation, the user's message with its attachments and update ids, the route
decision, the answer's row and the turn that lets a restarted bot finish it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.chat.attachments import DocumentNote
from bot.chat.inputs import UserInput
from bot.chat.ports import Translate
from bot.payments.quotas import Reservation
from bot.routing.service import TurnPlan
from bot.storage.dto import (
    Blob,
    Chat,
    MessageStatus,
    PinnedDocument,
    Role,
    RouteDecisionRecord,
    StoredMessage,
    TurnRecord,
)
from bot.storage.uow import UnitOfWork

Reserve = Callable[[UnitOfWork, TurnPlan], tuple[TurnPlan, Reservation | None]]
"""Reserves the answer against the user's plan in the turn's transaction (see TurnLimits)."""


@dataclass(frozen=True, slots=True)
class TurnContext:
    """The history to answer from (ending with the question), the pinned documents, the
    answer's row, and the question's id (None for /retry: its documents were noted before)."""

    history: list[StoredMessage]
    documents: list[PinnedDocument]
    answer_id: int
    question_id: int | None


@dataclass(frozen=True, slots=True)
class Past:
    """The chat's current conversation before this turn: its latest messages and documents."""

    conversation_id: int | None
    history: list[StoredMessage]
    documents: list[PinnedDocument]


@dataclass(frozen=True, slots=True)
class Opening:
    """Who the turn's answer is for, and where it shows (for a restarted bot)."""

    chat: Chat
    user_id: int | None
    reply_to: int | None  # the question's Telegram message
    locale: str
    visible: tuple[int, ...]  # a group's placeholder, if it is there already


@dataclass(frozen=True, slots=True)
class Opened:
    plan: TurnPlan  # perhaps on the quota's fallback model
    reservation: Reservation | None
    answer_id: int
    question: StoredMessage | None
    documents: list[PinnedDocument] | None  # when the turn added some: all of them again


def read_past(uow: UnitOfWork, chat_id: int, limit: int) -> Past:
    current = uow.chats.get(chat_id)
    conversation_id = current.current_conversation_id if current else None
    if conversation_id is None:
        return Past(None, [], [])
    history = uow.messages.history(conversation_id, limit=limit)
    return Past(conversation_id, history, uow.documents.pinned(conversation_id))


@dataclass(frozen=True, slots=True)
class LastExchange:
    """/retry: the conversation, its last question, the answers to it, and its route."""

    past: Past
    question: StoredMessage
    answers: list[int]
    route: str | None


def last_exchange(uow: UnitOfWork, chat_id: int, limit: int) -> LastExchange | None:
    past = read_past(uow, chat_id, limit)
    if past.conversation_id is None:
        return None
    question, answers = uow.messages.last_exchange(past.conversation_id)
    if question is None:
        return None
    route = uow.decisions.route_of(question.id)
    return LastExchange(past, question, [a.id for a in answers], route)


@dataclass(frozen=True, slots=True)
class Resumable:
    """What answering a stored turn again needs (see ChatService.resume)."""

    chat: Chat
    question: StoredMessage
    model: str | None  # the model the answer was started on
    route: str | None
    history: list[StoredMessage]  # ending with the question
    documents: list[PinnedDocument]


def resumable(uow: UnitOfWork, turn: TurnRecord, limit: int) -> Resumable | None:
    """None when its chat or question is gone; the resumption is counted (a turn that keeps
    failing to resume is given up)."""
    chat = uow.chats.get(turn.chat_id)
    question = uow.messages.get(turn.question_id) if turn.question_id else None
    answer = uow.messages.get(turn.answer_id)
    if chat is None or question is None or answer is None:
        return None
    conversation = question.conversation_id
    history = uow.messages.history_until(conversation, question.id, limit=limit)
    uow.turns.count_resume(turn.answer_id)
    route = uow.decisions.route_of(question.id)
    documents = uow.documents.pinned(conversation)
    return Resumable(chat, question, answer.model, route, history, documents)


def open_turn(
    uow: UnitOfWork, opening: Opening, turn: UserInput, plan: TurnPlan, reserve: Reserve
) -> Opened:
    """The question and everything it needs kept, in the turn's one transaction."""
    plan, reservation = reserve(uow, plan)  # QuotaExceededError: nothing is written
    chat = opening.chat
    current = uow.chats.get(chat.id)
    conversation_id = current.current_conversation_id if current else None
    if conversation_id is None:
        conversation_id = uow.conversations.create(chat.id)
        uow.chats.set_conversation(chat.id, conversation_id)
    question = uow.messages.add(
        conversation_id,
        Role.USER,
        [{"type": "text", "text": plan.text}, *turn.image_notes(), *_document_notes(turn)],
        user_id=turn.user_id,
        telegram_message_ids=[turn.message_id] if turn.message_id else [],
        pictures=len(turn.all_images),
    )
    record_attachments(uow, conversation_id, question.id, turn)
    uow.updates.mark(turn.updates)  # every part of a merged paste, atomically
    if plan.decision is not None:
        uow.decisions.add(_decision_record(question.id, chat.id, plan))
    answer_id = _open_answer(uow, conversation_id, plan, opening, question.id, reservation)
    documents = uow.documents.pinned(conversation_id) if turn.documents else None
    return Opened(plan, reservation, answer_id, question, documents)


def reopen_turn(
    uow: UnitOfWork,
    opening: Opening,
    conversation_id: int,
    question: StoredMessage,
    earlier_answers: Sequence[int],
    plan: TurnPlan,
    reserve: Reserve,
) -> Opened:
    """/retry: the earlier answers superseded, a new answer to the same question."""
    plan, reservation = reserve(uow, plan)
    uow.messages.set_status(earlier_answers, MessageStatus.SUPERSEDED)
    answer_id = _open_answer(uow, conversation_id, plan, opening, question.id, reservation)
    return Opened(plan, reservation, answer_id, None, None)


def _open_answer(
    uow: UnitOfWork,
    conversation_id: int,
    plan: TurnPlan,
    opening: Opening,
    question_id: int,
    reservation: Reservation | None,
) -> int:
    """The answer's row (interrupted until completed) and its turn."""
    answer = uow.messages.add(
        conversation_id,
        Role.ASSISTANT,
        [],
        status=MessageStatus.INTERRUPTED,
        model=plan.model.spec.id,
        character_id=opening.chat.character_id,
    )
    uow.turns.open(
        answer.id,
        chat_id=opening.chat.id,
        question_id=question_id,
        user_id=opening.user_id,
        reply_to=opening.reply_to,
        private=opening.chat.is_private,
        locale=opening.locale,
        reservation=dataclasses.asdict(reservation) if reservation is not None else None,
        visible=opening.visible,
    )
    return answer.id


def record_attachments(
    uow: UnitOfWork, conversation_id: int, message_id: int, turn: UserInput
) -> None:
    """Rows for the turn's images and documents (their bytes are in the blob store)."""
    for image in turn.all_images:
        blob = Blob(image.sha256, image.media_type, len(image.data), image.width, image.height)
        uow.blobs.add(blob)
    for document in turn.documents:
        uow.blobs.add(Blob(document.sha256, document.media_type, len(document.data)))
        uow.documents.add(
            conversation_id,
            message_id,
            PinnedDocument(
                id=0,
                kind=document.kind,
                file_name=document.file_name,
                blob_sha256=document.sha256,
                text=document.text,
                pages_total=document.pages_total,
                pages_read=document.pages_read,
                page_images=tuple(p.sha256 for p in document.page_images),
            ),
        )


def _decision_record(message_id: int, chat_id: int, plan: TurnPlan) -> RouteDecisionRecord:
    decision = plan.decision
    if decision is None:
        raise ValueError("the plan has no route decision")
    return RouteDecisionRecord(
        message_id=message_id,
        chat_id=chat_id,
        route=decision.route,
        stage=decision.stage.value,
        confidence=decision.confidence,
        latency_ms=decision.seconds * 1000,
        model=plan.model.spec.id,
    )


def _document_notes(turn: UserInput) -> list[dict[str, object]]:
    return [{"type": "document", "name": d.file_name, "kind": d.kind} for d in turn.documents]


def document_note(note: DocumentNote, t: Translate) -> str:
    """How much of a document the model read, for the end of the answer."""
    if note.percent < 100:
        return t("document-truncated", name=note.file_name, percent=note.percent)
    return t(
        "document-pages-capped",
        name=note.file_name,
        read=note.pages_read or 0,
        total=note.pages_total or 0,
    )
