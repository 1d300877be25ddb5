"""At start: finish what a stopped or crashed process left unfinished.

- An answer that was generated but not (completely) delivered: its remaining parts are sent.
- An answer cut off while it was generated (a crash, or a shutdown's grace period ran out):
  answered again from the stored conversation, with a note that the bot restarted, replacing
  what was shown of it; the quota reserved for it is settled, not taken again. Turns older
  than the recovery window, or that failed to resume too often, get an honest notice instead.

Each turn is finished under its chat's lock, taken before new updates are let in, so a chat's
next messages are answered after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.chat.ordering import ChatLocks
from bot.chat.outbox import FindPart, SendPart, TurnOutbox
from bot.chat.ports import AnswerViews, DeliveryError, Translate
from bot.chat.service import ChatService, ResumeError
from bot.payments.quotas import QuotaService, Reservation
from bot.storage.database import Database
from bot.storage.dto import MessageStatus, TurnRecord, TurnState
from bot.storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

ViewsFor = Callable[[TurnRecord, Translate], AnswerViews]
"""The views for a stored turn's answer (its chat, its question, its stale messages)."""
Translator = Callable[[str], Translate]
# A generated answer is still delivered this long after it was asked.
DELIVERY_WINDOW = timedelta(hours=24)


class Recovery:
    def __init__(
        self,
        db: Database,
        chat_service: ChatService,
        outbox: TurnOutbox,
        quotas: QuotaService,
        *,
        views_for: ViewsFor,
        send_part: SendPart,
        find_part: FindPart,
        translator: Translator,
        window: timedelta,
        max_resumes: int,
    ) -> None:
        self._db = db
        self._chat = chat_service
        self._outbox = outbox
        self._quotas = quotas
        self._views_for = views_for
        self._send_part = send_part
        self._find_part = find_part
        self._translator = translator
        self._window = window
        self._max_resumes = max_resumes

    async def start(
        self, locks: ChatLocks, only: Callable[[int], bool] | None = None
    ) -> list[asyncio.Task[None]]:
        """One task per unfinished turn; each holds its chat's lock before this returns.
        `only`: the chats to finish (a worker's newly taken partition); default every chat."""
        turns = await self._db.read(lambda uow: uow.turns.unfinished())
        if only is not None:
            turns = [turn for turn in turns if only(turn.chat_id)]
        if turns:
            logger.info("finishing %d answers left unfinished by the last run", len(turns))
        by_chat: dict[int, list[TurnRecord]] = {}
        for turn in turns:
            by_chat.setdefault(turn.chat_id, []).append(turn)
        tasks = [
            asyncio.create_task(
                self._finish_chat(locks, chat_id, chat_turns), name=f"recover:{chat_id}"
            )
            for chat_id, chat_turns in by_chat.items()
        ]
        await asyncio.sleep(0)  # each task takes its chat's lock before any update can
        return tasks

    async def _finish_chat(
        self, locks: ChatLocks, chat_id: int, turns: Sequence[TurnRecord]
    ) -> None:
        async with locks.hold(chat_id):
            for turn in turns:
                try:
                    await self.finish(turn)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("answer %s could not be finished", turn.answer_id)

    async def finish(self, turn: TurnRecord) -> None:
        age = datetime.now(UTC) - (turn.created_at or datetime.now(UTC))
        if turn.state is TurnState.GENERATED:
            if age > DELIVERY_WINDOW:
                await self._outbox.abandon(turn.answer_id)
                return
            await self._deliver(turn)
            return
        t = self._translator(turn.locale)
        if age > self._window or turn.resumes >= self._max_resumes:
            await self._give_up(turn, t)
            return
        logger.info("answer %s: answering again after a restart", turn.answer_id)
        try:
            await self._chat.resume(turn, self._views_for(turn, t), t)
        except ResumeError as exc:
            logger.warning("%s", exc)
            await self._outbox.abandon(turn.answer_id)

    async def _deliver(self, turn: TurnRecord) -> None:
        parts = turn.parts or ()
        logger.info("answer %s: delivering what is left of it", turn.answer_id)

        # A part sent just before the crash (its id not recorded) came after every message id
        # the chat's turns know of, this one's included, and after the broadcasts it got.
        def last_known(uow: UnitOfWork) -> int:
            chat = turn.chat_id
            return max(uow.turns.last_message_id(chat), uow.broadcasts.last_message_id(chat))

        known = max(
            [turn.reply_to or 0, *turn.visible]
            + [i for ids in turn.delivered for i in ids or ()]
            + [await self._db.read(last_known)]
        )

        async def send(part: dict[str, object]) -> list[int]:
            return await self._send_part(turn.chat_id, part)

        async def find(part: dict[str, object]) -> list[int] | None:
            return await self._find_part(turn.chat_id, part, known)

        with contextlib.suppress(DeliveryError):  # logged; tried again at the next start
            await self._outbox.deliver(
                send,
                turn.answer_id,
                parts,
                turn.delivered or None,
                find=find if known > 0 else None,
            )

    async def _give_up(self, turn: TurnRecord, t: Translate) -> None:
        """Too old (or failing again and again) to answer now: say so, honestly."""
        asked = turn.created_at or datetime.now(UTC)
        logger.info(
            "answer %s: too late to answer after the restart; telling the user", turn.answer_id
        )
        view = self._views_for(turn, t)(0)
        text = t("answer-lost", time=asked.strftime("%H:%M UTC"))
        with contextlib.suppress(DeliveryError):
            for part in view.notice_parts(text):
                await view.send(part)

        def abandon(uow: UnitOfWork) -> None:
            uow.messages.set_status([turn.answer_id], MessageStatus.FAILED)
            uow.turns.set_state(turn.answer_id, TurnState.ABANDONED)

        await self._db.write(abandon)
        if turn.reservation:
            await self._quotas.settle(Reservation(**turn.reservation), 0, counted=False)
