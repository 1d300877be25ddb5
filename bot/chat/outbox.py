"""A turn in the database, so that a restarted bot can finish it (see models.TurnRow).

Opened with the question (in its transaction); the messages shown while streaming are
recorded as they appear; the final parts are committed (with the answer) before the first is
sent; each delivered part's message ids are recorded as it is sent, so that nothing
delivered is sent again and nothing committed is lost.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.chat.ports import DeliveryError, Journal, Part
from bot.storage.database import Database
from bot.storage.dto import TurnState
from bot.storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

SendPart = Callable[[int, Part], Awaitable[list[int]]]
FindPart = Callable[[int, Part, int], Awaitable[list[int] | None]]
"""(chat, part, the last message id known in the chat): the ids a part sent before a crash
became, None if it was not sent (see bot.telegram.outbox.PartSender.find_sent)."""


class TurnOutbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    def journal(self, answer_id: int) -> Journal:
        """Records the answer's visible messages (a restarted bot replaces them)."""

        async def record(message_ids: Sequence[int]) -> None:
            await self._db.write(lambda uow: uow.turns.set_visible(answer_id, message_ids))

        return record

    async def deliver(
        self,
        send: Callable[[Part], Awaitable[list[int]]],
        answer_id: int,
        parts: Sequence[Part],
        delivered: Sequence[Sequence[int] | None] | None = None,
        *,
        before: Sequence[int] = (),
        find: Callable[[Part], Awaitable[list[int] | None]] | None = None,
    ) -> list[int]:
        """Send the parts not delivered yet, recording each; returns every message id of the
        answer (`before`: pictures sent during the answer). A part that cannot be sent stops
        the delivery: the turn stays undelivered (the next start tries again) unless Telegram
        refused it for good, which abandons it. `find` (after a crash): where the first part
        not recorded as delivered already is, if the crash came after Telegram took it."""
        done: list[list[int] | None] = [
            list(ids) if ids is not None else None
            for ids in (delivered if delivered is not None else [None] * len(parts))
        ]
        recorded = False
        for index, part in enumerate(parts):
            if done[index] is not None:
                continue
            if find is not None:  # only the first: the later ones were never tried
                found, find = await find(part), None
                if found is not None:
                    logger.info(
                        "answer %s: part %d had been delivered: %s", answer_id, index, found
                    )
                    done[index] = found
                    await self._record(answer_id, done, before)
                    recorded = True
                    continue
            try:
                done[index] = await send(part)
            except DeliveryError as exc:
                if not exc.permanent:
                    logger.error("answer %s: part %d not delivered yet: %s", answer_id, index, exc)
                    raise
                logger.error("answer %s: part %d refused by Telegram: %s", answer_id, index, exc)
                await self.abandon(answer_id)
                raise
            await self._record(answer_id, done, before)
            recorded = True
        if not recorded:  # nothing was left to send: the turn is delivered all the same
            await self._record(answer_id, done, before)
        return [*before, *itertools.chain.from_iterable(d or [] for d in done)]

    async def abandon(self, answer_id: int) -> None:
        await self._db.write(lambda uow: uow.turns.set_state(answer_id, TurnState.ABANDONED))

    async def _record(
        self, answer_id: int, done: Sequence[Sequence[int] | None], before: Sequence[int]
    ) -> None:
        complete = all(ids is not None for ids in done)
        delivered = [list(ids) if ids is not None else None for ids in done]

        def record(uow: UnitOfWork) -> None:
            uow.turns.delivered(answer_id, delivered, done=complete)
            if complete:
                ids = [*before, *itertools.chain.from_iterable(d or [] for d in delivered)]
                uow.messages.set_telegram_ids(answer_id, ids)

        await self._db.write(record)
