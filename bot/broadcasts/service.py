"""Broadcast drafts, their start, and users' choice to receive them or not."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.broadcasts.content import BroadcastContent
from bot.broadcasts.runner import BroadcastRunner
from bot.storage.database import Database
from bot.storage.dto import Broadcast, BroadcastState
from bot.storage.uow import UnitOfWork


class BroadcastService:
    def __init__(self, db: Database, runner: BroadcastRunner) -> None:
        self._db = db
        self.runner = runner

    async def draft(self, author_id: int, content: BroadcastContent) -> tuple[int, int]:
        """A draft (for the preview) and how many users it would reach now."""

        def draft(uow: UnitOfWork) -> tuple[int, int]:
            return uow.broadcasts.create(author_id, content.to_json()), uow.broadcasts.audience()

        return await self._db.write(draft)

    async def send(self, broadcast_id: int, progress_message_id: int | None) -> int | None:
        """Confirm a draft: its recipients are fixed and sending starts. None when it is not
        a draft any more (sent or cancelled already: a second press)."""

        def start(uow: UnitOfWork) -> tuple[int, Broadcast | None]:
            recipients = uow.broadcasts.start(broadcast_id, progress_message_id)
            return recipients, uow.broadcasts.get(broadcast_id)

        recipients, broadcast = await self._db.write(start)
        if broadcast is None or broadcast.state is not BroadcastState.SENDING:
            return None
        if recipients == 0 and not await self._has_recipients(broadcast):
            return None
        self.runner.start(broadcast)
        return recipients

    async def cancel(self, broadcast_id: int) -> bool:

        def cancel(uow: UnitOfWork) -> bool:
            broadcast = uow.broadcasts.get(broadcast_id)
            if broadcast is None or broadcast.state is not BroadcastState.DRAFT:
                return False
            uow.broadcasts.finish(broadcast_id, BroadcastState.CANCELLED, datetime.now(UTC))
            return True

        return await self._db.write(cancel)

    async def _has_recipients(self, broadcast: Broadcast) -> bool:
        return bool(await self._db.read(lambda uow: uow.broadcasts.counts(broadcast.id)))

    async def set_unsubscribed(self, user_id: int, unsubscribed: bool) -> None:
        await self._db.write(lambda uow: uow.users.set_unsubscribed(user_id, unsubscribed))

    async def is_unsubscribed(self, user_id: int) -> bool:
        return await self._db.read(lambda uow: uow.users.is_unsubscribed(user_id))

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        """Telegram reported that the user blocked (or unblocked) the bot."""
        at = datetime.now(UTC) if blocked else None
        await self._db.write(lambda uow: uow.users.set_blocked(user_id, at))
